import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { Liquid } from 'liquidjs';
import { describe, expect, it } from 'vitest';
import { encodedBodyBound, sendEmailBody, writeEncodedBody } from '../../core/aws/fast/ses-transport.ts';
import type { OutgoingEmail } from '../../core/sending/email-sender.ts';
import { htmlToText } from '../../core/templates/html-to-text.ts';
import {
  endsInPartialEntity,
  type JsonPieces,
  jsonInner,
  listSlotted,
  PreparedHtml,
  type SlottedPieces,
} from '../../core/templates/prepared.ts';
import {
  compileTemplate,
  FAST_RENDER_CHECKS,
  fastRenderStats,
  renderTemplate,
} from '../../core/templates/render.ts';

const htmlEngine = new Liquid({ outputEscape: 'escape', strictFilters: true, cache: false });

const joined = (pieces: JsonPieces) =>
  pieces.map((p) => (typeof p === 'string' ? p : Buffer.from(p).toString('utf8'))).join('');

// Static HTML the derivation has to get right: blocks, line breaks, list items, cells, images, links
// (static, with an output in the href or in the label), never-shown elements, comments, doctype,
// entities whole and partial, whitespace of every kind, outputs inside attributes of all sorts of tags.
const STATIC = [
  '<p>',
  '</p>',
  '<div class="x">',
  '</div>',
  '<br>',
  '<br/>',
  '<li>',
  '<ul>',
  '</ul>',
  '<td>',
  '</td>',
  '<th>',
  '</th >',
  '<tr>',
  '<h2>',
  '</h2>',
  '<span>',
  '</span>',
  '<img src="a.png" alt="A picture">',
  '<a href="https://x.example/">Go</a>',
  '<a href="#top">Top</a>',
  '<a href="mailto:me@x.example">me@x.example</a>',
  '<a href="https://x.example/?a=1&amp;b=2">Read more</a>',
  '<style>p { color: red }</style>',
  '<title>T</title>',
  '<!-- note -->',
  '<!DOCTYPE html>',
  '&amp;',
  '&nbsp;',
  '&#65;',
  '&am',
  '&',
  ';',
  'p;',
  ' ',
  '  ',
  '\n',
  '\t',
  '\u00a0',
  'Hello',
  'world',
  ',',
  'é😀',
  '\ud83d',
  '\ude00',
];
/** Outputs in the places templates put them. */
const OUTPUT = [
  '{{ v }}',
  '{{ w }}',
  '{{ v | raw }}',
  '{{ w | upcase }}',
  '<a href="{{ url }}">Unsubscribe</a>',
  '<a href="https://x.example/?m={{ v }}&amp;c={{ w }}">Read more</a>',
  "<a href='https://x.example/{{ v }}'>{{ w }}</a>",
  '<a href="{{ url }}">{{ url }}</a>',
  '<a href="https://x.example/{{ v | raw }}">x</a>',
  // Links whose text the derived template puts together from the address's pieces, and ones where a
  // rule of that must fall back: a label that may equal the address, other schemes, whitespace,
  // entities and partial entities around the outputs, an empty or entity-laden label, a surrogate.
  '<a href="https://x.example/{{ v }}">https://x.example/a</a>',
  '<a href="https://x.example/{{ v }}/{{ v }}?w={{ w | upcase }}">Read</a>',
  '<a href="mailto:{{ v }}">Mail</a>',
  '<a href="JavaScript:{{ v }}">J</a>',
  '<a href="#{{ v }}">Top</a>',
  '<a href="#a:{{ v }}">Top</a>',
  '<a href=" https://x.example/{{ v }} ">Sp</a>',
  '<a href="https://x.example/&amp{{ v }}">E</a>',
  '<a href="https://x.example/{{ v }}&amp;">E2</a>',
  '<a href="x:{{ v }}&amp;{{ w }}">A &amp; B</a>',
  '<a href="https://x.example/{{ v }}">&nbsp;Lead</a>',
  '<a href="https://x.example/{{ v }}"></a>',
  '<a href="https://x.example/\ud83d{{ v }}">S</a>',
  '<a href="https://x.example/&#55357;{{ v }}">S2</a>',
  '&#55357;<a href="https://x.example/{{ v }}">&#56832;x</a>',
  '<a href="https://x.example/{{ v }}">T&am</a>',
  '<a title="{{ v }}" href="https://x.example/">t</a>',
  '<td style="color: {{ w }}">',
  '<div class="{{ v }}">',
  '<img src="x.png" alt="{{ v }}">',
  // Outputs in an image's alt text (in the text part), and near ones that are not.
  '<img src="logo.png" alt="{{ w }} logo" width="120">',
  "<IMG ALT = '{{ v | raw }} &amp; {{ w }}'>",
  '<img data-alt="s" alt="{{ v }}">',
  '<img alt="{{ v }}" title="{{ w }}">',
  '<img src="{{ v }}" alt="{{ w }}">',
  '<img alt=" {{ v }}">',
  '<imgx alt="{{ v }}">',
  '<br {{ v }}>',
  '<title>{{ v }}</title>',
  '<!-- {{ v }} -->',
  '&{{ v }}',
  '&am{{ w }}',
];
const templatePiece = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...STATIC) },
  { weight: 3, arbitrary: fc.constantFrom(...OUTPUT) },
);
const block = fc.array(templatePiece, { maxLength: 5 }).map((pieces) => pieces.join(''));
const templateSource = fc
  .array(
    fc.oneof(
      { weight: 3, arbitrary: block },
      {
        weight: 1,
        arbitrary: fc
          .tuple(block, block)
          .map(([a, b]) => `{% if flag == "yes" %}${a}{% else %}${b}{% endif %}`),
      },
    ),
    { minLength: 1, maxLength: 3 },
  )
  .map((parts) => parts.join(''));
