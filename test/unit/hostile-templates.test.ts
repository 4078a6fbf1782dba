/**
 * Templates and API bodies an adversary (or a hurried user) would send, through the core the API uses:
 * each renders, or is refused with a message that says what to change (docs/hostile-inputs.md).
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CampaignCreateSchema } from '../../api/schemas.ts';
import { AWS_LIMITS, dynamoItemBytes } from '../../core/aws/limits.ts';
import { resolveSendAt } from '../../core/campaigns/schedule.ts';
import { TemplateRenderError, TemplateSyntaxError, ValidationError } from '../../core/errors.ts';
import { CampaignRequestSchema, parseWith, TemplateInputSchema } from '../../core/schemas.ts';
import { renderPreview } from '../../core/templates/preview.ts';
import {
  compileTemplate,
  RenderError,
  renderTemplate,
  TEMPLATE_LIMITS,
} from '../../core/templates/render.ts';
import { TemplateStore } from '../../core/templates/store.ts';

const UNSUBSCRIBE = '<a href="{{ unsubscribe_url }}">unsubscribe</a>';

function timedPreview(html: string) {
  const started = performance.now();
  let error: unknown;
  try {
    renderPreview({ subject: 's', html }, {});
  } catch (e) {
    error = e;
  }
  return { error, ms: performance.now() - started };
}

describe('templates that would never finish', () => {
  it('stops a loop over a huge range at once, with a message that says so', () => {
    // Before: (1..3000000) took 12 s and built 20 MB in one preview, blocking the API's process; a
    // range of a billion ran for hours.
    fc.assert(
      fc.property(fc.integer({ min: TEMPLATE_LIMITS.memoryLimit + 1, max: 2_000_000_000 }), (high) => {
        const { error, ms } = timedPreview(`{% for i in (1..${high}) %}{{ i }}{% endfor %}`);
        expect(error).toBeInstanceOf(TemplateRenderError);
        expect((error as Error).message).toBe(
          `The template does not render: it does too much work for one email (a loop over more than ${TEMPLATE_LIMITS.memoryLimit.toLocaleString('en-US')} items in all, or a value grown in a loop); loop over less`,
        );
        expect(ms).toBeLessThan(1_000);
      }),
      { numRuns: 20, seed: 11 },
    );
  });

  it('stops nested loops and a value doubled in a loop', () => {
    for (const html of [
      '{% for i in (1..3000) %}{% for j in (1..3000) %}x{% endfor %}{% endfor %}',
      '{% assign s = "xxxxxxxxxx" %}{% for i in (1..40) %}{% assign s = s | append: s %}{% endfor %}{{ s }}',
      '{% for i in (1..1000) %}{% for j in (1..1000) %}{% for k in (1..1000) %}x{% endfor %}{% endfor %}{% endfor %}',
    ]) {
      const { error, ms } = timedPreview(html);
      expect(error).toBeInstanceOf(TemplateRenderError);
      expect((error as Error).message).toMatch(/too much work for one email|took over 2 s to render/);
      expect(ms).toBeLessThan(TEMPLATE_LIMITS.renderLimit + 2_000);
    }
  });

  it('refuses tags nested thousands deep as nested too deeply, not "Maximum call stack size exceeded"', () => {
    const html = `${'{% if true %}'.repeat(6000)}x${'{% endif %}'.repeat(6000)}`;
    const compile = () => compileTemplate({ subject: 's', html });
    expect(compile).toThrow(TemplateSyntaxError);
    expect(compile).toThrow(
      'The html does not parse: its tags are nested too deeply (thousands of levels); nest fewer',
    );
  });

  it('still renders real loops in full', () => {
    const out = renderPreview(
      { subject: 's', html: `{% for i in (1..5000) %}{{ i }},{% endfor %}${UNSUBSCRIBE}` },
      {},
    );
    expect(out.html.split(',').length).toBe(5001);
  });

  it('fails a row whose values make the subject carry a control character, naming it', () => {
    const compiled = compileTemplate({ subject: 'Hi {{ name }}', html: 'x' });
    fc.assert(
      fc.property(
        fc.constantFrom(0x00, 0x07, 0x0b, 0x1b, 0x7f, 0x85, 0x9f, 0x2028, 0x2029),
        fc.string({ maxLength: 5 }).filter((s) => /^[ -~]*$/.test(s)),
        (code, around) => {
          const name = `${around}${String.fromCharCode(code)}${around}`;
          expect(() => renderTemplate(compiled, { name })).toThrow(
            new RenderError(
              `the rendered subject contains a control character (U+${code.toString(16).toUpperCase().padStart(4, '0')})`,
            ),
          );
        },
      ),
      { numRuns: 50, seed: 12 },
    );
    expect(renderTemplate(compiled, { name: 'Ada\tL.' }).subject).toBe('Hi Ada\tL.');
  });
});

describe('variables that would be blank in every email', () => {
  it('refuses a property of a variable at save and in a preview, naming it, since every variable is text', async () => {
    // Before: {{ user.name }} saved, previewed and sent as an empty string to everyone, without a word.
    const name = fc.stringMatching(/^[a-z][a-z0-9_]{0,6}$/);
    await fc.assert(
      fc.asyncProperty(
        name,
        name.filter((p) => p !== 'size' && p !== 'length'),
        async (variable, property) => {
          const html = `<p>Hi {{ ${variable}.${property} }}</p>${UNSUBSCRIBE}`;
          const { store, puts } = fakeTable();
          const saved = await store.save('news', { subject: 'Hi', html }).catch((e: unknown) => e);
          expect(saved).toBeInstanceOf(TemplateSyntaxError);
          expect((saved as Error).message).toMatch(
            new RegExp(
              `^The template reads \\{\\{ ${variable}\\.${property} \\}\\}: a property of "${variable}", but every variable is text`,
            ),
          );
          expect(puts).toEqual([]);
          expect(() => renderPreview({ subject: 'Hi', html }, {})).toThrow(TemplateSyntaxError);
        },
      ),
      { numRuns: 40, seed: 17 },
    );
  });

  it('still takes what text has (size, length, an index) and names assigned or looped over', async () => {
    const { store, puts } = fakeTable();
    const html = `{{ name.size }} {{ name.length }} {{ name[0] }}{% assign u = name %}{% for c in items %}{{ forloop.index }}{% endfor %}${UNSUBSCRIBE}`;
    await store.save('news', { subject: 'Hi {{ name }}', html });
    expect(puts).toHaveLength(1);
    expect(renderPreview({ subject: 'Hi', html }, { given: { name: 'Ada', items: 'x' } }).html).toMatch(
      /^3 3 A1/,
    );
  });
});

describe('subjects', () => {
  it('refuses a subject holding a control character when the template is saved', () => {
    // Before: saved as it was, and SES would get a NUL or a bell in the Subject header of every email.
    fc.assert(
      fc.property(
        fc
          .integer({ min: 0, max: 0x9f })
          .filter((c) => (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c >= 0x7f),
        (code) => {
          const subject = `Hello ${String.fromCharCode(code)} there`;
          expect(() => parseWith(TemplateInputSchema, { subject, html: 'x' }, 'template')).toThrow(
            `Invalid template: subject: the subject holds a control character (U+${code.toString(16).toUpperCase().padStart(4, '0')}); remove it`,
          );
        },
      ),
      { numRuns: 80, seed: 13 },
    );
    expect(
      parseWith(TemplateInputSchema, { subject: 'Grüße, 日本 🙂\tok', html: 'x' }, 'template').subject,
    ).toBe('Grüße, 日本 🙂\tok');
  });
});

/** A DynamoDB document client that answers an empty table and records what was written. */
function fakeTable() {
  const puts: Record<string, unknown>[] = [];
  const ddb = {
    send: async (command: { constructor: { name: string }; input: { Item?: Record<string, unknown> } }) => {
      if (command.constructor.name === 'PutCommand') {
        puts.push(command.input.Item as Record<string, unknown>);
        return {};
      }
      return { Items: [] };
    },
  } as unknown as DynamoDBDocumentClient;
  return { store: new TemplateStore(ddb, 'templates', () => new Date('2026-12-01T00:00:00Z')), puts };
}

