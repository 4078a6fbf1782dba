/**
 * Email templates in liquid: parsing (with positioned errors), the variables a template needs, and
 * rendering. HTML output is escaped by default so a recipient's data can never inject markup; liquid
 * never re-evaluates its output, so data can never inject template code either. `{{ x | raw }}` opts out.
 */
import { Liquid, type StaticAnalysis, type Template, TypeGuards } from 'liquidjs';
import { MissingVariablesError, TemplatePartialError, TemplateSyntaxError } from '../errors.ts';
import { headerControlCharacter } from '../schemas.ts';
import { untrackUnsubscribeLinks } from '../sending/tracking.ts';
import { compileFast, type Delegate, type FastRender } from './fast-render.ts';
import { htmlToText } from './html-to-text.ts';
// Before any analysis: liquidjs's token positions by line index instead of by counting from the start.
import './liquid-positions.ts';
import {
  type PartialPins,
  partialRefs,
  pinsOf,
  type ResolvedPartials,
  safeLiquidOptions,
  type TemplatePart,
} from './partials.ts';
import { type JsonPieces, jsonInner, PreparedHtml, type PreparedJson } from './prepared.ts';

export interface TemplateContent {
  subject: string;
  html: string;
  text?: string | undefined;
}

export interface CompiledTemplate {
  subject: Template[];
  html: Template[];
  text: Template[] | undefined;
  /** Top-level variable names the template reads that it does not assign itself. */
  variables: string[];
  /**
   * Reads of a property of a top-level variable (`user.name`), which every campaign renders blank: its
   * variables are all text (CSV cells, campaign data, sixback's own). Absent when there is none.
   */
  propertyReads?: string[] | undefined;
  /** The partials this compiled template renders, by reference, with the version loaded. */
  partials?: PartialPins | undefined;
  /**
   * The fast renderer of each part (core/templates/fast-render.ts), when the part is inside its subset, and
   * the safety net's state. Absent on a CompiledTemplate built by hand: then liquidjs renders.
   */
  fast?: FastTemplate | undefined;
  /** The engines it was parsed with (their fs holds its partials); the default engines when absent. */
  engines?: Engines | undefined;
}

export interface FastTemplate {
  subject: FastRender | undefined;
  html: FastRender | undefined;
  text: FastRender | undefined;
  /** Renders left in which both renderers run and must agree. */
  checksLeft: number;
  /** Set when the fast renderer once disagreed with liquidjs: liquidjs renders this template from then on. */
  disabled: boolean;
  /** The HTML part with its static pieces pre-encoded and its text part derived (core/templates/prepared.ts);
   * its renderHtml is `html` above. */
  prepared: PreparedHtml | undefined;
}

/** How many renders of each compiled template are rendered by both liquidjs and the fast renderer. */
export const FAST_RENDER_CHECKS = 16;

/** Process-wide counts of the safety net, for tests and diagnostics. */
export const fastRenderStats = {
  mismatches: 0,
  lastMismatch: undefined as string | undefined,
  /** Derived text parts that differed from htmlToText (derivation is then off for that template). */
  textMismatches: 0,
};

export interface RenderedEmail {
  subject: string;
  /** On the prepared path, html and text are joined from their pieces when first read (see PreparedRender). */
  html: string;
  text: string;
  /** The html and text as SendEmail JSON pieces (static parts encoded once per template), when the fast
   * path rendered them; a transport may write these instead of escaping html and text itself. */
  json?: PreparedJson | undefined;
}

/** Variables sixback fills in itself for every recipient. */
export const SYSTEM_VARIABLES = ['email', 'unsubscribe_url', 'campaign_id'] as const;

type Part = TemplatePart;

interface Engines {
  subject: Liquid;
  html: Liquid;
  text: Liquid;
}

