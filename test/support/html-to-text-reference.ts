// The htmlToText implementation before the single-pass rewrite, copied verbatim: the differential test in
// test/unit/html-to-text.test.ts checks the rewrite against it on generated and real inputs.

/**
 * A plain-text part from rendered HTML, for templates that have none: mail clients that show text, spam
 * filters that score HTML-only mail, and screen readers all read it. Dependency-free and deliberately
 * simple: blocks become lines, links keep their address, lists get bullets, entities are decoded.
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

export function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, entity: string) => {
    if (entity[0] === '#') {
      const code =
        entity[1] === 'x' || entity[1] === 'X'
          ? Number.parseInt(entity.slice(2), 16)
          : Number.parseInt(entity.slice(1), 10);
      return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return NAMED[entity.toLowerCase()] ?? whole;
  });
}

const BLOCK =
  /^(p|div|section|article|header|footer|main|aside|nav|table|thead|tbody|tfoot|tr|blockquote|pre|ul|ol|dl|dt|dd|h[1-6]|hr|form|fieldset|address|figure|figcaption|center)$/i;

export function htmlToText(html: string): string {
  let s = html
    // Content that is never shown as text.
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/<(head|style|script|title|noscript|template)\b[\s\S]*?<\/\1\s*>/gi, '')
    .replace(/<!doctype[^>]*>/gi, '');
  // Links: keep the visible text and show the address after it, unless it says the same thing.
  s = s.replace(
    /<a\b[^>]*?\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))[^>]*>([\s\S]*?)<\/a\s*>/gi,
    (_whole, dq: string | undefined, sq: string | undefined, bare: string | undefined, inner: string) => {
      const href = decodeEntities((dq ?? sq ?? bare ?? '').trim());
      const label = inner.replace(/<[^>]+>/g, '').trim();
      const shown = decodeEntities(label).replace(/\s+/g, ' ');
      if (!href || href.startsWith('#') || /^javascript:/i.test(href)) return label;
      const target = href.replace(/^mailto:/i, '');
      if (!shown || shown === href || shown === target) return href;
      return `${label} (${href})`;
    },
  );
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
