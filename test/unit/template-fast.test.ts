import { readFileSync } from 'node:fs';
import { Drop, type Liquid } from 'liquidjs';
import { describe, expect, it } from 'vitest';
import { compileFast } from '../../core/templates/fast-render.ts';
import {
  compileTemplate,
  createEngines,
  FAST_RENDER_CHECKS,
  fastRenderStats,
  RenderError,
  renderTemplate,
} from '../../core/templates/render.ts';
import { type Seeded, seeded } from '../support/seeded.ts';

// liquidjs is the reference the fast renderer must match: the engines sixback builds (stored-partials fs, no disk access), as the reference.
const { html: htmlEngine, text: plainEngine } = createEngines(new Map());

type Rng = Seeded;

const TEXT_PIECES = [
  'Hello',
  ' ',
  '\n',
  '  \n\t',
  '<p>',
  '</p>',
  '&amp;',
  '&',
  '"',
  "'",
  '<',
  '>',
  'é',
  '😀',
  ', ',
  'x',
];
const NAMES = [
  'a',
  'b',
  'plan',
  'user',
  'items',
  'n',
  'flag',
  'missing',
  'size',
  'first',
  'empty_str',
  'spaces',
];
const PATHS = [
  'a',
  'b',
  'plan',
  'n',
  'flag',
  'missing',
  'missing.deeper',
  'size',
  'first',
  'empty_str',
  'spaces',
  'user',
  'user.name',
  'user["name"]',
  'user.address.city',
  'user.size',
  'user.tags',
  'user.tags[0]',
  'user.tags[-1]',
  'user.tags.first',
  'user.tags.last',
  'user.tags.size',
  'items',
  'items[1]',
  'items.size',
  'a.size',
  'a.length',
  'a.first',
  'user[key]',
  '["first name"]',
];
const LITERALS = ['true', 'false', 'nil', 'null', 'empty', 'blank'];
const QUOTED = ['"pro"', "'team'", '""', '" "', '"<b>&"', '"x"', '"Pro"', '"1"'];
const NUMBERS = ['0', '1', '-1', '3.5', '10', '42'];
const COMPARISONS = ['==', '!=', '<', '>', '<=', '>=', 'contains'];
const VALUES: unknown[] = [
  'pro',
  'Pro',
  'team',
  '',
  '   ',
  ' padded <b>text</b> & "quotes" \'single\' ',
  'éclair ÉCLAIR 😀 ß',
  'a b+c/d?e=f&g',
  'x',
  '1',
  0,
  1,
  -1,
  3.5,
  10,
  42,
  true,
  false,
  null,
  undefined,
  ['x', '<y>', 3],
  [],
  { name: 'inner', size: 7 },
  {},
];

function operand(r: Rng): string {
  const kind = r.int(10);
  if (kind < 5) return r.pick(PATHS);
  if (kind < 7) return r.pick(QUOTED);
  if (kind < 8) return r.pick(NUMBERS);
  return r.pick(LITERALS);
}

function filterChain(r: Rng): string {
  let out = '';
  const n = r.int(4);
  for (let i = 0; i < n; i++) {
    const f = r.pick([
      'capitalize',
      'upcase',
      'downcase',
      'strip',
      'lstrip',
      'rstrip',
      'escape',
      'url_encode',
      'raw',
      'default',
      'append',
      'prepend',
    ]);
    out += ['default', 'append', 'prepend'].includes(f) ? ` | ${f}: ${operand(r)}` : ` | ${f}`;
  }
  if (r.chance(0.15)) out += ' | raw';
  return out;
}

function condition(r: Rng, depth = 0): string {
  const k = r.int(10);
  if (depth < 2 && k < 3)
    return `${condition(r, depth + 1)} ${r.pick(['and', 'or'])} ${condition(r, depth + 1)}`;
  if (k < 4) return operand(r);
  if (k < 5) return `not ${operand(r)}`;
  return `${operand(r)} ${r.pick(COMPARISONS)} ${operand(r)}`;
}

function text(r: Rng): string {
  let out = '';
  const n = r.int(4);
  for (let i = 0; i < n; i++) out += r.pick(TEXT_PIECES);
  return out;
}

function dash(r: Rng) {
  return r.chance(0.2) ? '-' : '';
}

function block(r: Rng, depth: number): string {
  let out = '';
  const n = 1 + r.int(4);
  for (let i = 0; i < n; i++) {
    out += text(r);
    const k = r.int(10);
    if (depth < 2 && k < 2) {
      let tag = `{%${dash(r)} if ${condition(r)} ${dash(r)}%}${block(r, depth + 1)}`;
      const elsifs = r.int(3);
      for (let e = 0; e < elsifs; e++) tag += `{% elsif ${condition(r)} %}${block(r, depth + 1)}`;
      if (r.chance(0.5)) tag += `{% else %}${block(r, depth + 1)}`;
      out += `${tag}{%${dash(r)} endif ${dash(r)}%}`;
    } else if (depth < 2 && k < 3) {
      let tag = `{% unless ${condition(r)} %}${block(r, depth + 1)}`;
      if (r.chance(0.3)) tag += `{% elsif ${condition(r)} %}${block(r, depth + 1)}`;
      if (r.chance(0.5)) tag += `{% else %}${block(r, depth + 1)}`;
      out += `${tag}{% endunless %}`;
    } else if (k < 4) {
      out += `{{${dash(r)} ${condition(r)} ${dash(r)}}}`;
    } else if (k < 5) {
      out += r.pick([
        '{% raw %}{{ not rendered }}{% endraw %}',
        '{% comment %}x{{ y }}{% endcomment %}',
        '{% # note %}',
      ]);
    } else {
      out += `{{${dash(r)} ${operand(r)}${filterChain(r)} ${dash(r)}}}`;
    }
  }
  return out + text(r);
}

