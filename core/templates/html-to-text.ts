/**
 * A plain-text part from rendered HTML, for templates that have none: mail clients that show text, spam
 * filters that score HTML-only mail, and screen readers all read it. Dependency-free and deliberately
 * simple: blocks become lines, links keep their address, lists get bullets, entities are decoded.
 *
 * The rules are defined by a sequence of regex passes (`regexPasses` below, kept as the fallback). It runs
 * once per recipient, so the hot path does the same work as a scanner that visits each `<` once and then
 * one line-normalising loop: under a third of the cost (bench/html-to-text-micro.ts). Where the passes
 * interact in ways a single scan cannot follow (a `<` inside a tag, a link whose text or address still
 * holds a `<`, a link around a never-shown element or doctype, a quoted alt that spans a `>`), the
 * scanner gives up and the regex passes produce the answer, so the output is the same for every input
 * (test/unit/html-to-text.test.ts checks it against the old implementation).
 */

const NAMED: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
  copy: '©',
  reg: '®',
  trade: '™',
  hellip: '…',
  mdash: '—',
  ndash: '–',
  lsquo: '‘',
  rsquo: '’',
  ldquo: '“',
  rdquo: '”',
  bull: '•',
  middot: '·',
  euro: '€',
  pound: '£',
};

/** An entity's replacement (the name or number between `&` and `;`), or `whole` when it names nothing. */
function entityText(whole: string, entity: string): string {
  // The one entity escaped output is full of (every & in an address), without lower-casing it.
  if (entity === 'amp') return '&';
  if (entity[0] === '#') {
    const code =
      entity[1] === 'x' || entity[1] === 'X'
        ? Number.parseInt(entity.slice(2), 16)
        : Number.parseInt(entity.slice(1), 10);
    return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  }
  return NAMED[entity.toLowerCase()] ?? whole;
}

const isDigit = (c: number) => c >= 48 && c <= 57;
const isHexDigit = (c: number) => isDigit(c) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
const isLetter = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90);

/**
 * Where the entity starting at the `&` at `at` ends (the index after its `;`), or -1: where
 * /&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/i matches there. Each alternative's run is greedy and cannot hold a
 * `;`, so an alternative matches only when its longest run is followed by `;`, and `#x` is never digits.
 */
function entityEnd(text: string, at: number): number {
  let i = at + 1;
  let run = isLetter;
  if (text.charCodeAt(i) === 35 /* # */) {
    i++;
    const x = text.charCodeAt(i);
    if ((x === 120 || x === 88) /* x X */ && isHexDigit(text.charCodeAt(i + 1))) {
      i++;
      run = isHexDigit;
    } else run = isDigit;
  }
  const start = i;
  while (i < text.length && run(text.charCodeAt(i))) i++;
  return i > start && text.charCodeAt(i) === 59 /* ; */ ? i + 1 : -1;
}

/**
 * HTML entities decoded: what text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, entityText) gives (the
 * definition; test/unit/html-to-text.test.ts holds the two equal on generated text), as a scan from one
 * `&` to the next instead of a regex replace with a callback: it runs on every link of every email's
 * text part.
 */
export function decodeEntities(text: string): string {
  let at = text.indexOf('&');
  // Most text has no entity at all.
  if (at === -1) return text;
  let out = '';
  let from = 0;
  while (at !== -1) {
    const end = entityEnd(text, at);
    if (end === -1) {
      at = text.indexOf('&', at + 1);
      continue;
    }
    const whole = text.slice(at, end);
    out += text.slice(from, at) + entityText(whole, whole.slice(1, -1));
    from = end;
    at = text.indexOf('&', end);
  }
  return from === 0 ? text : out + text.slice(from);
}

const BLOCK =
  /^(p|div|section|article|header|footer|main|aside|nav|table|thead|tbody|tfoot|tr|blockquote|pre|ul|ol|dl|dt|dd|h[1-6]|hr|form|fieldset|address|figure|figcaption|center)$/i;
