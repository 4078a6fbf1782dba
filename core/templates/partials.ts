/**
 * Partials: `{% render 'footer' %}`, `{% include 'footer' %}` and `{% layout 'frame' %}` name another
 * STORED template (its latest version, or `'footer@3'` for version 3), never a file. liquidjs reads
 * partials only through its `fs` option (Loader.lookup: fs.resolve, fs.contains, fs.exists, then
 * fs.readFile; plus fs.fallback, which Node's default fs maps to require.resolve). Every engine sixback
 * builds gets a StoredPartialsFs, which answers from templates already loaded into memory and refuses
 * everything else, so no template, campaign data or CSV value can reach the file system.
 *
 * Partials are resolved once per template (save, preview) or per campaign (pinned at creation: the
 * campaign records the version of every partial it uses), before any render: rendering stays synchronous
 * and the sender never reads DynamoDB per email.
 */
import type { LiquidOptions, Template } from 'liquidjs';
import { IncludeTag, LayoutTag, RenderTag, toValueSync } from 'liquidjs';
import { NotFoundError, TemplatePartialError } from '../errors.ts';

/** A partial as the template names it: a template id, optionally pinned to a version. */
const PARTIAL_REF = /^([A-Za-z0-9_-]{1,64})(?:@([1-9][0-9]{0,8}))?$/;

/** Nesting allowed below the template itself: a footer inside a layout inside the template is 2. */
export const MAX_PARTIAL_DEPTH = 5;
/** Distinct partials one template may pull in (a guard against fan-out, not a practical limit). */
export const MAX_PARTIALS = 50;

export interface PartialSource {
  id: string;
  version: number;
  subject: string;
  html: string;
  text?: string | undefined;
}

/** Partials by the reference written in the template (`footer`, `footer@3`). */
export type ResolvedPartials = ReadonlyMap<string, PartialSource>;

/** Pinned partial versions, by reference: what a campaign records and its batches load. */
export type PartialPins = Record<string, number>;

export type TemplatePart = 'subject' | 'html' | 'text';

const HOW =
  "A partial is another stored template, named by its id ({% render 'footer' %}) or id@version " +
  "({% render 'footer@3' %}); templates never read files.";

/** Parses a partial reference; anything that is not `id` or `id@version` is refused with how to fix it. */
export function parsePartialRef(ref: string): { id: string; version?: number } {
  const match = PARTIAL_REF.exec(ref);
  if (!match) {
    throw new TemplatePartialError(`"${printable(ref)}" is not a stored template's id. ${HOW}`, {
      details: { partial: printable(ref), problem: 'not a template id' },
    });
  }
  const id = match[1] as string;
  return match[2] === undefined ? { id } : { id, version: Number(match[2]) };
}

function printable(s: string): string {
  // NULs and control characters in an error message would corrupt logs and terminals.
  let clean = '';
  for (const c of s.slice(0, 200)) {
    const code = c.charCodeAt(0);
    clean += code < 0x20 || code === 0x7f ? `\\u${code.toString(16).padStart(4, '0')}` : c;
  }
  return s.length > 200 ? `${clean}...` : clean;
}

/**
 * The liquidjs `fs` of every sixback engine: partial names are looked up among the resolved partials of
 * one template part and nothing else. It implements every method liquidjs calls, so none falls back to
 * Node's fs; `fallback` is deliberately absent (Node's default uses require.resolve).
 */
export class StoredPartialsFs {
  readonly sep = '/';
  constructor(
    private readonly partials: ResolvedPartials,
    private readonly part: TemplatePart,
  ) {}

  /** The "path" of a partial is its reference itself: no directory, no extension, no joining. */
  resolve(_dir: string, file: string, _ext: string): string {
    parsePartialRef(file);
    return file;
  }
  dirname(_file: string): string {
    return '';
  }
  containsSync(_root: string, file: string): boolean {
    return PARTIAL_REF.test(file);
  }
  async contains(root: string, file: string): Promise<boolean> {
    return this.containsSync(root, file);
  }
  existsSync(file: string): boolean {
    // Existing or not, the lookup must end here with sixback's message, not liquidjs's ENOENT.
    parsePartialRef(file);
    return true;
  }
  async exists(file: string): Promise<boolean> {
    return this.existsSync(file);
  }
  readFileSync(file: string): string {
    const { id } = parsePartialRef(file);
    const partial = this.partials.get(file);
    if (!partial) {
      throw new TemplatePartialError(
        `The partial "${file}" was not loaded for this template. Save or preview the template through ` +
          `the API (which loads its partials from the template store), and check that a template "${id}" exists.`,
        { details: { partial: file, problem: 'not loaded' } },
      );
    }
    const source = partial[this.part];
    if (source === undefined || source === '') {
      throw new TemplatePartialError(
        `The partial "${file}" has no ${this.part} part. Give template "${id}" a ${this.part}, or do not use it in the ${this.part}.`,
        { details: { partial: file, part: this.part, problem: 'no such part' } },
      );
    }
    return source;
  }
  async readFile(file: string): Promise<string> {
    return this.readFileSync(file);
  }
}

/**
 * liquidjs options that keep every path option away from the disk: the stored-partials fs, one
 * placeholder directory (the fs ignores it), no relative references, no file cache.
 */
