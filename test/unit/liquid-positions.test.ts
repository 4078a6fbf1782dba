import fc from 'fast-check';
import { Liquid, Token } from 'liquidjs';
import { describe, expect, it } from 'vitest';
import { countedPosition, lineStarts, positionAt } from '../../core/templates/liquid-positions.ts';
import { compileTemplate } from '../../core/templates/render.ts';

const tokenAt = (input: string, begin: number) =>
  // Token's constructor: kind, input, begin, end, file.
  new (Token as unknown as new (kind: number, input: string, begin: number, end: number) => Token)(
    0,
    input,
    begin,
    begin,
  );

describe('liquidjs token positions by line index', () => {
  it('gives the row and column liquidjs counts, for any text and offset', () => {
    const text = fc.string({
      unit: fc.constantFrom('a', 'b', '\n', '\r', '\r\n', ' ', '{{', '}}', 'é', '😀'),
      maxLength: 300,
    });
    fc.assert(
      fc.property(text, fc.nat(), (input, n) => {
        const begin = n % (input.length + 1);
        const token = tokenAt(input, begin);
        expect(token.getPosition()).toEqual(countedPosition.call(token));
        expect(positionAt(lineStarts(input), begin)).toEqual(countedPosition.call(token));
      }),
      { numRuns: 2000 },
    );
  });

  it('answers for tokens of two templates read in turn', () => {
    const a = 'one\ntwo\nthree';
    const b = '\n\n\nfour';
    for (const [input, begin] of [
      [a, 9],
      [b, 4],
      [a, 0],
      [b, 3],
    ] as const) {
      const token = tokenAt(input, begin);
      expect(token.getPosition()).toEqual(countedPosition.call(token));
    }
  });

  it('is what parse errors and the analysis report', () => {
    const engine = new Liquid();
    const parsed = engine.parse('line one\n  {{ first }}\n\t{{ second.name | upcase }}');
    const globals = engine.analyzeSync(parsed).globals;
    expect(globals.first?.[0]?.location).toMatchObject({ row: 2, col: 6 });
    expect(globals.second?.[0]?.location).toMatchObject({ row: 3, col: 5 });
    // Through compileTemplate: a default-guarded use is told apart from a bare one by its position.
    const compiled = compileTemplate({
      subject: 'Hi',
      html: '<p>{{ city | default: "your town" }}</p>\n<p>{{ plan }}</p>\n{{ points | default: "0" }} {{ points }}',
    });
    expect(compiled.variables).toEqual(['plan', 'points']);
  });
});