/**
 * A tag name of up to 10 letters and digits as one number, base 37 (letters 1-26 either case, digits
 * 27-36): exact below 2^53, so the scanner compares names without making strings.
 */
function nameKey(name: string): number {
  let key = 0;
  for (const ch of name) {
    const c = ch.charCodeAt(0);
    key = key * 37 + (c >= 48 && c <= 57 ? c - 21 : (c | 0x20) - 96);
  }
  return key;
}
/**
 * The keys of BLOCK's names in an open-addressed table with no collisions (key % size picks the slot),
 * which answers "is this key a block name?" quicker than a Set of keys.
 */
const BLOCK_SLOTS = (() => {
  const keys = BLOCK.source.slice(2, -2).replace('h[1-6]', 'h1|h2|h3|h4|h5|h6').split('|').map(nameKey);
  for (let size = keys.length; ; size++) {
    const slots = new Float64Array(size).fill(-1);
    let collided = false;
    for (const key of keys) {
      if (slots[key % size] !== -1) collided = true;
      slots[key % size] = key;
    }
    if (!collided) return slots;
  }
})();
const KEY_IMG = nameKey('img');
const KEY_BR = nameKey('br');
const KEY_LI = nameKey('li');
const KEY_TD = nameKey('td');
const KEY_TH = nameKey('th');

const LINK = /<a\b[^>]*?\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))[^>]*>([\s\S]*?)<\/a\s*>/gi;
/** The same pattern, matching only where lastIndex points: the scanner asks "is there a link here?". */
const LINK_HERE = new RegExp(LINK.source, 'iy');

/** What a link becomes: its visible text, and the address after it unless the text already says it. */
export function linkText(
  dq: string | undefined,
  sq: string | undefined,
  bare: string | undefined,
  inner: string,
) {
  return linkTextOf(dq ?? sq ?? bare ?? '', linkLabel(inner));
}

/** A link's visible text, as linkText reads it from the link's inner HTML (what a caller may keep). */
export function linkLabel(inner: string): { label: string; shown: string } {
  const label = inner.replace(/<[^>]+>/g, '').trim();
  return { label, shown: decodeEntities(label).replace(/\s+/g, ' ') };
}

/** linkText, for the href attribute's raw value and the link's label. */
export function linkTextOf(rawHref: string, { label, shown }: { label: string; shown: string }) {
  const href = decodeEntities(rawHref.trim());
  if (!href || href.startsWith('#') || /^javascript:/i.test(href)) return label;
  // (Only an address starting with m or M can start with mailto:, so the others skip the regex.)
  const first = href.charCodeAt(0) | 0x20;
  const target = first === 109 /* m */ ? href.replace(/^mailto:/i, '') : href;
  if (!shown || shown === href || shown === target) return href;
  return `${label} (${href})`;
}

/** The first pass of the definition: content that is never shown as text. */
export function removeNeverShown(html: string): string {
  return html
    .replace(/<(head|style|script|title|noscript|template)\b[\s\S]*?<\/\1\s*>/gi, '')
    .replace(/<!doctype[^>]*>/gi, '');
}

/** Each link of s (the second pass's matches, left to right): where it starts and ends. */
export function linkSpans(s: string): { start: number; end: number }[] {
  const spans: { start: number; end: number }[] = [];
  for (const m of s.matchAll(LINK)) spans.push({ start: m.index, end: m.index + m[0].length });
  return spans;
}

/** The link pass's groups for `span` when the whole of it is one link, else undefined. */
export function linkSpanGroups(
  span: string,
): { dq: string | undefined; sq: string | undefined; bare: string | undefined; inner: string } | undefined {
  LINK_HERE.lastIndex = 0;
  const m = LINK_HERE.exec(span);
  if (m === null || LINK_HERE.lastIndex !== span.length) return undefined;
  return { dq: m[1], sq: m[2], bare: m[3], inner: m[4] ?? '' };
}

/** What the link pass makes of `span` when the whole of it is one link, else undefined. */
export function linkSpanText(span: string): string | undefined {
  const m = linkSpanGroups(span);
  return m === undefined ? undefined : linkText(m.dq, m.sq, m.bare, m.inner);
}