/**
 * liquidjs's guards against templates that would never finish, per render of one part for one recipient
 * (liquidjs has none by default: `{% for i in (1..100000000) %}` ran for minutes, blocking the API's
 * process in a preview, and a value doubled in a loop grew to hundreds of megabytes). memoryLimit counts
 * what ranges, string filters and escaped outputs create: a loop's items, so it bounds iterations; a real
 * email needs a few hundred thousand at most. renderLimit is a wall-clock bound for what memory does not
 * count, far above a real render (about 1.5 ms for 100 KB). parseLimit bounds one parse (a template is at
 * most 400,000 characters; partials are parsed one by one).
 */
export const TEMPLATE_LIMITS = { memoryLimit: 1_000_000, renderLimit: 2_000, parseLimit: 1_000_000 } as const;

/**
 * The only place sixback builds liquidjs engines (the browser preview bundles this module). Each part
 * has its own engine because its partials read that part of the partial templates; every engine reads
 * partials through the stored-partials fs (core/templates/partials.ts), never the disk.
 */
export function createEngines(partials: ResolvedPartials): Engines {
  const options = (part: Part) => ({
    ...safeLiquidOptions(partials, part),
    ...TEMPLATE_LIMITS,
    strictFilters: true,
  });
  return {
    subject: new Liquid(options('subject')),
    html: new Liquid({ ...options('html'), outputEscape: 'escape' }),
    text: new Liquid(options('text')),
  };
}

/** liquidjs's message for a guard it hit, in words that say what to change. */
function limitMessage(message: string): string | undefined {
  if (/memory alloc limit exceeded/.test(message))
    return `it does too much work for one email (a loop over more than ${TEMPLATE_LIMITS.memoryLimit.toLocaleString('en-US')} items in all, or a value grown in a loop); loop over less`;
  if (/template render limit exceeded/.test(message))
    return `it took over ${TEMPLATE_LIMITS.renderLimit / 1000} s to render for one email (a loop too long or nested too deep); loop over less`;
  if (/Maximum call stack size exceeded/.test(message))
    return 'its tags are nested too deeply (thousands of levels); nest fewer';
  if (/parse limit exceeded/.test(message))
    return `it is longer than ${TEMPLATE_LIMITS.parseLimit.toLocaleString('en-US')} characters`;
  return undefined;
}

const NO_PARTIALS: ResolvedPartials = new Map();
const defaultEngines = createEngines(NO_PARTIALS);

function parsePart(engine: Liquid, part: Part, source: string): Template[] {
  try {
    return engine.parse(source);
  } catch (error) {
    const position = (error as { token?: { getPosition(): number[] } }).token?.getPosition();
    const raw = error instanceof Error ? error.message.replace(/, line:\d+, col:\d+$/, '') : String(error);
    const message = limitMessage(raw) ?? raw;
    throw new TemplateSyntaxError(`The ${part} does not parse: ${message}`, {
      cause: error,
      details: { part, line: position?.[0] ?? null, column: position?.[1] ?? null, problem: message },
    });
  }
}

/**
 * Filters that keep a non-empty string non-empty: after `default: "x"`, a chain of these still cannot
 * come out empty. Anything else after the default (remove, slice, strip...) might, so it does not count.
 */
const KEEPS_NON_EMPTY = new Set([
  'append',
  'prepend',
  'upcase',
  'downcase',
  'capitalize',
  'escape',
  'escape_once',
  'url_encode',
  'url_escape',
  'xml_escape',
  'cgi_escape',
  'raw',
  'json',
  'jsonify',
  'inspect',
  'size',
  'default',
]);

interface ValueShape {
  initial: { postfix: unknown[] };
  filters: { name: string; args: unknown[] }[];
}

const isValue = (arg: unknown): arg is ValueShape =>
  typeof arg === 'object' &&
  arg !== null &&
  Array.isArray((arg as ValueShape).filters) &&
  Array.isArray((arg as ValueShape).initial?.postfix);

