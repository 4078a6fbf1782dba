/** The CLI's option parsers: a repeatable comma-separated option (`--test`, `--reply-to`, `webhooks add --events`). */
import { Command } from 'commander';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { collectList } from '../../cli/output.ts';

describe('collectList', () => {
  it('splits on commas, trims each value, drops empty ones, and keeps what earlier uses collected', () => {
    expect(collectList('a@x.example, b@y.example')).toEqual(['a@x.example', 'b@y.example']);
    expect(collectList(' c@z.example ,, ', ['a@x.example'])).toEqual(['a@x.example', 'c@z.example']);
    expect(collectList(',')).toEqual([]);
  });

  it('returns every value of every use, in order, whatever the spaces around them', () => {
    const value = fc.stringMatching(/^[^,\s]([^,]*[^,\s])?$/);
    const spaces = fc.stringMatching(/^ {0,2}$/);
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.tuple(spaces, value, spaces), { maxLength: 4 }), { maxLength: 4 }),
        (uses) => {
          const program = new Command().exitOverride().option('--test <values>', 'values', collectList);
          program.parse(
            uses.flatMap((use) => [
              '--test',
              use.map(([before, v, after]) => `${before}${v}${after}`).join(','),
            ]),
            { from: 'user' },
          );
          const expected = uses.flat().map(([, v]) => v);
          expect(program.opts().test ?? []).toEqual(expected);
        },
      ),
    );
  });
});
