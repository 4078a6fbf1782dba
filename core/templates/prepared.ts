/**
 * Per-template work done once for the HTML part of a template without a text part:
 *
 * - the static pieces are JSON-escaped and encoded to UTF-8 once, so a SendEmail body is the pre-encoded
 *   pieces with only the recipient's values escaped (`json`, read by core/aws/fast/ses-transport.ts);
 *   outputs with the same source share a slot, evaluated and escaped once per recipient, and the html
 *   and text strings are joined only if something reads them;
 * - what depends only on the branches a recipient's walk takes (its statics and slots in order, as text
 *   and as JSON, and the derived text as JSON, adjacent static pieces joined) is made once per combination
 *   and shared, so an email in flight holds a few values, not lists of the whole template (fewer objects
 *   survive to the old generation); a recipient's walk evaluates only the slots and conditionals (Plan);
 * - the text part's template is derived from the HTML once per combination of branches taken, so a
 *   recipient's text part is a fill-in of their values rather than an `htmlToText` scan of 100 KB.
 *
 * Derivation renders the HTML with a token in place of each output, runs `htmlToText` on that, and reads
 * the tokens back out of the text. That is exact only where `htmlToText` treats every possible value as it
 * treats the token, which the rules below check once per combination (anything else: this combination
 * is not derived and every recipient's text comes from `htmlToText`):
 * - no static piece contains a token character, and removing comments, never-shown elements and
 *   doctypes (htmlToText's first passes, which no value can affect: outputs never hold `<` or `>`, see
 *   below) leaves nothing those passes would remove again;
 * - a link with an output in it (an `href="{{ url }}"`) becomes one token; per recipient the link is
 *   filled in and given to the link pass's own function, so what its comparisons decide is theirs
 *   (or, for a quoted link whose address starts with a static scheme, its text is put together from
 *   pieces when each value passes the checks that make that exact: see Expanded);
 * - an output that is not in the text must sit inside a tag whose name is complete before it and whose
 *   treatment does not depend on its attributes (not a, img, br, td or th);
 * - an output in the text must not be inside a tag, except inside the alt text the image pass takes from
 *   an `<img>` (`alt="{{ company }} logo"`), and the text before it must not end in what could be the
 *   start of an entity (`&amp` followed by a value `;x`).
 * And per recipient, for every output (else that recipient's text comes from `htmlToText`):
 * - no `<` or `>` in any output (escaped outputs never have one; `| raw` ones may), and no quote of its
 *   alt text in an output inside one;
 * - an output or link in the text is not empty, does not end in a partial entity, and after decoding
 *   has no whitespace but single spaces between other characters (so line trimming and blank collapsing
 *   treat it as they treat the token).
 * test/unit/prepared.test.ts checks the result against `htmlToText` on generated templates and data, and
 * renderTemplate's first renders of every template compare it with `htmlToText` (a difference turns
 * derivation off for that template).
 */
import { compileProgram, type Delegate, type Program } from './fast-render.ts';
import {
  decodeEntities,
  htmlToText,
  imgAltSpan,
  isSpace,
  linkLabel,
  linkSpanGroups,
  linkSpans,
  linkSpanText,
  linkTextOf,
  removeNeverShown,
} from './html-to-text.ts';

/** A SendEmail JSON string's contents, without its quotes: Uint8Array pieces are the UTF-8 bytes of
 * already-escaped text, string pieces are escaped text still to be encoded. */
export type JsonPieces = (Uint8Array | string)[];

/** What JSON.stringify escapes in a string: quote, backslash, control characters, surrogates. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what JSON escapes
const JSON_ESCAPED = /["\\\u0000-\u001f\ud800-\udfff]/;

/** s as JSON.stringify writes it, without the quotes. */
export function jsonInner(s: string): string {
  // Most values need no escaping; JSON.stringify and a slice cost more than this test.
  if (!JSON_ESCAPED.test(s)) return s;
  const quoted = JSON.stringify(s);
  return quoted.slice(1, -1);
}

/** A static piece: its text, and its JSON-escaped UTF-8 bytes. */
interface Static {
  text: string;
  json: Uint8Array;
}

/** An output, by its slot: outputs with the same source share one, evaluated once per recipient. */
type Node =
  | Static
  | { slot: number }
  | { branches: { test: (env: Record<string, unknown>) => boolean; body: Node[] }[]; otherwise: Node[] };

/**
 * A list of nodes as a recipient's walk needs it: the slots its outputs use (each once, in order) and its
 * conditionals, without the statics, which only the first walk of a combination reads. Tests and outputs
 * are pure functions of the variables, so evaluating a list's slots before its conditionals gives the
 * same values; the conditionals keep their order, so the walk's key is the same as the full visit's.
 */
interface Plan {
  slots: number[];
  branches: {
    branches: { test: (env: Record<string, unknown>) => boolean; body: Plan }[];
    otherwise: Plan;
  }[];
}

function planOf(nodes: Node[]): Plan {
  const slots: number[] = [];
  const branches: Plan['branches'] = [];
  for (const node of nodes) {
    if ('json' in node) continue;
    if ('slot' in node) {
      if (!slots.includes(node.slot)) slots.push(node.slot);
    } else {
      branches.push({
        branches: node.branches.map((b) => ({ test: b.test, body: planOf(b.body) })),
        otherwise: planOf(node.otherwise),
      });
    }
  }
  return { slots, branches };
}

/**
 * What one recipient's walk of the program left: statics and output slots in order, each slot's value
 * (evaluated where the walk first met it; undefined for slots it never met), and the branches taken.
 */
interface Walk {
  /** Shared by every recipient of the same combination: never written to. */
  items: readonly (Static | number)[];
  /** The same combination's items as SendEmail JSON, shared likewise. */
  combination: Combination;
  values: (string | undefined)[];
  key: string;
}