/** A literal that is never empty: a non-empty string, any number, or true. */
function nonEmptyLiteral(arg: unknown): boolean {
  if (Array.isArray(arg)) return false; // a keyword argument (allow_false: true), not the fallback
  const token = arg as Parameters<typeof TypeGuards.isQuotedToken>[0];
  if (TypeGuards.isQuotedToken(token)) return (token as unknown as { content: string }).content !== '';
  if (TypeGuards.isNumberToken(token)) return true;
  return TypeGuards.isLiteralToken(token) && token.literal === 'true';
}

/** The chain ends in a value that cannot be empty because of a `default` with a non-empty literal. */
function defaultGuarded(value: ValueShape): boolean {
  let guarded = false;
  for (const filter of value.filters) {
    // The engine's own output escape (outputEscape: 'escape') is an unnamed filter ("[object Function]").
    if (filter.name === '[object Function]') continue;
    if (filter.name === 'default' && nonEmptyLiteral(filter.args[0])) guarded = true;
    else if (!KEEPS_NON_EMPTY.has(filter.name)) guarded = false;
  }
  return guarded;
}

type Node = {
  arguments?: () => Iterable<unknown>;
  children?: (partials: boolean, sync: boolean) => Generator<unknown, Iterable<Node>, unknown>;
};

/** Every filtered value in the templates, at any depth (outputs, and tags such as assign or echo). */
function* filteredValues(templates: Iterable<Node>): Generator<ValueShape> {
  for (const node of templates) {
    if (node.arguments) for (const arg of node.arguments()) if (isValue(arg)) yield arg;
    if (node.children) {
      // Run the children generator synchronously, as liquidjs's own sync analysis does.
      // Not into partials: a partial's uses count as required (its variables come from the analysis below).
      const it = node.children(false, true);
      let step = it.next();
      while (!step.done) step = it.next(step.value);
      yield* filteredValues(step.value);
    }
  }
}

/**
 * The names a part needs from outside: liquidjs's global variables, less the ones every use of which
 * is the input of a filter chain guarded by `default` (`{{ city | default: "your town" }}`): a missing
 * column there renders the default, so it is optional and does not block a send.
 */
function requiredVariables(engine: Liquid, parsed: Template[], analysis: StaticAnalysis): string[] {
  const at = (v: { location: { row: number; col: number; file?: string | undefined } }) =>
    `${v.location.file ?? ''}:${v.location.row}:${v.location.col}`;
  const guarded = new Set<string>();
  for (const value of filteredValues(parsed as unknown as Node[])) {
    if (!defaultGuarded(value)) continue;
    // The positions of the variables in the chain's input, found by the same analysis.
    const input = { arguments: () => value.initial.postfix } as unknown as Template;
    for (const uses of Object.values(engine.analyzeSync([input], { partials: false }).globals))
      for (const use of uses) guarded.add(at(use));
  }
  return Object.entries(analysis.globals)
    .filter(([, uses]) => uses.some((use) => !guarded.has(at(use))))
    .map(([name]) => name);
}

/** What liquidjs reads from a text value besides indexes (`first` and `last` are blank on text). */
const TEXT_PROPERTIES = new Set(['size', 'length']);

/**
 * `user.name` where `user` comes from outside: blank for every recipient, since every variable a campaign
 * renders with is text. Indexes (`x[0]`), `size` and `length` are fine.
 */
function textPropertyReads(analysis: StaticAnalysis): string[] {
  const reads: string[] = [];
  for (const uses of Object.values(analysis.globals)) {
    for (const use of uses) {
      const property = use.segments[1];
      if (typeof property !== 'string' || TEXT_PROPERTIES.has(property)) continue;
      reads.push(String(use));
    }
  }
  return reads;
}

/**
 * Refuses a template that reads a property of a variable (`{{ user.name }}`): a campaign's variables are
 * text (CSV cells and campaign data), so it would be blank in every email, silently. Checked where a
 * template meets campaigns (save, preview, campaign creation); compileTemplate itself renders any values.
 */
