import { describe, expect, it } from 'vitest';
import { MissingVariablesError, TemplateSyntaxError } from '../../core/errors.ts';
import { renderPreview } from '../../core/templates/preview.ts';
import {
  assertVariablesProvided,
  CompiledTemplateCache,
  compileTemplate,
  missingVariables,
  RenderError,
  renderTemplate,
} from '../../core/templates/render.ts';
import { seeded } from '../support/seeded.ts';

describe('compileTemplate', () => {
  it('lists the top-level variables the template reads, but not the ones it assigns or loops over', () => {
    const compiled = compileTemplate({
      subject: 'Hi {{ first_name }}',
      html: '{% assign greeting = "Hello" %}{{ greeting }} {{ user.city }}{% for item in items %}{{ item.name }}{% endfor %}',
      text: '{{ plan | upcase }}',
    });
    expect(compiled.variables).toEqual(['first_name', 'items', 'plan', 'user']);
  });

  it('reports a syntax error with its part, line and column', () => {
    const compile = () => compileTemplate({ subject: 'ok', html: '<p>\n\n  {% if x %} never closed' });
    expect(compile).toThrow(TemplateSyntaxError);
    expect(compile).toThrow(
      expect.objectContaining({
        details: expect.objectContaining({ part: 'html', line: 3, column: 3 }),
        message: expect.stringContaining('not closed'),
      }),
    );
  });
});

describe('renderTemplate', () => {
  const compiled = compileTemplate({
    subject: 'Hello {{ name }} & co',
    html: '<p>{{ name }}</p><div>{{ bio | raw }}</div>',
    text: 'Hello {{ name }} & co',
  });

  it('escapes recipient data in HTML but not in the subject or text', () => {
    const out = renderTemplate(compiled, { name: '<script>alert(1)</script>"\'', bio: '<b>ok</b>' });
    expect(out.html).toBe('<p>&lt;script&gt;alert(1)&lt;/script&gt;&#34;&#39;</p><div><b>ok</b></div>');
    expect(out.subject).toBe(`Hello <script>alert(1)</script>"' & co`);
    expect(out.text).toBe(`Hello <script>alert(1)</script>"' & co`);
  });

  it('never evaluates template code that arrives in the data', () => {
    const out = renderTemplate(compiled, { name: '{{ secret }}{% assign x = 1 %}', secret: 'LEAK', bio: '' });
    expect(out.html).toContain('{{ secret }}{% assign x = 1 %}');
    expect(out.html).not.toContain('LEAK');
  });

  it('refuses a subject that renders with a line break (header injection)', () => {
    const injected = compileTemplate({ subject: 'Hi {{ name }}', html: 'x' });
    expect(() => renderTemplate(injected, { name: 'a\r\nBcc: victim@example.com' })).toThrow(RenderError);
  });
});

describe('missing variables', () => {
  const compiled = compileTemplate({
    subject: '{{ first_name }}',
    html: '{{ city }} {{ company }} {{ unsubscribe_url }} {{ email }}',
  });

  it('counts CSV columns, campaign data and system variables as provided', () => {
    expect(missingVariables(compiled, ['first_name'])).toEqual(['city', 'company']);
    expect(missingVariables(compiled, ['first_name', 'city', 'company'])).toEqual([]);
  });

  it('names every missing variable in the error', () => {
    expect(() => assertVariablesProvided(compiled, ['email', 'first_name'], [])).toThrow(
      MissingVariablesError,
    );
    // toThrow fails when nothing is thrown, unlike an assertion inside a catch block.
    expect(() => assertVariablesProvided(compiled, ['email', 'first_name'], ['company'])).toThrow(
      expect.objectContaining({
        name: 'MissingVariablesError',
        details: expect.objectContaining({ missing: ['city'] }),
        message: expect.stringContaining('"city"'),
      }),
    );
  });
});

describe('variables with a default', () => {
  it.each([
    ['{{ city | default: "your town" }}', []],
    ['{{ city | upcase | default: "x" | append: suffix }}', ['suffix']],
    ['{% if vip %}{{ city | default: "a" }}{% endif %}', ['vip']],
    ['{{ city | default: "a" }} and {{ city }}', ['city']],
    ['{{ city | default: "" }}', ['city']],
    ['{{ city | default: "x" | remove: "x" }}', ['city']],
    ['{{ count | default: 0 }}', []],
    ['{% assign town = city | default: "x" %}{{ town }}', []],
    ['{{ user.city | default: "x" }} {{ user.name }}', ['user']],
  ])('%s needs %j', (html, needed) => {
    expect(compileTemplate({ subject: 'Hi', html }).variables).toEqual(needed);
  });

  it('never requires a variable whose every use ends non-empty through a default (generated chains)', () => {
    const rng = seeded(17);
    const keep = ['upcase', 'downcase', 'capitalize', 'escape', 'append: "!"', 'prepend: "> "', 'url_encode'];
    const any = [...keep, 'strip', 'remove: "a"', 'truncate: 3', 'replace: "a", ""'];
    for (let n = 0; n < 200; n++) {
      const before = Array.from({ length: rng.int(3) }, () => rng.pick(any));
      const fallback = rng.pick(['"your town"', '"a"', '1', '" "']);
      const after = Array.from({ length: rng.int(3) }, () => rng.pick(any));
      const chain = [...before, `default: ${fallback}`, ...after].join(' | ');
      const html = `<p>{{ city | ${chain} }}</p>`;
      const compiled = compileTemplate({ subject: 'Hi', html });
      const guarded = after.every((f) => keep.includes(f));
      expect(compiled.variables, html).toEqual(guarded ? [] : ['city']);
      // An optional variable renders without a value, and what it renders is not empty.
      if (guarded) {
        const out = renderTemplate(compiled, {}).html;
        expect(out, html).not.toBe('<p></p>');
        expect(() => assertVariablesProvided(compiled, ['email'], [])).not.toThrow();
      }
    }
  });

  it('previews the default, not a sample, for a variable with no value', () => {
    const preview = renderPreview(
      { subject: 'Hi {{ first_name }}', html: '<p>{{ city | default: "your town" }}</p>' },
      {},
    );
    expect(preview.html).toBe('<p>your town</p>');
    expect(preview.sampled).toEqual(['first_name']);
  });
});

describe('CompiledTemplateCache', () => {
  it('parses a template version once', () => {
    const cache = new CompiledTemplateCache();
    let loads = 0;
    const load = () => {
      loads++;
      return { subject: 's', html: 'h' };
    };
    const first = cache.get('t@1', load);
    expect(cache.get('t@1', load)).toBe(first);
    expect(loads).toBe(1);
  });
});