/** What every recipient whose walk takes the same branches shares: made once per combination. */
interface Combination {
  items: readonly (Static | number)[];
  /** The items as SendEmail JSON pieces: a static piece's escaped bytes, or a slot's number. */
  json: readonly (Uint8Array | number)[];
  /** The static pieces' bytes. */
  staticBytes: number;
  /** How many outputs each slot has here (its value's bytes count that many times). */
  uses: number[];
}

function combinationOf(items: readonly (Static | number)[], slots: number): Combination {
  const json = new SlottedBuilder(slots);
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as Static | number;
    if (typeof item === 'number') json.slot(item);
    else json.bytes(item.json);
  }
  return { items, json: json.pieces(), staticBytes: json.staticBytes, uses: json.uses };
}

/**
 * A shared list of JSON pieces being made: adjacent static pieces are joined into one (at a branch's
 * edges, around an expanded link's fixed parts), so a writer copies one run where it would copy several.
 */
class SlottedBuilder {
  private readonly list: (Uint8Array | number)[] = [];
  private run: Uint8Array[] = [];
  staticBytes = 0;
  /** How many times each slot is used. */
  readonly uses: number[];

  constructor(slots: number) {
    this.uses = new Array(slots).fill(0);
  }

  bytes(piece: Uint8Array): void {
    if (piece.length === 0) return;
    this.run.push(piece);
    this.staticBytes += piece.length;
  }

  slot(slot: number): void {
    this.flush();
    this.list.push(slot);
    this.uses[slot] = (this.uses[slot] as number) + 1;
  }

  pieces(): (Uint8Array | number)[] {
    this.flush();
    return this.list;
  }

  private flush(): void {
    if (this.run.length === 1) this.list.push(this.run[0] as Uint8Array);
    else if (this.run.length > 1) {
      const joined = new Uint8Array(this.run.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const piece of this.run) {
        joined.set(piece, at);
        at += piece.length;
      }
      this.list.push(joined);
    }
    this.run = [];
  }
}

/** A text part derived for one combination of branches: static text and references to outputs. */
interface TextTemplate {
  parts: (Static | TextValue | { link: Link })[];
  /** The most pieces a recipient's text can have (an expanded link is several), so a fill allocates its
   * arrays once at their size instead of growing them piece by piece. */
  maxPieces: number;
  /** The same text as one shared list of JSON pieces, for a recipient whose links all expand. */
  slotted: SlottedText;
}

/**
 * A derived text as a shared list (its adjacent static pieces joined), whose numbers index a recipient's
 * text values: `v` is slot v's value as text (textPiece), `slots + v` the same value as a piece of an
 * expanded link's address, `2 * slots + n` the text of the n-th link that is not expanded. It applies
 * when every expanded link expands for the recipient; otherwise the text is filled piece by piece
 * (fillText), as the link's fallback changes the list.
 */
interface SlottedText {
  pieces: (Uint8Array | number)[];
  staticBytes: number;
  /** How many times each text value is used (its bytes count that many times). */
  uses: number[];
  /** The slots shown as values, and those that are pieces of an expanded link's address, each once. */
  valueSlots: number[];
  /** The values inside an image's alt text, with its quote (a value holding it: htmlToText decides). */
  quoted: TextValue[];
  addressSlots: number[];
  expanded: { quote: '"' | "'"; expanded: Expanded }[];
  /** The links that are not expanded, in the order of their text values. */
  links: Link[];
}

function slottedText(parts: TextTemplate['parts'], slots: number): SlottedText {
  const links: Link[] = [];
  const expandedLinks: SlottedText['expanded'] = [];
  const valueSlots = new Set<number>();
  const quoted: TextValue[] = [];
  const addressSlots = new Set<number>();
  const json = new SlottedBuilder(2 * slots + parts.length);
  for (const part of parts) {
    if ('json' in part) json.bytes(part.json);
    else if ('value' in part) {
      valueSlots.add(part.value);
      if (part.quote !== undefined) quoted.push(part);
      json.slot(part.value);
    } else {
      const link = part.link;
      const expanded = 'quote' in link ? link.expanded : undefined;
      if (expanded === undefined || !('quote' in link)) {
        json.slot(2 * slots + links.push(link) - 1);
        continue;
      }
      expandedLinks.push({ quote: link.quote, expanded });
      json.bytes(expanded.head.json);
      for (const piece of expanded.pieces) {
        if (typeof piece !== 'number') json.bytes(piece.json);
        else {
          addressSlots.add(piece);
          json.slot(slots + piece);
        }
      }
      json.bytes(LINK_TAIL.json);
    }
  }
  const pieces = json.pieces();
  return {
    pieces,
    staticBytes: json.staticBytes,
    uses: json.uses.slice(0, 2 * slots + links.length),
    valueSlots: [...valueSlots],
    quoted,
    addressSlots: [...addressSlots],
    expanded: expandedLinks,
    links,
  };
}

/** An output in the text part, by slot; `quote` when it is inside an image's alt text in that quote (a
 * value holding the quote would end the alt text there: that recipient's text comes from htmlToText). */
interface TextValue {
  value: number;
  quote?: '"' | "'";
}

/**
 * A link with outputs in it. When they are all inside its quoted href (the common `href="{{ url }}"`),
 * the link pass matches the filled link exactly as it matched the tokens (values hold no `<`, `>` or that
 * quote), so only the href is filled and given to linkText with the static inner text; otherwise the
 * whole link is filled and matched again.
 */
type Link =
  | { span: (string | number)[] }
  | {
      quote: '"' | "'";
      href: (string | number)[];
      label: ReturnType<typeof linkLabel>;
      expanded: Expanded | undefined;
    };

