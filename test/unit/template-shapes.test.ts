import { existsSync, readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodedBodyBound, sendEmailBody, writeEncodedBody } from '../../core/aws/fast/ses-transport.ts';
import type { OutgoingEmail } from '../../core/sending/email-sender.ts';
import { untrackUnsubscribeLinks } from '../../core/sending/tracking.ts';
import {
  compileTemplate,
  createEngines,
  FAST_RENDER_CHECKS,
  fastRenderStats,
  renderTemplate,
  type TemplateContent,
} from '../../core/templates/render.ts';
import { htmlToText as referenceText } from '../support/html-to-text-reference.ts';

// The reference: a plain liquidjs render of each part (the engines sixback builds), the text part the
// reference htmlToText makes of the HTML when the template has none, serialised by sendEmailBody.
const engines = createEngines(new Map());

function reference(content: TemplateContent, variables: Record<string, unknown>) {
  const html = engines.html.parseAndRenderSync(untrackUnsubscribeLinks(content.html), variables) as string;
  return {
    subject: (engines.subject.parseAndRenderSync(content.subject, variables) as string).trim(),
    html,
    text: content.text
      ? (engines.text.parseAndRenderSync(content.text, variables) as string)
      : referenceText(html),
  };
}

/** The SendEmail body the thin transport writes for one render (from its JSON pieces when it has them). */
function body(rendered: ReturnType<typeof renderTemplate>, to: string): string {
  const email: OutgoingEmail = {
    from: 'news@x.example',
    to,
    subject: rendered.subject,
    html: rendered.html,
    text: rendered.text,
    json: rendered.json,
  };
  if (email.json === undefined) return sendEmailBody(email);
  const buffer = Buffer.alloc(encodedBodyBound(email, email.json));
  return buffer.subarray(0, writeEncodedBody(email, email.json, buffer)).toString('utf8');
}

/** Every render of `content` for `data` is the reference's, and its body the reference's body. */
function expectReference(content: TemplateContent, data: Record<string, unknown>[]) {
  const compiled = compileTemplate(content);
  const mismatches = fastRenderStats.mismatches;
  let pieces = 0;
  for (const [i, variables] of data.entries()) {
    const rendered = renderTemplate(compiled, variables);
    const expected = reference(content, variables);
    const label = `${content.html.slice(0, 200)} with ${JSON.stringify(variables)}`;
    expect(rendered.html, label).toBe(expected.html);
    expect(rendered.text, label).toBe(expected.text);
    expect(rendered.subject, label).toBe(expected.subject);
    const written = body(rendered, `r${i}@x.example`);
    expect(JSON.parse(written)).toBeTypeOf('object');
    expect(written, label).toBe(
      sendEmailBody({ from: 'news@x.example', to: `r${i}@x.example`, ...expected }),
    );
    if (rendered.json) pieces++;
  }
  // The fast renderer never disagreed with liquidjs on the checked renders.
  expect(fastRenderStats.mismatches).toBe(mismatches);
  return { compiled, pieces };
}

// ---- generated templates with case tags and outputs outside the fast subset ----------------------

const word = fc.constantFrom(
  'pro',
  'team',
  'free',
  'Seoul',
  'São Paulo',
  '서울',
  '😀 x',
  'a & b',
  '',
  '2024-03-01',
);
const variables = fc.record({
  plan: word,
  city: word,
  joined: fc.constantFrom('2024-03-01', '2019-12-31T23:00:00Z', 'not a date', ''),
  first_name: word,
  n: fc.constantFrom('3', 'x', ''),
});
const STATIC = [
  '<p>',
  '</p>',
  '<br>',
  '<li>',
  '<td>',
  '</td>',
  ' ',
  '\n',
  'Hello',
  '안녕하세요 ',
  '🎉',
  '&amp;',
];
/** Outputs the fast subset renders, and ones it leaves to liquidjs output by output. */
const OUTPUTS = [
  '{{ first_name }}',
  '{{ city | upcase }}',
  '{{ joined | date: "%B %d, %Y" }}',
  '{{ joined | date: "%Y" | prepend: "© " }}',
  '{{ first_name | truncate: 4 }}',
  '{{ plan | split: "e" | join: "-" }}',
  '{{ "abc".size }}',
  '{{ city | default: "your town", allow_false: true }}',
  '{{ first_name | replace: "a", "&" }}',
  '{{ plan | size }}',
  '<a href="https://x.example/?c={{ city | url_encode }}&amp;d={{ joined | date: "%s" }}">Read</a>',
  '<img src="x.png" alt="{{ first_name | truncate: 3 }}">',
];
const WHEN = [
  '"pro"',
  '"team"',
  '"pro", "team"',
  '"free" or "pro"',
  '"서울"',
  'nil',
  'empty',
  '"Seoul"',
  'city',
];
const piece = fc.oneof(fc.constantFrom(...STATIC), fc.constantFrom(...OUTPUTS));
const run = fc.array(piece, { maxLength: 4 }).map((p) => p.join(''));
const caseTag = fc
  .tuple(
    fc.constantFrom('plan', 'city', 'first_name', 'plan | upcase', 'n'),
    fc.array(fc.tuple(fc.constantFrom(...WHEN), run), { minLength: 1, maxLength: 3 }),
    fc.option(run),
  )
  .map(
    ([target, whens, otherwise]) =>
      `{% case ${target} %}${whens.map(([w, b]) => `{% when ${w} %}${b}`).join('')}${otherwise === null ? '' : `{% else %}${otherwise}`}{% endcase %}`,
  );
const html = fc
  .array(fc.oneof({ weight: 3, arbitrary: run }, { weight: 1, arbitrary: caseTag }), {
    minLength: 1,
    maxLength: 4,
  })
  .map((parts) => parts.join(''));