export function safeLiquidOptions(partials: ResolvedPartials, part: TemplatePart): LiquidOptions {
  return {
    fs: new StoredPartialsFs(partials, part),
    root: ['stored-templates'],
    partials: ['stored-templates'],
    layouts: ['stored-templates'],
    relativeReference: false,
    dynamicPartials: true,
    jekyllInclude: false,
    extname: '',
    cache: false,
    // `templates` would swap in liquidjs's MapFS (and turn relativeReference back on): never set it.
  };
}

type PartialTag = { file: unknown; token: { getText(): string } };

/**
 * The partial references of parsed templates, in order, walking into every block. A name computed at
 * render time (from a variable, or a quoted name with `{{ }}` in it) is refused: partials are pinned
 * before the campaign sends, so the name must be known from the template alone.
 */
export function partialRefs(templates: Template[]): string[] {
  const refs: string[] = [];
  const walk = (nodes: Template[]) => {
    for (const node of nodes) {
      if (node instanceof IncludeTag || node instanceof RenderTag || node instanceof LayoutTag) {
        const file = (node as unknown as PartialTag).file;
        const tag = (node as unknown as PartialTag).token.getText();
        if (typeof file === 'string') {
          parsePartialRef(file);
          refs.push(file);
        } else if (file !== undefined) {
          throw new TemplatePartialError(
            `${printable(tag)}: the partial's name must be written in the template as a quoted template id; ` +
              `it cannot come from a variable or contain {{ }}. ${HOW}`,
            { details: { tag: printable(tag), problem: 'dynamic partial name' } },
          );
        }
      }
      const children = (node as unknown as { children?: (partials: boolean, sync: boolean) => unknown })
        .children;
      if (typeof children === 'function') {
        walk(toValueSync(children.call(node, false, true) as Generator<unknown, Template[]>) ?? []);
      }
    }
  };
  walk(templates);
  return refs;
}

export interface TemplateParts {
  subject: string;
  html: string;
  text?: string | undefined;
}

/** Loads a stored template (latest when version is undefined); throws NotFoundError when there is none. */
export type LoadTemplate = (id: string, version?: number) => Promise<PartialSource>;

/**
 * Loads every partial a template uses, recursively, from the template store: once per template or
 * campaign. `pins` (a campaign's recorded versions) replaces "latest" for each reference it names.
 * Cycles (a partial that uses itself, or the template being saved) and nesting deeper than
 * MAX_PARTIAL_DEPTH are refused with TemplatePartialError.
 */
export async function resolvePartials(
  content: TemplateParts,
  load: LoadTemplate,
  parse: (part: TemplatePart, source: string) => Template[],
  options: { selfId?: string | undefined; pins?: PartialPins | undefined } = {},
): Promise<Map<string, PartialSource>> {
  const resolved = new Map<string, PartialSource>();
  const refsOf = (parts: TemplateParts) =>
    (['subject', 'html', 'text'] as const).flatMap((part) => partialRefs(parse(part, parts[part] ?? '')));
  const visit = async (parts: TemplateParts, chain: string[]): Promise<void> => {
    for (const ref of refsOf(parts)) {
      const { id, version } = parsePartialRef(ref);
      if (chain.includes(id)) {
        throw new TemplatePartialError(
          `The partials form a cycle: ${[...chain, id].join(' -> ')}. A template cannot use itself, directly or through other partials.`,
          { details: { cycle: [...chain, id], problem: 'cycle' } },
        );
      }
      if (chain.length > MAX_PARTIAL_DEPTH) {
        throw new TemplatePartialError(
          `Partials are nested more than ${MAX_PARTIAL_DEPTH} deep (${[...chain, id].join(' -> ')}). Flatten them.`,
          { details: { chain: [...chain, id], problem: 'too deep' } },
        );
      }
      let partial = resolved.get(ref);
      if (!partial) {
        if (resolved.size >= MAX_PARTIALS) {
          throw new TemplatePartialError(`A template may use at most ${MAX_PARTIALS} distinct partials.`, {
            details: { problem: 'too many partials' },
          });
        }
        const pinned = options.pins && Object.hasOwn(options.pins, ref) ? options.pins[ref] : undefined;
        if (options.pins && Object.keys(options.pins).length > 0 && pinned === undefined) {
          throw new TemplatePartialError(
            `The campaign did not pin the partial "${ref}" when it was created, so it cannot send it.`,
            { details: { partial: ref, problem: 'not pinned' } },
          );
        }
        try {
          partial = await load(id, pinned ?? version);
        } catch (error) {
          if (!(error instanceof NotFoundError)) throw error;
          throw new TemplatePartialError(
            `The template uses the partial "${ref}", but ${error.message} Save that template first, or fix the name.`,
            { cause: error, details: { partial: ref, problem: 'not found' } },
          );
        }
        resolved.set(ref, partial);
      }
      await visit(partial, [...chain, id]);
    }
  };
  await visit(content, [options.selfId ?? '(this template)']);
  return resolved;
}

/** The versions to record on a campaign: reference -> version actually loaded. */
export function pinsOf(partials: ResolvedPartials): PartialPins {
  const pins: PartialPins = {};
  for (const [ref, partial] of [...partials].sort(([a], [b]) => a.localeCompare(b)))
    pins[ref] = partial.version;
  return pins;
}