/**
 * A quoted link whose text is `label (address)` for every value that passes addressPiece's checks: the
 * address's static pieces decoded (twice, as the link pass and then the text's entity pass decode it) and
 * escaped once, so a recipient's link text is its values' pieces put between them, without filling,
 * decoding and scanning the whole link text again. It applies when the address starts with a static
 * scheme (`https:`; not `javascript:` or `mailto:`, not `#`), every static piece decodes apart as it
 * decodes in place (no partial entity at its end, before or after the first decoding) and holds no
 * whitespace, and the label is not empty and would be shown as is. Per recipient the values must pass
 * the same checks (addressPiece), hold no quote of the link's, and the address must not be as long as
 * the label (`shown === href` makes the text the address alone); otherwise the link is filled as before.
 */
interface Expanded {
  /** The label and ` (`, as shown and escaped. */
  head: Static;
  /** The address: static pieces decoded twice, and slots. */
  pieces: (Static | number)[];
  /** The static pieces' length decoded once (the address's length is this plus its values'). */
  onceLength: number;
  /** The label's shown length (linkTextOf compares it with the address). */
  shownLength: number;
}

/** A piece of a link's address as the text part shows it (decoded twice), with the length decoded once. */
interface AddressPiece {
  once: number;
  piece: TextPiece;
  /** Whether the raw piece holds each quote (a value with the link's quote would end its href). */
  dq: boolean;
  sq: boolean;
}

/**
 * What a piece of an address becomes, or undefined when decoding it apart from its neighbours could
 * differ from decoding it in place (it ends in a partial entity before or after the first decoding), or
 * its text could change what the text part's rules decide (a `<`, any whitespace, a split surrogate pair).
 */
function addressPiece(raw: string): AddressPiece | undefined {
  // (A partial entity at the end of raw is still there once it is decoded: checking once covers both.)
  const once = raw.includes('&') ? decodeEntities(raw) : raw;
  if (once.includes('<') || endsInPartialEntity(once)) return undefined;
  const twice = once.includes('&') ? decodeEntities(once) : once;
  for (let i = 0; i < twice.length; i++) if (isSpace(twice.charCodeAt(i))) return undefined;
  if (splitsSurrogates(twice)) return undefined;
  return {
    once: once.length,
    piece: { shown: twice, json: jsonInner(twice) },
    dq: raw.includes('"'),
    sq: raw.includes("'"),
  };
}

const LINK_TAIL: Static = { text: ')', json: new Uint8Array([41]) };

/** The expanded form of a quoted link (see Expanded), or undefined when it does not apply. */
function expandLink(href: (string | number)[], label: ReturnType<typeof linkLabel>): Expanded | undefined {
  const first = href[0];
  if (typeof first !== 'string' || first === '' || !label.shown) return undefined;
  // The address starts with the first piece decoded: its scheme decides linkTextOf's tests on the start.
  const start = decodeEntities(first);
  const colon = start.indexOf(':');
  if (colon <= 0 || start.charCodeAt(0) === 35 /* # */) return undefined;
  if (/^javascript:/i.test(start) || /^mailto:/i.test(start)) return undefined;
  // The label as the text shows it, followed by ` (`: checked as textValue checks a whole link text.
  if (label.label.includes('<') || textValue(`${label.label} (x)`) === undefined) return undefined;
  const headShown = `${decodeEntities(label.label)} (`;
  if (splitsSurrogates(headShown)) return undefined;
  const pieces: Expanded['pieces'] = [];
  let onceLength = 0;
  for (const piece of href) {
    if (typeof piece === 'number') {
      pieces.push(piece);
      continue;
    }
    const address = addressPiece(piece);
    if (address === undefined) return undefined;
    onceLength += address.once;
    pieces.push(staticOf(address.piece.shown));
  }
  return { head: staticOf(headShown), pieces, onceLength, shownLength: label.shown.length };
}

const UNDERIVABLE = 'underivable' as const;
const PIECE_BY_PIECE = 'piece by piece' as const;

/** Tokens in the private-use area: a start character, the number in two characters, an end character. */
const VALUE_START = 0xe000;
const LINK_START = 0xe001;
const TOKEN_END = 0xe002;
const DIGIT_LOW = 0xe100;
const DIGIT_HIGH = 0xe200;
const TOKEN_CHARS = /[\ue000-\ue2ff]/;
const token = (start: number, n: number) =>
  String.fromCharCode(start, DIGIT_LOW + (n & 0xff), DIGIT_HIGH + (n >> 8), TOKEN_END);
const MAX_TOKENS = 1 << 16;

const PARTIAL_ENTITY = /&[#0-9a-z]*$/i;
const NEVER_SHOWN = /<(head|style|script|title|noscript|template)\b[\s\S]*?<\/\1\s*>|<!doctype[^>]*>/i;
const ATTRIBUTE_DEPENDENT = new Set(['a', 'img', 'br', 'td', 'th']);

/** Combinations of branches remembered per template; beyond that, recipients' texts are scanned. */
const MAX_COMBINATIONS = 256;

const encoder = new TextEncoder();
const staticOf = (text: string): Static => ({ text, json: encoder.encode(jsonInner(text)) });

const isHighSurrogate = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLowSurrogate = (c: number) => c >= 0xdc00 && c <= 0xdfff;
/** Whether JSON-escaping s apart from its neighbours could differ from escaping them together (a
 * surrogate pair split across the boundary). */
const splitsSurrogates = (s: string) =>
  s.length > 0 && (isLowSurrogate(s.charCodeAt(0)) || isHighSurrogate(s.charCodeAt(s.length - 1)));

/** JSON pieces as a shared list, its numbers standing for a recipient's values (escaped). */
export interface SlottedPieces {
  pieces: readonly (Uint8Array | number)[];
  values: readonly (string | undefined)[];
}

/** The pieces a SlottedPieces stands for, as a list. */
export function listSlotted({ pieces, values }: SlottedPieces): JsonPieces {
  const listed: JsonPieces = new Array(pieces.length);
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i] as Uint8Array | number;
    listed[i] = typeof piece === 'number' ? (values[piece] as string) : piece;
  }
  return listed;
}

