/**
 * Templates never read the file system (issue 12, item 1). Sentinel files with unique contents are put
 * where every kind of path could reach them (absolute, relative to the working directory, `..` chains,
 * URL-encoded, file://, NUL-terminated); no template, partial name or variable value may bring their
 * contents into a render, on the engines compileTemplate builds or on liquidjs engines built the same way.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TemplatePartialError } from '../../core/errors.ts';
import { compileTemplate, createEngines, renderTemplate } from '../../core/templates/render.ts';
import { seeded } from '../support/seeded.ts';

const SECRET = `sentinel-${process.pid}-${Date.now()}`;
const dir = mkdtempSync(join(tmpdir(), 'sixback-fs-'));
mkdirSync(join(dir, 'partials'));
for (const name of ['secret', 'secret.liquid', 'partials/secret', 'partials/secret.liquid', 'footer']) {
  writeFileSync(join(dir, name), SECRET);
}
// A sentinel in the working directory too, where liquidjs's default root ('.') would find it.
const cwdSentinel = `sixback-fs-sentinel-${process.pid}.liquid`;
writeFileSync(join(process.cwd(), cwdSentinel), SECRET);
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(join(process.cwd(), cwdSentinel), { force: true });
});

const fromCwd = relative(process.cwd(), join(dir, 'secret'));
const PATHS = [
  'package.json',
  cwdSentinel,
  cwdSentinel.replace(/\.liquid$/, ''),
  `./${cwdSentinel}`,
  join(dir, 'secret'),
  join(dir, 'secret.liquid'),
  `${join(dir, 'partials')}/../secret`,
  fromCwd,
  `../${fromCwd}`,
  `file://${join(dir, 'secret')}`,
  encodeURIComponent(join(dir, 'secret')),
  `${join(dir, 'secret')}\u0000`,
  `${join(dir, 'secret')}\u0000.liquid`,
  '.sixback/unsubscribe-secret',
  '/etc/passwd',
  'footer/../package.json',
];
const TAGS = ['include', 'render', 'layout'] as const;

const leaks = (fn: () => string): boolean => {
  try {
    const out = fn();
    return out.includes(SECRET) || out.includes('"name"') || out.includes('root:');
  } catch (error) {
    const message = String((error as Error).message);
    return message.includes(SECRET) || message.includes('"name"');
  }
};

describe('templates and the file system', () => {
  it.each(TAGS.flatMap((tag) => PATHS.map((path) => [tag, path] as const)))(
    '%s %j is refused at compile with a named error, and nothing is read',
    (tag, path) => {
      const html = `<p>{% ${tag} ${JSON.stringify(path)} %}</p>`;
      let error: unknown;
      try {
        compileTemplate({ subject: 's', html });
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(TemplatePartialError);
      expect((error as Error).message).toMatch(/stored template/);
      expect((error as Error).message).not.toContain(SECRET);
    },
  );

  it('refuses a partial name taken from a variable at compile, before any data is seen', () => {
    for (const tag of TAGS) {
      for (const html of [`{% ${tag} file %}`, `{% ${tag} "{{ file }}" %}`, `{% ${tag} 'x{{ f }}' %}`]) {
        expect(() => compileTemplate({ subject: 's', html })).toThrow(TemplatePartialError);
      }
    }
    // Inside blocks and the {% liquid %} tag as well.
    for (const html of [
      "{% liquid include 'package.json' %}",
      '{% liquid\n render f\n %}',
      "{% capture c %}{% include '../package.json' %}{% endcapture %}{{ c }}",
      "{% for x in (1..2) %}{% if x %}{% render '/etc/passwd' %}{% endif %}{% endfor %}",
      "{% layout 'file:///etc/passwd' %}{% block x %}body{% endblock %}",
      "{% case 1 %}{% when 1 %}{% include 'C:\\\\boot.ini' %}{% endcase %}",
    ]) {
      expect(() => compileTemplate({ subject: 's', html }), html).toThrow(TemplatePartialError);
    }
    // In the subject and the text part too.
    expect(() => compileTemplate({ subject: '{% include f %}', html: 'x' })).toThrow(TemplatePartialError);
    expect(() => compileTemplate({ subject: 's', html: 'x', text: '{% render f %}' })).toThrow(
      TemplatePartialError,
    );
  });

  it('a liquidjs engine built as sixback builds it never reads a file, whatever the path (generated)', () => {
    // This goes below compileTemplate's own check: the engine's fs itself must refuse every path, also
    // one computed at render time from a recipient's value.
    const engines = createEngines(new Map());
    const random = seeded(12);
    const pieces = ['..', '.', '/', '\\', '%2e%2e', '%2f', 'file:', '//', '\u0000', 'C:', '~', dir, 'secret'];
    const candidates = [...PATHS];
    for (let i = 0; i < 300; i++) {
      let path = '';
      const n = 1 + random.int(6);
      for (let j = 0; j < n; j++) path += random.pick(pieces) + (random.chance(0.5) ? '/' : '');
      candidates.push(path);
    }
    for (const path of candidates) {
      for (const tag of TAGS) {
        for (const engine of [engines.html, engines.text, engines.subject]) {
          expect(leaks(() => engine.parseAndRenderSync(`{% ${tag} p %}`, { p: path }) as string)).toBe(false);
          expect(
            leaks(() => engine.parseAndRenderSync(`{% ${tag} '${path.replace(/'/g, '')}' %}`) as string),
          ).toBe(false);
        }
      }
      // The file-rendering entry points as well.
      expect(leaks(() => engines.html.renderFileSync(path) as string)).toBe(false);
      expect(leaks(() => engines.html.parseFileSync(path).length.toString())).toBe(false);
    }
    // Hundreds of generated paths on every engine: seconds on a loaded machine, not the 5 s default.
  }, 60_000);

  it('the relative-reference, root and fallback options cannot reach the disk either', () => {
    const engines = createEngines(new Map());
    const options = engines.html.options as unknown as Record<string, unknown>;
    expect(options['relativeReference']).toBe(false);
    expect((options['fs'] as { fallback?: unknown }).fallback).toBeUndefined();
    for (const path of [`./${cwdSentinel}`, `../${fromCwd}`, join(dir, 'secret')]) {
      expect(leaks(() => engines.html.parseAndRenderSync(`{% include '${path}' %}`) as string)).toBe(false);
    }
  });

  it('a value that looks like a tag never reaches a file: data is not re-evaluated', () => {
    const compiled = compileTemplate({ subject: '{{ a }}', html: '<p>{{ a }}</p>{{ a | raw }}' });
    const out = renderTemplate(compiled, { a: `{% include '${join(dir, 'secret')}' %}` });
    expect(out.html).not.toContain(SECRET);
    expect(out.html).toContain('{% include');
  });
});