/** Values: mostly plain words (the common case, where the text is derived), and every awkward character. */
const valueChar = fc.constantFrom(
  'a',
  'B',
  '7',
  ' ',
  '  ',
  '\t',
  '\n',
  '\u00a0',
  '&',
  ';',
  '#',
  'amp;',
  '<',
  '>',
  '"',
  "'",
  'é',
  '😀',
  '\ud83d',
  '\ude00',
  'https://',
  '\ue000',
);
const value = fc.oneof(
  { weight: 3, arbitrary: fc.stringMatching(/^[A-Za-z0-9]{1,8}( [A-Za-z0-9]{1,8})?$/) },
  // Values that make a link's address equal its label, or hold entities once escaped.
  { weight: 1, arbitrary: fc.constantFrom('a', 'a;', '&amp;', '&#65;', '&#56832;', 'lt;', 'amp;lt;x', '') },
  { weight: 2, arbitrary: fc.array(valueChar, { maxLength: 6 }).map((c) => c.join('')) },
);
const variables = fc.record({
  v: value,
  w: value,
  url: fc.oneof(fc.constant('https://u.example/x?t=1&s=2'), value),
  flag: fc.constantFrom('yes', 'no'),
});

describe('the prepared HTML part', () => {
  it('gives the same html as liquidjs, the same text as htmlToText and the same JSON as JSON.stringify, for generated templates and data', () => {
    let derived = 0;
    let renders = 0;
    let textSlotted = 0;
    let piecewise = 0;
    fc.assert(
      fc.property(templateSource, fc.array(variables, { minLength: 1, maxLength: 6 }), (source, data) => {
        const prepared = PreparedHtml.compile(htmlEngine.parse(source));
        expect(prepared).toBeDefined();
        for (const env of data) {
          const quick = (prepared as PreparedHtml).render(env);
          if (quick === undefined) continue;
          renders++;
          if (quick.derived) derived++;
          const reference = htmlEngine.parseAndRenderSync(source, env) as string;
          expect(quick.html).toBe(reference);
          expect(quick.text).toBe(htmlToText(reference));
          if (quick.json) {
            expect(`"${joined(quick.json.html)}"`).toBe(JSON.stringify(reference));
            expect(`"${joined(quick.json.text)}"`).toBe(JSON.stringify(quick.text));
            // The byte counts a transport sizes its buffer by hold every byte of the pieces.
            expect(Buffer.byteLength(joined(quick.json.html))).toBeLessThanOrEqual(
              quick.json.htmlBytes as number,
            );
            expect(Buffer.byteLength(joined(quick.json.text))).toBeLessThanOrEqual(
              quick.json.textBytes as number,
            );
            // The transport writes the html from its slotted form: byte for byte the body of the strings.
            expect(quick.json.htmlSlots).toBeDefined();
            const email: OutgoingEmail = {
              from: 'a@x.example',
              to: 'b@x.example',
              subject: 's',
              html: reference,
              text: quick.text,
              json: quick.json,
            };
            const expected = Buffer.from(sendEmailBody(email), 'utf8');
            const buffer = Buffer.alloc(encodedBodyBound(email, quick.json));
            const written = writeEncodedBody(email, quick.json, buffer);
            expect(buffer.subarray(0, written).equals(expected)).toBe(true);
            if (quick.json.textSlots) {
              textSlotted++;
              // The derived text is written from its shared list: its own list is never made for the body.
              const { htmlSlots, htmlBytes, textSlots, textBytes } = quick.json;
              const poisoned = {
                get html(): JsonPieces {
                  throw new Error('the writer listed the slotted html');
                },
                get text(): JsonPieces {
                  throw new Error('the writer listed the slotted text');
                },
                htmlSlots,
                htmlBytes,
                textSlots,
                textBytes,
              };
              const slottedBuffer = Buffer.alloc(encodedBodyBound(email, poisoned));
              const slottedWritten = writeEncodedBody(email, poisoned, slottedBuffer);
              expect(slottedBuffer.subarray(0, slottedWritten).equals(expected)).toBe(true);
            } else if (quick.derived) piecewise++;
          }
        }
      }),
      { numRuns: 2500 },
    );
    // The generators must reach the derived path often, or this test would prove little; and both of
    // its forms: the shared list, and the text filled piece by piece (a link that does not expand).
    expect(derived).toBeGreaterThan(renders / 10);
    expect(textSlotted).toBeGreaterThan(renders / 20);
    expect(piecewise).toBeGreaterThan(renders / 200);
  }, 120_000);

  it('derives the text of both benchmark templates and matches htmlToText for every recipient', () => {
    for (const file of ['template.html', 'template-100kb.html']) {
      const html = readFileSync(new URL(`../../bench/${file}`, import.meta.url), 'utf8');
      const compiled = compileTemplate({ subject: 'Hi {{ first_name }}', html });
      const mismatches = fastRenderStats.textMismatches;
      for (let i = 0; i < 300; i++) {
        const rendered = renderTemplate(compiled, {
          email: `r${i}@x.example`,
          first_name: i % 7 === 0 ? `Ada  ${i}` : `Ada ${i}`,
          city: i % 5 === 0 ? 'São Paulo & Rio' : 'Lisbon',
          plan: ['free', 'pro', 'team'][i % 3],
          joined: '2024-03-01',
          points: String(i),
          member_id: `M${i}`,
          company: 'sixback',
          sender_name: 'The <sixback> team',
          month: 'November',
          unsubscribe_url: `https://x.example/u/${i}?t=a&b=<c>`,
        });
        expect(rendered.text).toBe(htmlToText(rendered.html));
        // The first renders are liquidjs's, checked against the prepared path; then the prepared path's.
        if (i >= FAST_RENDER_CHECKS) expect(rendered.json).toBeDefined();
      }
      expect(fastRenderStats.textMismatches).toBe(mismatches);
      expect(compiled.fast?.prepared?.derivation).toBe(true);
    }
  }, 60_000);

  it('keeps a surrogate pair split between static text and a value, or between branches, as JSON.stringify does', () => {
    for (const [source, env] of [
      ['<p>\ud83d{{ v }}</p>', { v: '\ude00!' }],
      ['<p>{{ v }}\ude00</p>', { v: 'x\ud83d' }],
      ['<p>\ud83d{% if v %}\ude00{% endif %}</p>', { v: 'y' }],
    ] as const) {
      const quick = PreparedHtml.compile(htmlEngine.parse(source))?.render(env);
      const reference = htmlEngine.parseAndRenderSync(source, env) as string;
      expect(quick?.html).toBe(reference);
      if (quick?.json) expect(`"${joined(quick.json.html)}"`).toBe(JSON.stringify(reference));
    }
  });

  it('turns derivation off for a template whose derived text once differed', () => {
    const compiled = compileTemplate({ subject: 's', html: '<p>{{ v }}</p>' });
    const prepared = compiled.fast?.prepared as PreparedHtml;
    prepared.disableDerivation();
    const quick = prepared.render({ v: 'x' });
    expect(quick?.derived).toBe(false);
    expect(quick?.text).toBe('x');
  });
});