/**
 * The html and text as SendEmail JSON pieces, with the most UTF-8 bytes each can take (counted while the
 * pieces are made, so a transport sizing its buffer need not walk them again).
 */
export interface PreparedJson {
  readonly html: JsonPieces;
  text: JsonPieces;
  /**
   * The html's pieces without a list of its own: the combination's shared list, whose numbers are slots,
   * and this recipient's escaped value of each slot (`html` lists the same pieces). A 100 KB email in
   * flight holds a dozen values instead of a list of 467 pieces.
   */
  htmlSlots?: SlottedPieces | undefined;
  htmlBytes?: number | undefined;
  /** The derived text's pieces likewise (its combination's shared list and this recipient's text values),
   * when every link in it expands; `text` lists the same pieces. With it, textBytes is set. */
  textSlots?: SlottedPieces | undefined;
  textBytes?: number | undefined;
}

export interface PreparedRender {
  /** Joined when first read, as the derived text is: a transport that writes the JSON pieces never
   * needs either whole string. */
  readonly html: string;
  readonly text: string;
  /** The html and text as SendEmail JSON pieces; undefined when this recipient's values need the slow
   * path (a surrogate pair across a boundary). Without `withText`, `text` is '' and its pieces too. */
  json: PreparedJson | undefined;
  /** Whether the text was filled from a derived template (false: htmlToText). */
  derived: boolean;
}

/**
 * One recipient's render (PreparedRender): the html and the shown text joined when first read. A class,
 * so an email carries its fields and no closures of its own.
 */
class Rendered implements PreparedRender {
  json: PreparedJson | undefined;
  /** The text, once joined (or htmlToText's, when it was not derived). */
  textJoined: string | undefined;
  private htmlJoined: string | undefined;

  constructor(
    private readonly prepared: PreparedHtml,
    private readonly walk: Walk,
    readonly derived: boolean,
  ) {}

  get html(): string {
    if (this.htmlJoined !== undefined) return this.htmlJoined;
    const { items, values } = this.walk;
    let joined = '';
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as Static | number;
      joined += typeof item === 'number' ? (values[item] as string) : item.text;
    }
    this.htmlJoined = joined;
    return joined;
  }

  get text(): string {
    // The same fill again, with the shown pieces (see fillText).
    this.textJoined ??= this.prepared.shownText(this.walk);
    return this.textJoined;
  }
}

/** One recipient's PreparedJson: the html's and the derived text's lists made only if read (the thin
 * transport writes htmlSlots and textSlots). */
class Json implements PreparedJson {
  constructor(
    readonly htmlSlots: SlottedPieces,
    readonly htmlBytes: number,
    readonly textSlots: SlottedPieces | undefined,
    private textListed: JsonPieces | undefined,
    readonly textBytes = 3 * ((textListed as JsonPieces)[0] as string).length,
  ) {}

  private htmlListed: JsonPieces | undefined;

  get html(): JsonPieces {
    this.htmlListed ??= listSlotted(this.htmlSlots);
    return this.htmlListed;
  }

  get text(): JsonPieces {
    this.textListed ??= listSlotted(this.textSlots as SlottedPieces);
    return this.textListed;
  }
}

export class PreparedHtml {
  private readonly program: Node[];
  /** The program without its statics, for the walks after a combination's first. */
  private readonly plan: Plan;
  /** Each slot's output function. */
  private readonly outs: ((env: Record<string, unknown>) => string)[] = [];
  private readonly texts = new Map<string, TextTemplate | typeof UNDERIVABLE>();
  /** Each combination of branches' walk items (statics and slots in order), by the walk's key. */
  private readonly combinations = new Map<string, Combination>();
  /** The HTML alone, as a FastRender (render.ts uses it as the fast renderer of the HTML part). */
  readonly renderHtml = (env: Record<string, unknown>): string | undefined => this.render(env, false)?.html;
  /** Off when a static piece rules derivation out, or the safety net found a difference. */
  derivation = true;
  private jsonSafe: boolean;

  private constructor(program: Program) {
    let safe = true;
    let tokenChars = false;
    const slots = new Map<string, number>();
    const convert = (nodes: Program): Node[] =>
      nodes.map((node) => {
        if (typeof node === 'string') {
          if (splitsSurrogates(node)) safe = false;
          if (TOKEN_CHARS.test(node)) tokenChars = true;
          return staticOf(node);
        }
        if ('out' in node) {
          let slot = slots.get(node.source);
          if (slot === undefined) {
            slot = this.outs.push(node.out) - 1;
            slots.set(node.source, slot);
          }
          return { slot };
        }
        return {
          branches: node.branches.map((b) => ({ test: b.test, body: convert(b.body) })),
          otherwise: convert(node.otherwise),
        };
      });
    this.program = convert(program);
    this.plan = planOf(this.program);
    this.jsonSafe = safe;
    if (tokenChars) this.derivation = false;
  }

  /** The prepared HTML part, or undefined when the template is outside the fast renderer's subset. */
  static compile(
    parsed: Parameters<typeof compileProgram>[0],
    delegate?: Delegate,
  ): PreparedHtml | undefined {
    const program = compileProgram(parsed, true, delegate);
    return program === undefined ? undefined : new PreparedHtml(program);
  }

  /**
   * One recipient's parts, or undefined when a value is outside the fast renderer's subset (then the
   * caller renders with liquidjs).
   */
  render(env: Record<string, unknown>, withText = true): PreparedRender | undefined {
    let walk: Walk;
    try {
      walk = this.walk(env);
    } catch {
      return undefined;
    }
    const derived = withText && this.derivation ? this.derivedText(walk) : undefined;
    const rendered = new Rendered(this, walk, derived !== undefined);
    if (derived === undefined) rendered.textJoined = withText ? htmlToText(rendered.html) : '';
    if (this.jsonSafe) {
      const slots = this.escapedSlots(walk);
      if (slots) {
        const htmlSlots = { pieces: walk.combination.json, values: slots.escaped };
        rendered.json =
          derived === undefined
            ? new Json(htmlSlots, slots.bytes, undefined, [jsonInner(rendered.textJoined as string)])
            : new Json(htmlSlots, slots.bytes, derived.slots, derived.json, derived.bytes);
      }
    }
    return rendered;
  }