function variables(r: Rng): Record<string, unknown> {
  const vars: Record<string, unknown> = {};
  for (const name of NAMES) if (r.chance(0.8)) vars[name] = r.pick(VALUES);
  if (r.chance(0.7)) {
    vars['user'] = {
      name: r.pick(VALUES),
      address: r.chance(0.5) ? { city: r.pick(VALUES) } : r.pick(VALUES),
      tags: r.chance(0.7) ? [r.pick(VALUES), r.pick(VALUES), 'vip'] : r.pick(VALUES),
      ...(r.chance(0.3) ? { size: r.pick(VALUES) } : {}),
    };
  }
  if (r.chance(0.5)) vars['items'] = [r.pick(VALUES), r.pick(VALUES)];
  if (r.chance(0.5)) vars['key'] = r.pick(['name', 'tags', 'size', 'nope']);
  if (r.chance(0.5)) vars['first name'] = r.pick(VALUES);
  return vars;
}

function liquidOrError(engine: Liquid, parsed: ReturnType<Liquid['parse']>, vars: Record<string, unknown>) {
  try {
    return { ok: true as const, out: engine.renderSync(parsed, vars) as string };
  } catch (error) {
    return { ok: false as const, error };
  }
}

describe('compileFast, differential against liquidjs', () => {
  for (const [label, engine, escapes] of [
    ['html (escaped)', htmlEngine, true],
    ['plain', plainEngine, false],
  ] as const) {
    it(`renders ${label} templates exactly as liquidjs does`, () => {
      const r = seeded(escapes ? 7 : 11);
      let compared = 0;
      for (let t = 0; t < 400; t++) {
        const source = block(r, 0);
        const parsed = engine.parse(source);
        const fast = compileFast(parsed, escapes);
        expect(fast, `template inside the subset: ${source}`).toBeDefined();
        for (let v = 0; v < 12; v++) {
          const vars = variables(r);
          const expected = liquidOrError(engine, parsed, vars);
          const got = fast!(vars);
          if (!expected.ok) {
            expect(got, `liquidjs threw for ${source}`).toBeUndefined();
            continue;
          }
          expect(got, `${source}\nwith ${JSON.stringify(vars)}`).toBe(expected.out);
          compared++;
        }
      }
      expect(compared).toBeGreaterThan(4000);
    });
  }

  it('renders the benchmark template exactly as liquidjs does', () => {
    const html = readFileSync(new URL('../../bench/template.html', import.meta.url), 'utf8');
    const parsed = htmlEngine.parse(html);
    const fast = compileFast(parsed, true);
    expect(fast).toBeDefined();
    for (const plan of ['pro', 'team', 'free', undefined, 3]) {
      const vars = { first_name: 'Ada <"O\'Neil"> & co', plan, points: 12, member_id: 'M 1', city: null };
      expect(fast!(vars)).toBe(htmlEngine.renderSync(parsed, vars));
    }
  });

  it('applies whitespace control the way liquidjs parsed it', () => {
    const parsed = htmlEngine.parse('a \n {{- x -}} \n b {%- if y -%}\n Y \n{%- endif %}  c');
    const vars = { x: '<1>', y: true };
    expect(compileFast(parsed, true)!(vars)).toBe('a&lt;1&gt;bY  c');
    expect(compileFast(parsed, true)!(vars)).toBe(htmlEngine.renderSync(parsed, vars));
  });
});