describe('templates with case tags and outputs outside the fast subset', () => {
  it('render through the prepared path as liquidjs and the reference htmlToText render them, for generated templates and data', () => {
    let pieces = 0;
    fc.assert(
      fc.property(
        html,
        fc.boolean(),
        fc.array(variables, { minLength: FAST_RENDER_CHECKS + 1, maxLength: FAST_RENDER_CHECKS + 4 }),
        (source, withText, data) => {
          const content: TemplateContent = {
            subject: 'Hi {{ first_name | truncate: 5 }} {% case plan %}{% when "pro" %}PRO{% endcase %}',
            html: source,
            text: withText
              ? `Hi {{ first_name }}, {% case city %}{% when "Seoul" %}서울{% else %}{{ joined | date: "%Y" }}{% endcase %}`
              : undefined,
          };
          const result = expectReference(content, data);
          // One such output or tag no longer sends the whole template through liquidjs.
          expect(result.compiled.fast?.prepared, source).toBeDefined();
          expect(result.compiled.fast?.subject).toBeDefined();
          if (withText) expect(result.compiled.fast?.text).toBeDefined();
          pieces += result.pieces;
        },
      ),
      { numRuns: 150 },
    );
    // Past the safety net's renders, the emails are written from pre-encoded pieces.
    expect(pieces).toBeGreaterThan(150);
  }, 120_000);

  it('renders every matching when of a case, and the else only when none matched, as liquidjs does', () => {
    const content = {
      subject: 's',
      html: '{% case plan %}{% when "pro" %}A{% when "team", "pro" %}B{% else %}C{% endcase %}|{% case plan %}{% when "x" %}{% endcase %}',
    };
    const data = ['pro', 'team', 'free', undefined].flatMap((plan) =>
      Array(FAST_RENDER_CHECKS).fill({ plan }),
    );
    const { compiled } = expectReference(content, data);
    expect(compiled.fast?.prepared).toBeDefined();
    expect(renderTemplate(compiled, { plan: 'pro' }).html).toBe('AB|');
    expect(renderTemplate(compiled, { plan: 'free' }).html).toBe('C|');
  });
});

describe("an output in an image's alt text", () => {
  it("leaves the text part derived (no htmlToText per email), and a value with the alt text's quote to htmlToText", () => {
    const content = {
      subject: 's',
      html: '<p>Hi {{ first_name }}</p><img src="logo.png" alt="{{ company }} logo" width="120"><p>Bye</p>',
    };
    const values = ['sixback', 'Ada & co', '김민준 😀', 'a"b', 'x'];
    const data = Array.from({ length: FAST_RENDER_CHECKS + 10 }, (_, i) => ({
      first_name: `Ada ${i}`,
      company: values[i % values.length],
    }));
    const { compiled } = expectReference(content, data);
    const prepared = compiled.fast?.prepared;
    expect(prepared?.render({ first_name: 'Ada', company: 'sixback' })?.derived).toBe(true);
    // (escaped, the quote is &#34; and no longer ends the alt text)
    expect(prepared?.render({ first_name: 'Ada', company: 'a"b' })?.derived).toBe(true);
    expect(prepared?.render({ first_name: 'Ada', company: 'a"b' })?.text).toBe('Hi Ada\n\na"b logo\n\nBye');
  });
});

// ---- the committed template shapes (bench/make-templates.ts) --------------------------------------

const dir = new URL('../../bench/templates/', import.meta.url);
const FIXTURES = readdirSync(dir).filter((f) => f.endsWith('.html'));
const CITIES = ['Seoul', 'Busan', 'Lisbon', 'São Paulo & Rio', '東京', 'Osaka 🎌'];

describe('the benchmark template shapes', () => {
  for (const file of FIXTURES) {
    it(`renders ${file} as liquidjs and the reference htmlToText render it, with pre-encoded bodies where the subset covers it`, () => {
      const textFile = new URL(file.replace(/\.html$/, '.txt'), dir);
      const content: TemplateContent = {
        subject: 'Your {{ month }} update from {{ company }}, {{ first_name }}',
        html: readFileSync(new URL(file, dir), 'utf8'),
        text: existsSync(textFile) ? readFileSync(textFile, 'utf8') : undefined,
      };
      const data = Array.from({ length: FAST_RENDER_CHECKS + 8 }, (_, i) => ({
        email: `r${i}@x.example`,
        first_name: i % 5 === 0 ? `김민준 ${i}` : i % 7 === 0 ? `Ada "O'Neil" <${i}>` : `Ada ${i}`,
        city: CITIES[i % CITIES.length],
        plan: ['free', 'pro', 'team'][i % 3],
        joined: `20${10 + (i % 15)}-0${1 + (i % 9)}-1${i % 10}`,
        points: String((i * 37) % 1000),
        member_id: `M${100_000 + i}`,
        company: 'sixback',
        sender_name: 'The sixback team 🚀',
        month: 'November',
        unsubscribe_url: `https://x.example/u/${i}?t=a&b=c`,
      }));
      const { compiled, pieces } = expectReference(content, data);
      // for loops and assign are outside the subset: such a template renders with liquidjs as a whole.
      if (!/\{%-?\s*(for|assign)\b/.test(content.html)) {
        expect(compiled.fast?.prepared).toBeDefined();
        expect(pieces).toBeGreaterThan(0);
        // And its text part is filled in from the derived template, not an htmlToText scan per email.
        if (content.text === undefined) {
          expect(compiled.fast?.prepared?.render(data[1] as Record<string, unknown>)?.derived).toBe(true);
        }
      }
    }, 60_000);
  }
});