  /** The text of a walk's derived template as shown (a string): for a reader of PreparedRender.text. */
  shownText(walk: Walk): string {
    return (this.fillText(walk, true) as { shown: string[] }).shown.join('');
  }

  /**
   * One recipient's walk. The items depend only on the branches taken (the key): each combination's are
   * made once and shared by its recipients, so a walk evaluates the tests and the slots and allocates
   * no list of its own (one of 467 entries per 100 KB email, held while the email is in flight).
   */
  private walk(env: Record<string, unknown>): Walk {
    const { values, key } = this.walkPlan(env);
    let combination = this.combinations.get(key);
    if (combination === undefined) {
      // The first recipient of this combination (tests and outputs are pure functions of the variables,
      // so walking again takes the same branches and meets the same slots).
      const made: (Static | number)[] = [];
      this.visit(env, made);
      combination = combinationOf(made, this.outs.length);
      if (this.combinations.size < MAX_COMBINATIONS) this.combinations.set(key, combination);
    }
    return { items: combination.items, combination, values, key };
  }

  /** Evaluates the tests and the slots of the branches taken (see Plan): the values and the key. */
  private walkPlan(env: Record<string, unknown>): { values: (string | undefined)[]; key: string } {
    const values: (string | undefined)[] = new Array(this.outs.length);
    // (A method rather than a closure per walk: closures cost an allocation, and a name each under tsx.)
    const key = this.visitPlan(this.plan, env, values, '');
    return { values, key };
  }