describe('template size', () => {
  it("refuses a template over DynamoDB's 400 KB item before writing it, and stores every one under it", async () => {
    // Before: 390,000 characters of HTML and of text passed the schema and DynamoDB refused the item: a 500.
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 390_000 }),
        fc.integer({ min: 0, max: 390_000 }),
        fc.constantFrom('a', 'é', '日'),
        async (htmlChars, textChars, char) => {
          const { store, puts } = fakeTable();
          const input = {
            subject: 'Hi',
            html: `${UNSUBSCRIBE}${char.repeat(htmlChars)}`,
            ...(textChars > 0 ? { text: `{{ unsubscribe_url }}${'b'.repeat(textChars)}` } : {}),
          };
          const stored = await store.save('news', input).catch((e: unknown) => e);
          if (stored instanceof Error) {
            expect(stored).toBeInstanceOf(ValidationError);
            expect(stored.message).toMatch(
              new RegExp(
                `^The template takes \\d+ bytes stored .*; a stored template holds at most ${AWS_LIMITS.dynamoItemBytes} bytes`,
              ),
            );
            expect(puts).toEqual([]);
          } else {
            expect(puts).toHaveLength(1);
            expect(dynamoItemBytes(puts[0] as Record<string, unknown>)).toBeLessThanOrEqual(
              AWS_LIMITS.dynamoItemBytes,
            );
          }
          const bytes = Buffer.byteLength(input.html) + Buffer.byteLength(input.text ?? '');
          if (bytes > AWS_LIMITS.dynamoItemBytes) expect(stored).toBeInstanceOf(ValidationError);
          if (bytes < AWS_LIMITS.dynamoItemBytes - 1024) expect(stored).not.toBeInstanceOf(Error);
        },
      ),
      { numRuns: 40, seed: 14 },
    );
  });
});

