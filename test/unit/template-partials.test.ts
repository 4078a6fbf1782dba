/** Stored templates as partials: resolution, pinning, cycles, depth, and rendering (fast path included). */
import { describe, expect, it } from 'vitest';
import { NotFoundError, TemplatePartialError } from '../../core/errors.ts';
import {
  MAX_PARTIAL_DEPTH,
  type PartialSource,
  parsePartialRef,
  pinsOf,
  resolvePartials,
} from '../../core/templates/partials.ts';
import { compileTemplate, parseTemplatePart, renderTemplate } from '../../core/templates/render.ts';

/** An in-memory template store: id -> versions (index 0 is version 1). */
function store(templates: Record<string, Omit<PartialSource, 'id' | 'version'>[]>) {
  const loads: string[] = [];
  const load = async (id: string, version?: number): Promise<PartialSource> => {
    loads.push(`${id}@${version ?? 'latest'}`);
    const versions = templates[id];
    const v = version ?? versions?.length ?? 0;
    const content = versions?.[v - 1];
    if (!content) throw new NotFoundError(`No template "${id}".`);
    return { id, version: v, ...content };
  };
  return { load, loads };
}

const resolve = (
  content: { subject: string; html: string; text?: string },
  s: ReturnType<typeof store>['load'],
  options = {},
) => resolvePartials(content, s, parseTemplatePart, options);

describe('partials', () => {
  const footers = {
    footer: [
      { subject: 'f1', html: '<footer>v1 {{ company }}</footer>', text: 'v1 text' },
      { subject: 'f2', html: '<footer>v2 {{ company }}</footer>', text: 'v2 text' },
    ],
  };

  it('renders the latest stored version by default and a pinned one with id@version', async () => {
    const s = store(footers);
    const main = { subject: 'Hi', html: "<p>{{ name }}</p>{% include 'footer' %}|{% include 'footer@1' %}" };
    const partials = await resolve(main, s.load);
    expect(pinsOf(partials)).toEqual({ footer: 2, 'footer@1': 1 });
    const compiled = compileTemplate(main, partials);
    expect(compiled.variables).toEqual(['company', 'name']);
    const out = renderTemplate(compiled, { name: 'Ann', company: 'A&B' });
    expect(out.html).toBe('<p>Ann</p><footer>v2 A&amp;B</footer>|<footer>v1 A&amp;B</footer>');
  });

  it('render passes only what it is given; the text part reads the partial text part', async () => {
    const s = store(footers);
    const main = {
      subject: 'Hi',
      html: "{% render 'footer', company: brand %}",
      text: "T {% render 'footer' %}",
    };
    const compiled = compileTemplate(main, await resolve(main, s.load));
    const out = renderTemplate(compiled, { brand: 'Brand', company: 'outer' });
    expect(out.html).toBe('<footer>v2 Brand</footer>');
    expect(out.text).toBe('T v2 text');
  });

  it('uses the pinned versions a campaign recorded, even after a newer save', async () => {
    const templates = { footer: [...footers.footer] };
    const s = store(templates);
    const main = { subject: 'Hi', html: "{% render 'footer', company: 'X' %}" };
    const pins = pinsOf(await resolve(main, s.load));
    templates.footer.push({ subject: 'f3', html: '<footer>v3</footer>', text: '' });
    const compiled = compileTemplate(main, await resolve(main, s.load, { pins }));
    expect(renderTemplate(compiled, {}).html).toBe('<footer>v2 X</footer>');
    expect(compiled.partials).toEqual({ footer: 2 });
  });

  it('loads each partial once, however often it is used, and nested partials too', async () => {
    const s = store({
      footer: [{ subject: 's', html: "F{% include 'social' %}" }],
      social: [{ subject: 's', html: 'S' }],
    });
    const main = { subject: 'x', html: "{% include 'footer' %}{% include 'footer' %}{% include 'footer' %}" };
    const compiled = compileTemplate(main, await resolve(main, s.load));
    expect(s.loads).toEqual(['footer@latest', 'social@latest']);
    // Rendering many times reads nothing more (the sender renders from memory).
    for (let i = 0; i < 50; i++) expect(renderTemplate(compiled, {}).html).toBe('FSFSFS');
    expect(s.loads).toHaveLength(2);
  });

  it('refuses cycles, including a template that uses itself', async () => {
    const s = store({
      a: [{ subject: 's', html: "{% include 'b' %}" }],
      b: [{ subject: 's', html: "{% include 'a' %}" }],
      main: [{ subject: 's', html: 'old' }],
    });
    await expect(resolve({ subject: 's', html: "{% include 'a' %}" }, s.load)).rejects.toThrow(
      /cycle: .*a -> b -> a/,
    );
    await expect(
      resolve({ subject: 's', html: "{% render 'main@1' %}" }, s.load, { selfId: 'main' }),
    ).rejects.toThrow(TemplatePartialError);
  });

  it('refuses nesting deeper than the limit, and accepts it at the limit', async () => {
    const chain = (n: number) => {
      const t: Record<string, { subject: string; html: string }[]> = {};
      for (let i = 1; i <= n; i++)
        t[`p${i}`] = [{ subject: 's', html: i < n ? `{% include 'p${i + 1}' %}` : 'end' }];
      return store(t);
    };
    const main = { subject: 's', html: "{% include 'p1' %}" };
    const ok = await resolve(main, chain(MAX_PARTIAL_DEPTH).load);
    expect(renderTemplate(compileTemplate(main, ok), {}).html).toBe('end');
    await expect(resolve(main, chain(MAX_PARTIAL_DEPTH + 1).load)).rejects.toThrow(/nested more than/);
  });

  it('names a missing partial and says what to do', async () => {
    const s = store({});
    await expect(resolve({ subject: 's', html: "{% render 'nope' %}" }, s.load)).rejects.toThrow(
      /partial "nope".*Save that template first/,
    );
  });

  it('a template with partials falls back to liquidjs for the parts that use them', async () => {
    const s = store(footers);
    const main = { subject: 'Hi {{ name }}', html: "{{ name }}{% include 'footer' %}" };
    const compiled = compileTemplate(main, await resolve(main, s.load));
    expect(compiled.fast?.subject).toBeDefined();
    expect(compiled.fast?.html).toBeUndefined();
    for (let i = 0; i < 40; i++) {
      expect(renderTemplate(compiled, { name: `n${i}`, company: 'c' }).html).toBe(
        `n${i}<footer>v2 c</footer>`,
      );
    }
  });

  it('accepts only id and id@version as a reference', () => {
    expect(parsePartialRef('footer')).toEqual({ id: 'footer' });
    expect(parsePartialRef('footer@12')).toEqual({ id: 'footer', version: 12 });
    for (const bad of [
      'footer@0',
      'footer@',
      '@3',
      'a/b',
      '../x',
      'x.liquid',
      'a b',
      '',
      'x@1@2',
      'x\u0000',
    ]) {
      expect(() => parsePartialRef(bad)).toThrow(TemplatePartialError);
    }
  });
});