  /** One list of the plan visited: its slots evaluated where not yet, its conditionals' branches taken
   * (the key so far, with theirs appended). */
  private visitPlan(
    plan: Plan,
    env: Record<string, unknown>,
    values: (string | undefined)[],
    key: string,
  ): string {
    const outs = this.outs;
    const slots = plan.slots;
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i] as number;
      if (values[slot] === undefined) values[slot] = (outs[slot] as (e: typeof env) => string)(env);
    }
    const branches = plan.branches;
    for (let i = 0; i < branches.length; i++) {
      const node = branches[i] as Plan['branches'][number];
      let chosen = -1;
      for (let b = 0; b < node.branches.length; b++) {
        if ((node.branches[b] as Plan['branches'][number]['branches'][number]).test(env)) {
          chosen = b;
          break;
        }
      }
      key = this.visitPlan(
        chosen === -1 ? node.otherwise : (node.branches[chosen] as { body: Plan }).body,
        env,
        values,
        `${key}${chosen},`,
      );
    }
    return key;
  }

  /** Evaluates the tests and each slot where it is first met; pushes the statics and slots into `items`. */
  private visit(
    env: Record<string, unknown>,
    items: (Static | number)[] | undefined,
  ): { values: (string | undefined)[]; key: string } {
    const values: (string | undefined)[] = new Array(this.outs.length);
    const outs = this.outs;
    let key = '';
    const visit = (nodes: Node[]) => {
      for (let i = 0; i < nodes.length; i++) {
        const node = nodes[i] as Node;
        if ('json' in node) items?.push(node);
        else if ('slot' in node) {
          const slot = node.slot;
          if (values[slot] === undefined) values[slot] = (outs[slot] as (e: typeof env) => string)(env);
          items?.push(slot);
        } else {
          let chosen = -1;
          for (let b = 0; b < node.branches.length; b++) {
            if ((node.branches[b] as { test: (e: Record<string, unknown>) => boolean }).test(env)) {
              chosen = b;
              break;
            }
          }
          key += `${chosen},`;
          visit(chosen === -1 ? node.otherwise : (node.branches[chosen] as { body: Node[] }).body);
        }
      }
    };
    visit(this.program);
    return { values, key };
  }

  /**
   * This recipient's escaped value of each slot the combination uses, and the most bytes of the html's
   * JSON (the static bytes, and three per UTF-16 unit of each value as many times as it is used); undefined
   * when a value would split a surrogate pair at a boundary.
   */
  private escapedSlots({ combination, values }: Walk): { escaped: string[]; bytes: number } | undefined {
    const uses = combination.uses;
    const escaped: string[] = new Array(values.length);
    let bytes = combination.staticBytes;
    for (let slot = 0; slot < values.length; slot++) {
      const n = uses[slot] as number;
      if (n === 0) continue;
      const value = values[slot] as string;
      if (splitsSurrogates(value)) return undefined;
      const inner = jsonInner(value);
      escaped[slot] = inner;
      // A UTF-16 unit is at most 3 UTF-8 bytes.
      bytes += 3 * inner.length * n;
    }
    return { escaped, bytes };
  }

  private textTemplate(walk: Walk): TextTemplate | undefined {
    let template = this.texts.get(walk.key);
    if (template === undefined) {
      if (this.texts.size >= MAX_COMBINATIONS) return undefined;
      template = deriveText(walk.items, this.outs.length) ?? UNDERIVABLE;
      this.texts.set(walk.key, template);
    }
    return template === UNDERIVABLE ? undefined : template;
  }

  /**
   * The recipient's text from the derived template as SendEmail JSON (its shared list when every link
   * expands, else its own list of pieces), or undefined when a rule says htmlToText must decide.
   */
  private derivedText(
    walk: Walk,
  ):
    | { slots: SlottedPieces; json?: undefined; bytes: number }
    | { slots?: undefined; json: JsonPieces; bytes: number }
    | undefined {
    const template = this.textTemplate(walk);
    if (template === undefined || !shownAsTokens(walk.values)) return undefined;
    const slotted = this.fillSlotted(template, walk.values);
    return slotted === PIECE_BY_PIECE ? this.fillText(walk, false) : slotted;
  }

  /**
   * The recipient's text as its derived template's shared list and this recipient's text values (see
   * SlottedText): undefined when a rule says htmlToText must decide (as fillText would), PIECE_BY_PIECE
   * when an expanded link does not expand for these values (fillText then fills it as before).
   */
  private fillSlotted(
    template: TextTemplate,
    values: readonly (string | undefined)[],
  ): { slots: SlottedPieces; bytes: number } | undefined | typeof PIECE_BY_PIECE {
    const slotted = template.slotted;
    const n = values.length;
    const texts: (string | undefined)[] = new Array(slotted.uses.length);
    // The address pieces first: any link that does not expand changes the list.
    const addresses: (AddressPiece | undefined)[] = new Array(n);
    const addressSlots = slotted.addressSlots;
    for (let i = 0; i < addressSlots.length; i++) {
      const slot = addressSlots[i] as number;
      const address = addressPiece(values[slot] as string);
      if (address === undefined) return PIECE_BY_PIECE;
      addresses[slot] = address;
      texts[n + slot] = address.piece.json;
    }
    const expanded = slotted.expanded;
    for (let i = 0; i < expanded.length; i++) {
      const link = expanded[i] as SlottedText['expanded'][number];
      let once = link.expanded.onceLength;
      const pieces = link.expanded.pieces;
      for (let k = 0; k < pieces.length; k++) {
        const slot = pieces[k] as Static | number;
        if (typeof slot !== 'number') continue;
        const address = addresses[slot] as AddressPiece;
        if (link.quote === '"' ? address.dq : address.sq) return PIECE_BY_PIECE;
        once += address.once;
      }
      if (once === link.expanded.shownLength) return PIECE_BY_PIECE;
    }
    const quoted = slotted.quoted;
    for (let i = 0; i < quoted.length; i++) {
      const part = quoted[i] as TextValue;
      if ((values[part.value] as string).includes(part.quote as string)) return undefined;
    }
    const valueSlots = slotted.valueSlots;
    for (let i = 0; i < valueSlots.length; i++) {
      const slot = valueSlots[i] as number;
      const piece = textPiece(values[slot] as string);
      if (piece === NO_PIECE) return undefined;
      texts[slot] = piece.json;
    }
    const links = slotted.links;
    for (let i = 0; i < links.length; i++) {
      const inserted = fillLink(links[i] as Link, values);
      const piece = inserted === undefined || inserted.includes('<') ? NO_PIECE : textPiece(inserted);
      if (piece === NO_PIECE) return undefined;
      texts[2 * n + i] = piece.json;
    }
    let bytes = slotted.staticBytes;
    const uses = slotted.uses;
    for (let i = 0; i < texts.length; i++) {
      const text = texts[i];
      // A UTF-16 unit is at most 3 UTF-8 bytes.
      if (text !== undefined) bytes += 3 * text.length * (uses[i] as number);
    }
    return { slots: { pieces: slotted.pieces, values: texts }, bytes };
  }

  /**
   * The recipient's text from the derived template, or undefined when a rule says htmlToText must decide:
   * its JSON pieces, and with `withShown` the same pieces as shown (`shown[i]` is what `json[i]` escapes).
   * The render asks for the JSON pieces only when a link does not expand (else fillSlotted's shared list
   * serves), and fills again with `withShown` if something reads the text (the fill depends on the walk
   * alone): an email in flight holds at most one array, not two.
   */
  private fillText(
    walk: Walk,
    withShown: true,
  ): { shown: string[]; json: JsonPieces; bytes: number } | undefined;
  private fillText(walk: Walk, withShown: false): { json: JsonPieces; bytes: number } | undefined;
  private fillText(
    walk: Walk,
    withShown: boolean,
  ): { shown?: string[]; json: JsonPieces; bytes: number } | undefined {
    const template = this.textTemplate(walk);
    if (template === undefined || !shownAsTokens(walk.values)) return undefined;
    const values = walk.values;
    const parts = template.parts;
    // At their most pieces from the start, trimmed at the end: growing them one piece at a time made
    // several copies of each, and left slack that lived as long as the email.
    const json: JsonPieces = new Array(template.maxPieces);
    const shown: string[] | undefined = withShown ? new Array(template.maxPieces) : undefined;
    let bytes = 0;
    // What each slot's value shows as, and its escaped form: the same few values fill most outputs; and
    // the same as a piece of a link's address (null: it cannot be one).
    const filled: (TextPiece | undefined)[] = new Array(values.length);
    const addresses: (AddressPiece | null | undefined)[] = new Array(values.length);
    let j = 0;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i] as TextTemplate['parts'][number];
      if ('json' in part) {
        if (shown) shown[j] = part.text;
        json[j++] = part.json;
        bytes += part.json.length;
        continue;
      }
      let piece: TextPiece | undefined;
      if ('value' in part) {
        if (part.quote !== undefined && (values[part.value] as string).includes(part.quote)) return undefined;
        piece = filled[part.value];
        if (piece === undefined) {
          piece = textPiece(values[part.value] as string);
          filled[part.value] = piece;
        }
      } else {
        const link = part.link;
        const expanded = 'quote' in link ? link.expanded : undefined;
        if (expanded !== undefined) {
          // The address's length decoded once, and whether every value can be a piece of it.
          let once = expanded.onceLength;
          const pieces = expanded.pieces;
          for (let k = 0; k < pieces.length && once !== -1; k++) {
            const slot = pieces[k] as Static | number;
            if (typeof slot !== 'number') continue;
            let address = addresses[slot];
            if (address === undefined) {
              address = addressPiece(values[slot] as string) ?? null;
              addresses[slot] = address;
            }
            if (address === null || ((link as { quote: string }).quote === '"' ? address.dq : address.sq))
              once = -1;
            else once += address.once;
          }
          if (once !== -1 && once !== expanded.shownLength) {
            if (shown) shown[j] = expanded.head.text;
            json[j++] = expanded.head.json;
            bytes += expanded.head.json.length;
            for (let k = 0; k < pieces.length; k++) {
              const p = pieces[k] as Static | number;
              if (typeof p === 'number') {
                const address = (addresses[p] as AddressPiece).piece;
                if (shown) shown[j] = address.shown;
                json[j++] = address.json;
                bytes += 3 * address.json.length;
              } else {
                if (shown) shown[j] = p.text;
                json[j++] = p.json;
                bytes += p.json.length;
              }
            }
            if (shown) shown[j] = ')';
            json[j++] = LINK_TAIL.json;
            bytes += 1;
            continue;
          }
        }
        const inserted = fillLink(link, values);
        piece = inserted === undefined || inserted.includes('<') ? NO_PIECE : textPiece(inserted);
      }
      if (piece === NO_PIECE) return undefined;
      if (shown) shown[j] = piece.shown;
      json[j++] = piece.json;
      bytes += 3 * piece.json.length;
    }
    json.length = j;
    if (shown === undefined) return { json, bytes };
    shown.length = j;
    return { shown, json, bytes };
  }

  /** The safety net found a difference: htmlToText makes every text of this template from now on. */
  disableDerivation(): void {
    this.derivation = false;
  }

  /** The safety net found JSON pieces that differ from JSON.stringify: transports escape it themselves. */
  disableJson(): void {
    this.jsonSafe = false;
  }
}