describe('campaign bodies', () => {
  const base = { templateId: 'news', recipientsKey: 'uploads/recipients/x.csv', from: 'news@example.com' };

  it('refuses a misspelt field instead of dropping it, and names the field it meant', () => {
    // Before: `send_at` was dropped and the campaign sent at once; `onInvalidRow: "abort"` sent anyway.
    const known = Object.keys(CampaignRequestSchema.shape);
    fc.assert(
      fc.property(fc.constantFrom(...known), fc.constantFrom('snake', 'upper', 'dash'), (name, style) => {
        const misspelt =
          style === 'snake'
            ? name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)
            : style === 'upper'
              ? name.toUpperCase()
              : name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
        if (misspelt === name) return;
        for (const schema of [CampaignRequestSchema, CampaignCreateSchema]) {
          expect(() => parseWith(schema, { ...base, [misspelt]: 'x' }, 'campaign')).toThrow(
            `Invalid campaign: (root): unknown field "${misspelt}" (did you mean "${name}"?)`,
          );
        }
      }),
      { numRuns: 60, seed: 15 },
    );
    expect(() => parseWith(CampaignRequestSchema, { ...base, colour: 'blue' }, 'campaign')).toThrow(
      /unknown field "colour" \(the fields are name, templateId, /,
    );
  });

  it('refuses a send time that does not exist instead of rolling it over to another day', () => {
    // Before: the API read 2026-02-30T09:00:00Z as March 2 and 24:00 as the next day, and scheduled them.
    fc.assert(
      fc.property(
        fc.integer({ min: 2026, max: 2030 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 29, max: 31 }),
        fc.constantFrom('Z', '+09:00', '-05:00'),
        (year, month, day, zone) => {
          const text = `${year}-${String(month).padStart(2, '0')}-${day}T09:00:00${zone}`;
          const days = new Date(Date.UTC(year, month, 0)).getUTCDate();
          if (day <= days) expect(resolveSendAt(text, undefined).getTime()).toBe(Date.parse(text));
          else expect(() => resolveSendAt(text, undefined)).toThrow(`"${text}" is not a real date and time.`);
        },
      ),
      { numRuns: 200, seed: 16 },
    );
    for (const text of ['2026-12-01T24:00:00Z', '2026-12-01T09:60:00Z', '2026-12-31T23:59:60Z'])
      expect(() => resolveSendAt(text, undefined)).toThrow(`"${text}" is not a real date and time.`);
  });
});