describe('endsInPartialEntity', () => {
  it('is /&[#0-9a-z]*$/i.test for generated text', () => {
    const char = fc.constantFrom(
      '&',
      '#',
      '0',
      '9',
      'a',
      'z',
      'A',
      'Z',
      ';',
      ' ',
      '-',
      'é',
      'ſ',
      'K',
      '\u212a',
      '\n',
    );
    fc.assert(
      fc.property(fc.array(char, { maxLength: 12 }), (chars) => {
        const s = chars.join('');
        expect(endsInPartialEntity(s)).toBe(/&[#0-9a-z]*$/i.test(s));
      }),
      { numRuns: 5_000 },
    );
  });
});

describe('the pre-encoded SendEmail body', () => {
  const text = fc.string({ unit: 'binary', maxLength: 12 });
  /** Pieces that do not split a surrogate pair between them (the prepared path checks that). */
  const pieces = fc.array(fc.tuple(text, fc.boolean()), { maxLength: 10 }).filter((parts) =>
    parts.every(([p]) => {
      const first = p.charCodeAt(0);
      const last = p.charCodeAt(p.length - 1);
      return !(first >= 0xdc00 && first <= 0xdfff) && !(last >= 0xd800 && last <= 0xdbff);
    }),
  );
  const encode = (parts: [string, boolean][]): JsonPieces =>
    parts.map(([p, asBytes]) => (asBytes ? new TextEncoder().encode(jsonInner(p)) : jsonInner(p)));
  /** The same pieces slotted: the strings become values, each used where it stands (a value may repeat). */
  const slotted = (parts: [string, boolean][]): SlottedPieces => {
    const values: string[] = [];
    const pieces = parts.map(([p, asBytes]) => {
      if (asBytes) return new TextEncoder().encode(jsonInner(p));
      const slot = values.indexOf(jsonInner(p));
      return slot === -1 ? values.push(jsonInner(p)) - 1 : slot;
    });
    return { pieces, values };
  };

  it('is byte for byte Buffer.from(sendEmailBody(email)) for generated emails', () => {
    fc.assert(
      fc.property(
        pieces,
        pieces,
        fc.record({
          subject: text,
          from: text,
          to: text,
          replyTo: fc.array(text, { maxLength: 2 }),
          headers: fc.array(fc.record({ name: text, value: text }), { maxLength: 2 }),
          tags: fc.array(fc.record({ name: text, value: text }), { maxLength: 2 }),
          configurationSet: fc.option(text, { nil: undefined }),
        }),
        (htmlParts, textParts, rest) => {
          const email: OutgoingEmail = {
            ...rest,
            html: htmlParts.map(([p]) => p).join(''),
            text: textParts.map(([p]) => p).join(''),
          };
          const json = { html: encode(htmlParts), text: encode(textParts) };
          const expected = Buffer.from(sendEmailBody(email), 'utf8');
          const buffer = Buffer.alloc(encodedBodyBound(email, json));
          const written = writeEncodedBody(email, json, buffer);
          expect(buffer.subarray(0, written).equals(expected)).toBe(true);
          // The slotted html, with a list that must not be read (listing it per email is what the
          // slotted form saves).
          const htmlSlots = slotted(htmlParts);
          expect(joined(listSlotted(htmlSlots))).toBe(joined(json.html));
          const poisoned = {
            get html(): JsonPieces {
              throw new Error('the writer listed the slotted html');
            },
            text: json.text,
            htmlSlots,
            htmlBytes: Buffer.byteLength(joined(json.html)),
          };
          const slottedBuffer = Buffer.alloc(encodedBodyBound(email, poisoned));
          const slottedWritten = writeEncodedBody(email, poisoned, slottedBuffer);
          expect(slottedBuffer.subarray(0, slottedWritten).equals(expected)).toBe(true);
        },
      ),
      { numRuns: 3000 },
    );
  }, 60_000);
});