/** Whether no value the walk met (each slot once: the same value wherever its output is) holds a `<` or
 * `>`, which htmlToText could read as markup where it read the token as text. */
function shownAsTokens(values: readonly (string | undefined)[]): boolean {
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (value !== undefined && (value.includes('<') || value.includes('>'))) return false;
  }
  return true;
}

/** What the link pass makes of a link filled with this recipient's values (by slot). */
function fillLink(link: Link, values: readonly (string | undefined)[]): string | undefined {
  if ('span' in link) {
    let span = '';
    for (const piece of link.span) span += typeof piece === 'number' ? values[piece] : piece;
    return linkSpanText(span);
  }
  let href = '';
  for (const piece of link.href) {
    if (typeof piece === 'string') href += piece;
    else {
      const value = values[piece] as string;
      if (value.includes(link.quote)) return undefined;
      href += value;
    }
  }
  return linkTextOf(href, link.label);
}

/**
 * What an inserted value (or a link's text) becomes in the text part when the rules hold: decoded, and
 * undefined when it is empty, ends in a partial entity, or has whitespace other than single inner spaces.
 */
function textValue(inserted: string): string | undefined {
  if (inserted === '' || endsInPartialEntity(inserted)) return undefined;
  const shown = inserted.includes('&') ? decodeEntities(inserted) : inserted;
  const n = shown.length;
  if (n === 0 || isSpace(shown.charCodeAt(0)) || isSpace(shown.charCodeAt(n - 1))) return undefined;
  for (let i = 1; i < n - 1; i++) {
    const c = shown.charCodeAt(i);
    if (c < 0x21 || c >= 0xa0) {
      if (!isSpace(c)) continue;
      if (c !== 32 || isSpace(shown.charCodeAt(i - 1)) || isSpace(shown.charCodeAt(i + 1))) return undefined;
    }
  }
  return shown;
}

/**
 * Whether s ends in what could be the start of an entity: PARTIAL_ENTITY.test(s), as a scan back from the
 * last `&` (no `&` is in the class after it, so only the last one can start the match).
 */
export function endsInPartialEntity(s: string): boolean {
  const at = s.lastIndexOf('&');
  if (at === -1) return false;
  for (let i = at + 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // [#0-9a-z] under the i flag (no u flag: A-Z, nothing outside ASCII).
    if (!(c === 35 || (c >= 48 && c <= 57) || (c >= 97 && c <= 122) || (c >= 65 && c <= 90))) return false;
  }
  return true;
}

/** A value or link text as it goes into the text part: shown and JSON-escaped, or NO_PIECE (the rules say
 * htmlToText must decide). */
interface TextPiece {
  shown: string;
  json: string;
}
const NO_PIECE: TextPiece = { shown: '', json: '' };

function textPiece(inserted: string): TextPiece {
  const shown = textValue(inserted);
  if (shown === undefined || splitsSurrogates(shown)) return NO_PIECE;
  return { shown, json: jsonInner(shown) };
}

/**
 * The derived text template of one combination's pieces (outputs by slot), or undefined when the rules
 * rule it out. Tokens number the outputs in the order the walk met them (the rules are about each one);
 * the template refers to their slots.
 */