/** The definition: every pass after comments are gone, then entities and lines. */
function regexPasses(html: string): string {
  // Content that is never shown as text.
  let s = removeNeverShown(html);
  s = s.replace(LINK, (_whole, dq, sq, bare, inner: string) => linkText(dq, sq, bare, inner));
  s = s
    .replace(
      /<img\b[^>]*?\balt\s*=\s*(?:"([^"]*)"|'([^']*)')[^>]*>/gi,
      (_w, a: string, b: string) => a ?? b ?? '',
    )
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<li\b[^>]*>/gi, '\n• ')
    .replace(/<\/(td|th)\s*>/gi, ' ')
    .replace(/<\/?([a-z][a-z0-9]*)\b[^>]*>/gi, (_whole, tag: string) => (BLOCK.test(tag) ? '\n\n' : ''))
    .replace(/<[^>]*>/g, '');
  s = decodeEntities(s);
  return s
    .split('\n')
    .map((line) => line.replace(/[ \t\f\v\u00a0]+/g, ' ').trim())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

export function htmlToText(html: string): string {
  // Comments go first, as in the regex passes: what is left of a tag around one is read as joined.
  const s = html.includes('<!--') ? html.replace(/<!--[\s\S]*?-->/g, '') : html;
  // Rendered HTML is a rope of concatenated pieces; the scanner reads it a character at a time, about
  // twice as fast from a flat copy (join makes one, for ~0.1 us).
  const flatHtml = [s, ''].join('');
  const flat = tagsToText(flatHtml);
  if (flat === undefined) return regexPasses(flatHtml);
  return normaliseLines(flat.includes('&') ? decodeEntities(flat) : flat);
}

// ---- the scanner ----------------------------------------------------------------------------------

/** [A-Za-z0-9_], what a regex \b looks at. */
function isWordChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95;
}

function isAsciiLetter(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
}