export function assertTextVariables(compiled: CompiledTemplate): void {
  const reads = compiled.propertyReads ?? [];
  const first = reads[0];
  if (first === undefined) return;
  const [name, property] = first.split('.');
  throw new TemplateSyntaxError(
    `The template reads ${[...new Set(reads)].map((r) => `{{ ${r} }}`).join(', ')}: a property of "${name}", but every variable is text ` +
      `(a CSV column or campaign data), so it would be empty in every email. Use a column of its own, e.g. {{ ${name}_${property} }}.`,
    { details: { reads, problem: 'property of a text variable' } },
  );
}

/** Parses one part with positioned syntax errors, for finding the partials it uses (resolvePartials). */
export function parseTemplatePart(part: Part, source: string): Template[] {
  return source === '' ? [] : parsePart(defaultEngines[part], part, source);
}

/**
 * Parses a template. `partials` are the stored templates it renders, loaded beforehand by
 * resolvePartials (core/templates/partials.ts); a partial it uses that is not among them is refused.
 */
export function compileTemplate(
  content: TemplateContent,
  partials: ResolvedPartials = NO_PARTIALS,
): CompiledTemplate {
  const engines = partials.size === 0 ? defaultEngines : createEngines(partials);
  const subject = parsePart(engines.subject, 'subject', content.subject);
  // Once per template: SES's click tracking must leave the unsubscribe link as it is.
  const html = parsePart(engines.html, 'html', untrackUnsubscribeLinks(content.html));
  const text =
    content.text === undefined || content.text === ''
      ? undefined
      : parsePart(engines.text, 'text', content.text);
  for (const parsed of [subject, html, text]) {
    for (const ref of parsed ? partialRefs(parsed) : []) {
      if (!partials.has(ref)) {
        throw new TemplatePartialError(
          `The template uses the partial "${ref}", which was not loaded. Partials are stored templates; ` +
            `save a template with id "${ref.split('@')[0]}" first (previews and saves through the API load them).`,
          { details: { partial: ref, problem: 'not loaded' } },
        );
      }
    }
  }
  const variables = new Set<string>();
  const propertyReads: string[] = [];
  for (const [engine, parsed] of [
    [engines.subject, subject],
    [engines.html, html],
    [engines.text, text],
  ] as const) {
    if (!parsed) continue;
    // One analysis of the part for both questions. With partials: a stored partial's variables are the
    // template's too.
    const analysis = engine.analyzeSync(parsed, { partials: true });
    for (const name of requiredVariables(engine, parsed, analysis)) variables.add(name);
    propertyReads.push(...textPropertyReads(analysis));
  }
  // An output outside the fast subset (a date filter in a footer) is rendered alone by liquidjs, so one
  // such output does not send every email of the template through liquidjs and htmlToText.
  const delegate =
    (engine: Liquid): Delegate =>
    (output) =>
    (env) =>
      engine.renderSync([output], env) as string;
  const prepared = PreparedHtml.compile(html, delegate(engines.html));
  const fast: FastTemplate = {
    subject: compileFast(subject, false, delegate(engines.subject)),
    // The prepared part renders the same subset; it is the HTML's fast renderer when there is one.
    html: prepared?.renderHtml ?? compileFast(html, true, delegate(engines.html)),
    text: text ? compileFast(text, false, delegate(engines.text)) : undefined,
    checksLeft: FAST_RENDER_CHECKS,
    disabled: false,
    prepared,
  };
  return {
    subject,
    html,
    text,
    variables: [...variables].sort(),
    ...(propertyReads.length > 0 ? { propertyReads } : {}),
    ...(partials.size > 0 ? { partials: pinsOf(partials) } : {}),
    fast,
    engines,
  };
}

/**
 * Names the template needs that are provided neither by the recipients' columns nor by campaign data
 * nor by sixback itself.
 */