function deriveText(items: readonly (Static | number)[], slots: number): TextTemplate | undefined {
  let html = '';
  const slotOf: number[] = [];
  for (const item of items) {
    if (typeof item === 'number') html += token(VALUE_START, slotOf.push(item) - 1);
    else html += item.text;
  }
  const outputs = slotOf.length;
  if (outputs >= MAX_TOKENS) return undefined;
  // htmlToText's first passes, done here so links can be found as its link pass finds them; doing them
  // again inside htmlToText must change nothing.
  let shown = html.includes('<!--') ? html.replace(/<!--[\s\S]*?-->/g, '') : html;
  if (shown.includes('<!--')) return undefined;
  shown = removeNeverShown(shown);
  if (NEVER_SHOWN.test(shown)) return undefined;
  // Links holding an output become one token each.
  const links: Link[] = [];
  let withLinks = '';
  let from = 0;
  for (const { start, end } of linkSpans(shown)) {
    const span = shown.slice(start, end);
    if (!span.includes(String.fromCharCode(VALUE_START))) continue;
    if (links.length >= MAX_TOKENS) return undefined;
    withLinks += shown.slice(from, start) + token(LINK_START, links.length);
    links.push(linkOf(span, slotOf));
    from = end;
  }
  withLinks += shown.slice(from);
  const derived = htmlToText(withLinks);
  // Read the tokens back: each link exactly once; each output at most once, and if not at all, inside
  // a tag whose treatment ignores its attributes.
  const parts: TextTemplate['parts'] = [];
  const seenValues = new Map<number, TextValue>();
  const seenLinks = new Set<number>();
  let at = 0;
  for (let i = 0; i < derived.length; i++) {
    const c = derived.charCodeAt(i);
    if (c !== VALUE_START && c !== LINK_START) continue;
    const before = derived.slice(at, i);
    // (Two tokens in a row are fine: a value never ends in a partial entity, see textValue.)
    if (before !== '') parts.push(staticOf(before));
    if (PARTIAL_ENTITY.test(before)) return undefined;
    const n = derived.charCodeAt(i + 1) - DIGIT_LOW + ((derived.charCodeAt(i + 2) - DIGIT_HIGH) << 8);
    if (derived.charCodeAt(i + 3) !== TOKEN_END) return undefined;
    if (c === VALUE_START) {
      if (seenValues.has(n)) return undefined;
      const slot = slotOf[n];
      if (slot === undefined) return undefined;
      const part: TextValue = { value: slot };
      seenValues.set(n, part);
      parts.push(part);
    } else {
      if (seenLinks.has(n)) return undefined;
      seenLinks.add(n);
      const link = links[n];
      if (link === undefined) return undefined;
      parts.push({ link });
    }
    i += 3;
    at = i + 1;
  }
  if (at < derived.length) parts.push(staticOf(derived.slice(at)));
  if (seenLinks.size !== links.length) return undefined;
  let maxPieces = 0;
  for (const part of parts) {
    const expanded = 'link' in part && 'quote' in part.link ? part.link.expanded : undefined;
    // An expanded link is its head, its address's pieces and `)`; filled as before, one piece.
    maxPieces += expanded === undefined ? 1 : expanded.pieces.length + 2;
  }
  // Outputs in the text must not be inside a tag but an image's alt text; outputs not in it must be in a
  // tag that ignores them.
  for (let at2 = withLinks.indexOf(String.fromCharCode(VALUE_START)); at2 !== -1; ) {
    const n = withLinks.charCodeAt(at2 + 1) - DIGIT_LOW + ((withLinks.charCodeAt(at2 + 2) - DIGIT_HIGH) << 8);
    const open = withLinks.lastIndexOf('<', at2);
    const inTag = open > withLinks.lastIndexOf('>', at2);
    const part = seenValues.get(n);
    if (part !== undefined && inTag) {
      const quote = altQuote(withLinks, open, at2);
      if (quote === undefined) return undefined;
      part.quote = quote;
    } else if (part === undefined && (!inTag || !ignoresAttributes(withLinks, at2))) return undefined;
    at2 = withLinks.indexOf(String.fromCharCode(VALUE_START), at2 + 4);
  }
  return { parts, maxPieces, slotted: slottedText(parts, slots) };
}

/**
 * The quote of the alt text that the output token at `at` is inside, when the tag starting at `open` is an
 * image and `at` is inside the alt text htmlToText takes from it (`<img alt="{{ company }} logo">`): a
 * value without that quote, `<` or `>` is then that text's as the token was. Otherwise undefined.
 */
function altQuote(s: string, open: number, at: number): '"' | "'" | undefined {
  if (!/^<img(?![A-Za-z0-9_])/i.test(s.slice(open, open + 5))) return undefined;
  const span = imgAltSpan(s, open, s.indexOf('>', at));
  return span && span.start <= at && at + 4 <= span.end ? span.quote : undefined;
}

/** A link span with tokens in it, as a Link (its outputs by slot). */
function linkOf(span: string, slotOf: number[]): Link {
  const groups = linkSpanGroups(span);
  const tokens = (s: string | undefined) =>
    s === undefined ? 0 : s.split(String.fromCharCode(VALUE_START)).length - 1;
  const inSpan = tokens(span);
  for (const [quote, href] of [
    ['"', groups?.dq],
    ["'", groups?.sq],
  ] as const) {
    if (href === undefined || tokens(href) !== inSpan) continue;
    const pieces = splitTokens(href, slotOf);
    const label = linkLabel((groups as { inner: string }).inner);
    return { quote, href: pieces, label, expanded: expandLink(pieces, label) };
  }
  return { span: splitTokens(span, slotOf) };
}

/** A text with its output tokens as their outputs' slots. */
function splitTokens(span: string, slotOf: number[]): (string | number)[] {
  const pieces: (string | number)[] = [];
  let from = 0;
  for (let i = span.indexOf(String.fromCharCode(VALUE_START)); i !== -1; ) {
    if (from < i) pieces.push(span.slice(from, i));
    pieces.push(
      slotOf[span.charCodeAt(i + 1) - DIGIT_LOW + ((span.charCodeAt(i + 2) - DIGIT_HIGH) << 8)] as number,
    );
    from = i + 4;
    i = span.indexOf(String.fromCharCode(VALUE_START), from);
  }
  if (from < span.length) pieces.push(span.slice(from));
  return pieces;
}

/**
 * Whether the tag around position `at` has its name complete (followed by whitespace) before `at`, and
 * is one htmlToText turns into the same text whatever its attributes say.
 */
function ignoresAttributes(s: string, at: number): boolean {
  let j = s.lastIndexOf('<', at) + 1;
  if (s.charCodeAt(j) === 47) j++;
  const start = j;
  while (j < at && /[a-z0-9]/i.test(s.charAt(j))) j++;
  if (j === start || !/[a-z]/i.test(s.charAt(start)) || j >= at || !isSpace(s.charCodeAt(j))) return false;
  return !ATTRIBUTE_DEPENDENT.has(s.slice(start, j).toLowerCase());
}