describe('compileFast, outside the subset', () => {
  const unsupported = [
    '{% for item in items %}{{ item }}{% endfor %}',
    '{% assign x = "y" %}{{ x }}',
    '{% capture x %}y{% endcapture %}{{ x }}',
    '{% echo plan %}',
    '{% if (1..3) contains 2 %}yes{% endif %}',
    '{{ items[0] }}{% increment counter %}',
  ];
  for (const source of unsupported) {
    it(`falls back to liquidjs for ${source}`, () => {
      // A fresh object per render: {% increment %} writes to the variables.
      const vars = () => ({ items: ['a', 'b'], plan: 'pro,team', joined: '2024-03-01' });
      expect(compileFast(htmlEngine.parse(source), true)).toBeUndefined();
      const compiled = compileTemplate({ subject: 's', html: source });
      expect(compiled.fast?.html).toBeUndefined();
      expect(renderTemplate(compiled, vars()).html).toBe(htmlEngine.parseAndRenderSync(source, vars()));
    });
  }

  // Outputs outside the subset: without a delegate the part is liquidjs's; compileTemplate gives one, so
  // liquidjs renders just that output and the rest of the part stays on the fast path.
  const delegated = [
    '{{ plan | truncate: 3 }}',
    '{{ plan | split: "," | join: "-" }}',
    '{{ joined | date: "%Y" }}',
    '{{ plan | default: "x", allow_false: true }}',
    '{{ "abc".size }}',
  ];
  for (const output of delegated) {
    it(`renders ${output} alone with liquidjs and the rest of the part itself`, () => {
      const source = `<p>{{ plan }}: ${output}</p>`;
      const vars = { plan: 'pro,team', joined: '2024-03-01' };
      expect(compileFast(htmlEngine.parse(source), true)).toBeUndefined();
      const compiled = compileTemplate({ subject: `s ${output}`, html: source, text: `t ${output}` });
      expect(compiled.fast?.html).toBeDefined();
      expect(compiled.fast?.subject).toBeDefined();
      expect(compiled.fast?.text).toBeDefined();
      const expected = htmlEngine.parseAndRenderSync(source, vars);
      expect(compiled.fast!.html!(vars)).toBe(expected);
      expect(compiled.fast!.subject!(vars)).toBe(plainEngine.parseAndRenderSync(`s ${output}`, vars));
      for (let i = 0; i < FAST_RENDER_CHECKS + 2; i++)
        expect(renderTemplate(compiled, vars).html).toBe(expected);
    });
  }

  it('leaves a value it does not model (a Drop) to liquidjs for that render', () => {
    class Money extends Drop {
      override valueOf() {
        return '12 EUR';
      }
    }
    const compiled = compileTemplate({ subject: 'Total {{ price }}', html: '<b>{{ price }}</b>' });
    expect(compiled.fast?.html).toBeDefined();
    expect(compiled.fast!.html!({ price: new Money() })).toBeUndefined();
    const out = renderTemplate(compiled, { price: new Money() });
    expect(out.subject).toBe('Total 12 EUR');
    expect(out.html).toBe('<b>12 EUR</b>');
  });

  it('leaves functions and objects with toLiquid to liquidjs for that render', () => {
    const compiled = compileTemplate({ subject: 's', html: '{{ user.name }}/{{ thing.x }}' });
    const vars = () => ({ user: { name: () => 'called' }, thing: { toLiquid: () => ({ x: 'converted' }) } });
    expect(compiled.fast!.html!(vars())).toBeUndefined();
    expect(renderTemplate(compiled, vars()).html).toBe('called/converted');
  });

  it('throws a RenderError where liquidjs throws', () => {
    const compiled = compileTemplate({ subject: 's', html: '<a href="?q={{ q | url_encode }}">x</a>' });
    expect(compiled.fast!.html!({ q: '\ud800' })).toBeUndefined();
    for (let i = 0; i < FAST_RENDER_CHECKS + 2; i++) {
      expect(() => renderTemplate(compiled, { q: '\ud800' })).toThrow(RenderError);
    }
    expect(renderTemplate(compiled, { q: 'a b' }).html).toBe('<a href="?q=a+b">x</a>');
  });
});

describe('renderTemplate safety net', () => {
  const source = { subject: 'Hi {{ name }}', html: '<p>{{ name }}</p>', text: 'Hi {{ name }}' };

  it('retires the fast renderer of a template the first time it disagrees with liquidjs', () => {
    const compiled = compileTemplate(source);
    const fast = compiled.fast!;
    let fastCalls = 0;
    fast.html = () => {
      fastCalls++;
      return '<p>WRONG</p>';
    };
    const before = fastRenderStats.mismatches;
    expect(renderTemplate(compiled, { name: 'Ann' }).html).toBe('<p>Ann</p>');
    expect(fastRenderStats.mismatches).toBe(before + 1);
    expect(fastRenderStats.lastMismatch).toBe('html');
    expect(fast.disabled).toBe(true);
    for (let i = 0; i < FAST_RENDER_CHECKS + 4; i++) {
      expect(renderTemplate(compiled, { name: `N${i}` }).html).toBe(`<p>N${i}</p>`);
    }
    expect(fastCalls).toBe(1);
  });

  it('renders with the fast renderer alone once the checks agreed', () => {
    const compiled = compileTemplate(source);
    const fast = compiled.fast!;
    for (let i = 0; i < FAST_RENDER_CHECKS; i++) {
      expect(renderTemplate(compiled, { name: '<N>' })).toEqual({
        subject: 'Hi <N>',
        html: '<p>&lt;N&gt;</p>',
        text: 'Hi <N>',
      });
    }
    expect(fast.checksLeft).toBe(0);
    expect(fast.disabled).toBe(false);
    // From now on the fast renderer's output is what the email gets (proved by swapping it).
    fast.html = () => '<p>from the fast renderer</p>';
    expect(renderTemplate(compiled, { name: 'x' }).html).toBe('<p>from the fast renderer</p>');
  });
});