export function missingVariables(compiled: CompiledTemplate, provided: Iterable<string>): string[] {
  const have = new Set<string>([...SYSTEM_VARIABLES, ...provided]);
  return compiled.variables.filter((name) => !have.has(name));
}

export function assertVariablesProvided(
  compiled: CompiledTemplate,
  columns: string[],
  dataKeys: string[],
): void {
  const missing = missingVariables(compiled, [...columns, ...dataKeys]);
  if (missing.length > 0) {
    throw new MissingVariablesError(
      `The template uses ${missing.map((m) => `"${m}"`).join(', ')}, which no CSV column or campaign data provides. ` +
        'Add a column with that name, pass it as campaign data, or remove it from the template.',
      { details: { missing, columns, data: dataKeys } },
    );
  }
}

export class RenderError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RenderError';
  }
}

/** One part of a template rendered: by the fast renderer when it has one (and on the safety net's renders
 * by liquidjs as well, which must agree), else by liquidjs. */
function renderPart(
  fast: FastTemplate | undefined,
  checking: boolean,
  name: Part,
  engine: Liquid,
  parsed: Template[],
  variables: Record<string, unknown>,
): string {
  const render = fast?.[name];
  if (render === undefined || fast === undefined) return engine.renderSync(parsed, variables) as string;
  if (!checking) return render(variables) ?? (engine.renderSync(parsed, variables) as string);
  // The safety net: liquidjs is the reference; any difference retires the fast renderer for good.
  const reference = engine.renderSync(parsed, variables) as string;
  const quick = render(variables);
  if (quick !== undefined && quick !== reference) {
    fast.disabled = true;
    fastRenderStats.mismatches++;
    fastRenderStats.lastMismatch = name;
  }
  return reference;
}