/** The regex \s set, which is also what String.prototype.trim removes. */
export function isSpace(c: number): boolean {
  if (c <= 32) return c === 32 || (c >= 9 && c <= 13);
  if (c < 0xa0) return false;
  return (
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

/** Whether s has `name` (lowercase ASCII letters and digits) at `at`, ASCII case-insensitively as a regex /i does. */
function nameAt(s: string, at: number, name: string): boolean {
  if (at + name.length > s.length) return false;
  for (let k = 0; k < name.length; k++) {
    if ((s.charCodeAt(at + k) | 0x20) !== name.charCodeAt(k)) return false;
  }
  return true;
}

const SKIPPED = ['head', 'style', 'script', 'title', 'noscript', 'template'];

/**
 * Where `<(head|style|script|title|noscript|template)\b[\s\S]*?<\/\1\s*>` matching at p ends: -1 when
 * there is no such element there, or it never closes.
 */
function skippedElementEnd(s: string, p: number): number {
  const name = skippedNameAt(s, p);
  return name === undefined ? -1 : closingTagEnd(s, p + 1 + name.length, name);
}

/** The skipped element whose `<name\b` is at p, if any. */
function skippedNameAt(s: string, p: number): string | undefined {
  // Only h, n, s and t start one: most tags are passed over on one compare.
  const first = s.charCodeAt(p + 1) | 0x20;
  if (first !== 104 && first !== 110 && first !== 115 && first !== 116) return undefined;
  for (const name of SKIPPED) {
    const after = p + 1 + name.length;
    if (nameAt(s, p + 1, name) && !(after < s.length && isWordChar(s.charCodeAt(after)))) return name;
  }
  return undefined;
}

/** The end of the first `</name\s*>` at or after `from`, or -1. */
function closingTagEnd(s: string, from: number, name: string): number {
  for (let q = s.indexOf('</', from); q !== -1; q = s.indexOf('</', q + 1)) {
    if (!nameAt(s, q + 2, name)) continue;
    let j = q + 2 + name.length;
    while (j < s.length && isSpace(s.charCodeAt(j))) j++;
    if (s.charCodeAt(j) === 62) return j + 1;
  }
  return -1;
}

/**
 * The link, img, br, li, td/th and tag passes in one walk from `<` to `<`: the text before entities are
 * decoded, or undefined when the input needs the regex passes (see the module comment).
 */
function tagsToText(s: string): string | undefined {
  const parts: string[] = [];
  let i = 0;
  let p = s.indexOf('<');
  while (p !== -1) {
    if (i < p) parts.push(s.slice(i, p));
    // Never-shown elements, removed before any other pass looks.
    const end = skippedElementEnd(s, p);
    if (end !== -1) {
      i = end;
      p = s.indexOf('<', end);
      continue;
    }
    const c1 = s.charCodeAt(p + 1);
    if (c1 === 97 || c1 === 65) {
      LINK_HERE.lastIndex = p;
      const m = LINK_HERE.exec(s);
      if (m !== null) {
        // The link pass ran after never-shown elements and doctypes were gone; one inside changes the link.
        if (removedEarlierWithin(s, p + 1, LINK_HERE.lastIndex)) return undefined;
        const text = linkText(m[1], m[2], m[3], m[4] ?? '');
        // Later passes would read a `<` in the link's text as the start of a tag.
        if (text.includes('<')) return undefined;
        parts.push(text);
        i = LINK_HERE.lastIndex;
        p = s.indexOf('<', i);
        continue;
      }
    }
    const g = s.indexOf('>', p + 1);
    // No `>` left: no tag can end, the rest is text.
    if (g === -1) {
      i = p;
      break;
    }
    const next = s.indexOf('<', p + 1);
    // A `<` inside the tag: each pass would cut this span differently.
    if (next !== -1 && next < g) return undefined;
    const replaced = tagText(s, p, g);
    if (replaced === undefined) return undefined;
    if (replaced !== '') parts.push(replaced);
    i = g + 1;
    p = next;
  }
  parts.push(s.slice(i));
  // join, unlike +=, leaves one flat string for normaliseLines to read.
  return parts.join('');
}

/**
 * Whether s[from..to) has the start of something the earlier passes removed: a never-shown element
 * (closed or not, to keep this simple) or `<!` (a doctype).
 */
function removedEarlierWithin(s: string, from: number, to: number): boolean {
  for (let q = s.indexOf('<', from); q !== -1 && q < to; q = s.indexOf('<', q + 1)) {
    if (s.charCodeAt(q + 1) === 33 || skippedNameAt(s, q) !== undefined) return true;
  }
  return false;
}

/** What the tag from `<` at p to the first `>` at g becomes, the first pass that matches deciding. */
function tagText(s: string, p: number, g: number): string | undefined {
  let j = p + 1;
  const closing = s.charCodeAt(j) === 47;
  if (closing) j++;
  if (!isAsciiLetter(s.charCodeAt(j))) return '';
  // The name `[a-z][a-z0-9]*`, as a number (see nameKey) while it is short enough to be one we know.
  let key = 0;
  let k = j;
  for (; k < g; k++) {
    const c = s.charCodeAt(k);
    if (isAsciiLetter(c)) key = key * 37 + ((c | 0x20) - 96);
    else if (c >= 48 && c <= 57) key = key * 37 + (c - 21);
    else break;
  }
  // `[a-z][a-z0-9]*\b` cannot end before a `_`: only the catch-all `<[^>]*>` removes this tag.
  if (s.charCodeAt(k) === 95) return '';
  if (k - j > 10) return '';
  if (!closing) {
    if (key === KEY_IMG) {
      const alt = imgAlt(s, p, g);
      return alt === null ? '' : alt;
    }
    if (key === KEY_BR) {
      let m = k;
      while (isSpace(s.charCodeAt(m))) m++;
      if (s.charCodeAt(m) === 47) m++;
      if (m === g) return '\n';
    }
    if (key === KEY_LI) return '\n• ';
  } else if (key === KEY_TD || key === KEY_TH) {
    let m = k;
    while (isSpace(s.charCodeAt(m))) m++;
    if (m === g) return ' ';
  }
  return BLOCK_SLOTS[key % BLOCK_SLOTS.length] === key ? '\n\n' : '';
}

/**
 * The alt text of `<img ...>` (p..g) as `\balt\s*=\s*(?:"([^"]*)"|'([^']*)')` finds it, null when the
 * pattern does not match, undefined when a quoted value does not close before g (the regex would read on
 * past the `>`, through text that earlier passes may have changed).
 */
function imgAlt(s: string, p: number, g: number): string | null | undefined {
  const span = imgAltSpan(s, p, g);
  return span === null || span === undefined ? span : s.slice(span.start, span.end);
}

/** Where imgAlt's text is in s (between its quotes), with the same null and undefined. */
export function imgAltSpan(
  s: string,
  p: number,
  g: number,
): { start: number; end: number; quote: '"' | "'" } | null | undefined {
  for (let k = p + 4; k < g; k++) {
    if (!nameAt(s, k, 'alt') || isWordChar(s.charCodeAt(k - 1))) continue;
    let j = k + 3;
    while (isSpace(s.charCodeAt(j))) j++;
    if (s.charCodeAt(j) !== 61) continue;
    j++;
    while (isSpace(s.charCodeAt(j))) j++;
    const q = s.charCodeAt(j);
    if (q !== 34 && q !== 39) continue;
    const close = s.indexOf(q === 34 ? '"' : "'", j + 1);
    if (close === -1 || close > g) return undefined;
    return { start: j + 1, end: close, quote: q === 34 ? '"' : "'" };
  }
  return null;
}

/** [ \t\f\v\u00a0], the characters a run of which becomes one space inside a line. */
function isCollapsible(c: number): boolean {
  return c === 32 || c === 9 || c === 12 || c === 11 || c === 0xa0;
}

/**
 * Lines as split/map/join, `\n{3,}` -> `\n\n` and trim() made them: each line trimmed with its runs of
 * blanks made one space, at most one empty line in a row, none at either end. One walk that copies the
 * text in slices: a line's text up to each gap that is not a single space.
 */
function normaliseLines(d: string): string {
  let out = '';
  // The current line's text not yet copied is d[copied..last], -1 while the line has no text; newlines
  // counts line ends since the last line with text.
  let copied = -1;
  let last = -1;
  let newlines = 0;
  const n = d.length;
  let i = 0;
  while (i < n) {
    const c = d.charCodeAt(i);
    if (c === 10) {
      if (copied !== -1) out += d.slice(copied, last + 1);
      copied = -1;
      newlines++;
      i++;
      continue;
    }
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (copied === -1) {
      if (out.length > 0) out += newlines >= 2 ? '\n\n' : '\n';
      newlines = 0;
      copied = i;
    } else if (last + 1 < i && !(last + 2 === i && d.charCodeAt(last + 1) === 32)) {
      out += d.slice(copied, last + 1) + collapseBlanks(d, last + 1, i);
      copied = i;
    }
    // The rest of the word: printable ASCII needs no look at the rules.
    i++;
    while (i < n) {
      const w = d.charCodeAt(i);
      if (w <= 32 || w >= 0xa0) break;
      i++;
    }
    last = i - 1;
  }
  if (copied !== -1) out += d.slice(copied, last + 1);
  return out;
}

/** d[a..b) with each run of [ \t\f\v\u00a0] replaced by one space. */
function collapseBlanks(d: string, a: number, b: number): string {
  let out = '';
  let from = a;
  for (let j = a; j < b; j++) {
    const c = d.charCodeAt(j);
    if (!isCollapsible(c)) continue;
    let k = j + 1;
    while (k < b && isCollapsible(d.charCodeAt(k))) k++;
    if (k - j > 1 || c !== 32) {
      out += d.slice(from, j) + ' ';
      from = k;
    }
    j = k - 1;
  }
  return from === a ? d.slice(a, b) : out + d.slice(from, b);
}