export function renderTemplate(
  compiled: CompiledTemplate,
  variables: Record<string, unknown>,
): RenderedEmail {
  try {
    const fast = compiled.fast && !compiled.fast.disabled ? compiled.fast : undefined;
    const checking = fast !== undefined && fast.checksLeft > 0;
    if (checking) fast.checksLeft--;
    const engines = compiled.engines ?? defaultEngines;
    const subject = renderPart(fast, checking, 'subject', engines.subject, compiled.subject, variables);
    if (/[\r\n]/.test(subject)) throw new RenderError('the rendered subject contains a line break');
    const control = headerControlCharacter(subject);
    if (control) throw new RenderError(`the rendered subject contains a control character (${control})`);
    // The prepared path, while it is the HTML's fast renderer (a test may swap that renderer out).
    const prepared =
      fast?.prepared !== undefined && fast.html === fast.prepared.renderHtml ? fast.prepared : undefined;
    if (prepared !== undefined && !checking) {
      const quick = prepared.render(variables, compiled.text === undefined);
      if (quick !== undefined) {
        // (The html and text read only by a transport that does not write the pieces: the SDK path.)
        if (compiled.text === undefined) {
          // Own getters, not a class's: the message is this object, and a copy of it must see html and text.
          return {
            subject: subject.trim(),
            get html() {
              return quick.html;
            },
            get text() {
              return quick.text;
            },
            json: quick.json,
          };
        }
        const text = renderPart(fast, checking, 'text', engines.text, compiled.text, variables);
        const pieces = quick.json;
        const json = pieces && {
          // (Read through, so the pieces are listed only if something reads them.)
          get html() {
            return pieces.html;
          },
          htmlSlots: pieces.htmlSlots,
          htmlBytes: pieces.htmlBytes,
          text: [jsonInner(text)],
        };
        return {
          subject: subject.trim(),
          get html() {
            return quick.html;
          },
          text,
          json,
        };
      }
    }
    const html = renderPart(fast, checking, 'html', engines.html, compiled.html, variables);
    const checkedText =
      prepared !== undefined && checking
        ? checkPrepared(fast as FastTemplate, prepared, variables, html)
        : undefined;
    return {
      subject: subject.trim(),
      html,
      // Without a text template, a text part derived from the HTML (HTML-only mail scores worse as spam):
      // the check has just derived it, from this html.
      text: compiled.text
        ? renderPart(fast, checking, 'text', engines.text, compiled.text, variables)
        : (checkedText ?? htmlToText(html)),
    };
  } catch (error) {
    if (error instanceof RenderError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new RenderError(limitMessage(message) ?? message, { cause: error });
  }
}

/**
 * The safety net of the prepared path, on the renders where liquidjs is the reference: the prepared HTML
 * must equal it (else the fast path is off for the template), its derived text must equal htmlToText of
 * it and its JSON pieces JSON.stringify of both (else derivation is off for the template). Returns
 * htmlToText of the reference when it got that far, which the email being checked then uses as its text.
 */
function checkPrepared(
  fast: FastTemplate,
  prepared: PreparedHtml,
  variables: Record<string, unknown>,
  reference: string,
): string | undefined {
  const quick = prepared.render(variables);
  if (quick === undefined) return undefined;
  if (quick.html !== reference) {
    fast.disabled = true;
    fastRenderStats.mismatches++;
    fastRenderStats.lastMismatch = 'prepared html';
    return undefined;
  }
  const text = htmlToText(reference);
  // TextDecoder, not Buffer: this module also runs in the console's browser preview.
  const utf8 = new TextDecoder();
  const joined = (pieces: JsonPieces) =>
    pieces.map((p) => (typeof p === 'string' ? p : utf8.decode(p))).join('');
  const jsonDiffers =
    quick.json !== undefined &&
    (`"${joined(quick.json.html)}"` !== JSON.stringify(reference) ||
      `"${joined(quick.json.text)}"` !== JSON.stringify(quick.text));
  if (jsonDiffers) prepared.disableJson();
  if (quick.text !== text || jsonDiffers) {
    prepared.disableDerivation();
    fastRenderStats.textMismatches++;
  }
  return text;
}

/** Parsed templates are immutable per version, so a process-wide cache keyed by id@version is safe. */
export class CompiledTemplateCache {
  private readonly entries = new Map<string, CompiledTemplate>();
  /** Templates being loaded and compiled now, so callers asking meanwhile wait for the same one. */
  private readonly making = new Map<string, Promise<CompiledTemplate>>();
  constructor(private readonly capacity = 64) {}

  /**
   * The compiled template under key; when it is not cached, `make` builds it once however many callers
   * ask while it does (each would otherwise load and compile it again, one after the other on one thread).
   * A failure is every waiting caller's, and not cached: the next call makes it anew.
   */
  getOrMake(key: string, make: () => Promise<CompiledTemplate>): Promise<CompiledTemplate> {
    const cached = this.entries.get(key);
    if (cached) return Promise.resolve(cached);
    let making = this.making.get(key);
    if (!making) {
      making = make()
        .then((compiled) => {
          this.set(key, compiled);
          return compiled;
        })
        .finally(() => this.making.delete(key));
      this.making.set(key, making);
    }
    return making;
  }

  /** The compiled template under key, if it is cached. */
  peek(key: string): CompiledTemplate | undefined {
    return this.entries.get(key);
  }

  /** Caches a template compiled elsewhere (with its partials), evicting the oldest beyond capacity. */
  set(key: string, compiled: CompiledTemplate): void {
    if (!this.entries.has(key) && this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, compiled);
  }

  get(key: string, load: () => TemplateContent): CompiledTemplate {
    let compiled = this.entries.get(key);
    if (!compiled) {
      compiled = compileTemplate(load());
      if (this.entries.size >= this.capacity) {
        const oldest = this.entries.keys().next().value;
        if (oldest !== undefined) this.entries.delete(oldest);
      }
      this.entries.set(key, compiled);
    }
    return compiled;
  }
}
