import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeEntities, htmlToText } from '../../core/templates/html-to-text.ts';
import { compileTemplate, renderTemplate } from '../../core/templates/render.ts';
import {
  htmlToText as reference,
  decodeEntities as referenceDecode,
} from '../support/html-to-text-reference.ts';
import { type Seeded, seeded } from '../support/seeded.ts';

/** The expected text, and the old implementation agreeing with it (so the example itself is right). */
function expectText(html: string, text: string) {
  expect(reference(html)).toBe(text);
  expect(htmlToText(html)).toBe(text);
}

describe('htmlToText rules', () => {
  it('makes blocks paragraphs, br a line break, li a bullet and td/th ends a space', () => {
    expectText('<p>One</p><P>Two</P><h1>Three</h1><div>Four</div>', 'One\n\nTwo\n\nThree\n\nFour');
    expectText('a<br>b<BR/>c<br />d', 'a\nb\nc\nd');
    expectText('<ul><li>One<LI class="x">Two</ul>', '• One\n• Two');
    expectText('<table><tr><td>A</td><td>B</td><th>C</th ></tr></table>', 'A B C');
  });

  it('keeps the odd corners of the old rules', () => {
    // A br with attributes is an unknown inline tag, so no line break.
    expectText('d<br clear="all">e', 'de');
    // Tag names end at the first character that is not a letter or digit; `_` makes it no tag name at all.
    expectText('<my_tag>a</my_tag><p-x>b</p-x>', 'a\n\nb');
    // A tag ends at its first `>`, quoted or not.
    expectText('<div title="a>b">text</div>', 'b">text');
    // A `<` with a `>` somewhere after it starts a tag; without one it is text.
    expectText('a < b and c > d', 'a d');
    expectText('x < y', 'x < y');
    // Entities are decoded after the tags are gone: decoded `<b>` stays, and an entity can span a tag.
    expectText('&lt;b&gt;bold&lt;/b&gt;', '<b>bold</b>');
    expectText('&am<b></b>p;', '&');
  });

  it('keeps the old answer where the passes interact (the scanner hands these to the regex passes)', () => {
    // The decoded address is `<i>x`, which the tag pass then removes.
    expectText('<a href="&lt;i&gt;x">y</a> z', 'y (x) z');
    // A tag ends at its first `>`, quoted or not: the tag is `<p title="<b>`.
    expectText('<p title="<b>">t</p>', '">t');
    // A quoted alt runs on past the `>`.
    expectText('<img alt="a>b">c', 'a>bc');
    // A stray `<` swallows everything to the next `>` left once the tags between are gone, a link's too.
    expectText('a < b <p>c</p> d > e', 'a e');
    expectText('<a href=x>1 < 2</a> >', '1');
  });

  it('drops what is never shown: head, style, script, title, noscript, template, comments, doctype', () => {
    expectText(
      '<!DOCTYPE html><head><title>T</title></head><STYLE>p{}</style><script src="x">alert(1)</SCRIPT >' +
        '<noscript>n</noscript><template>t</template><!-- note -->shown',
      'shown',
    );
    expectText('<!-- hidden --><p>a<!-- <b> -->b</p>', 'ab');
    // An element that never closes is not skipped: only its tags go.
    expectText('<script>never closed <p>still shown</p>', 'never closed\n\nstill shown');
  });

  it('shows a link as its text and address, or just one when the other says nothing more', () => {
    expectText('<a href="https://x.example/u">Unsubscribe</a>', 'Unsubscribe (https://x.example/u)');
    expectText("<a href='https://x.example'>https://x.example</a>", 'https://x.example');
    expectText('<a href=https://x.example/bare>Bare</a>', 'Bare (https://x.example/bare)');
    expectText('<a HREF = "mailto:ann@x.example">ann@x.example</a>', 'mailto:ann@x.example');
    expectText('<a href="mailto:ann@x.example">Write</a>', 'Write (mailto:ann@x.example)');
    expectText('<a href="https://x.example"></a>', 'https://x.example');
    expectText('<a href="https://x.example/?a=1&amp;b=2">Link</a>', 'Link (https://x.example/?a=1&b=2)');
    expectText('<a href="https://x.example"><img alt="Logo"><b> Home </b></a>', 'Home (https://x.example)');
  });

  it('shows only the text of anchors, script links, empty links and anchors without href', () => {
    expectText(
      '<a href="#top">Top</a> <a href="javascript:void(0)">Click</a> <a href="">Empty</a>',
      'Top Click Empty',
    );
    expectText('<a name="anchor">Not a link</a>', 'Not a link');
  });

  it('shows quoted image alt text', () => {
    expectText(
      '<img src="a.png" alt="A &amp; B"><img alt=\'single\'><img alt=bare><img src="x.png">',
      'A & Bsingle',
    );
  });

  it('decodes named and numeric entities and leaves unknown or out-of-range ones', () => {
    expectText(
      '&amp;amp; &copy; &#169; &#xA9; &COPY; &bogus; &#0; &#x110000; &nbsp;|',
      '&amp; © © © © &bogus; &#0; &#x110000; |',
    );
    for (const text of ['&#10;&#x1F600;&euro;', '&constructor;', '&#99999999999999999999999;', '&#xD800;']) {
      expect(decodeEntities(text)).toBe(referenceDecode(text));
    }
  });

  it('decodes entities as the regex definition does, for generated text (the scan from & to &)', () => {
    // Entity-shaped pieces: `&`, maybe `#`, maybe `x`/`X`, a run of letters and digits of both cases
    // (hex and not), maybe `;`: every alternative of the definition, cut short, overlong, out of range.
    const entityish = fc
      .tuple(
        fc.constantFrom('', '#', '#x', '#X', 'x'),
        fc.array(fc.constantFrom('0', '9', 'a', 'f', 'A', 'F', 'g', 'G', 'm', 'p', 'z', 'Z'), {
          maxLength: 5,
        }),
        fc.constantFrom('', ';', ';;', '&'),
      )
      .map(([head, run, tail]) => `&${head}${run.join('')}${tail}`);
    const piece = fc.oneof(
      entityish,
      fc.constantFrom('&amp;', '&AMP;', '&nbsp;', '&euro;', '&constructor;', '&#99999999999999999999999;'),
      fc.constantFrom('&', '#', ';', 'a', ' ', 'é', '😀', '\ud83d'),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 24 }), (pieces) => {
        const text = pieces.join('');
        expect(decodeEntities(text)).toBe(referenceDecode(text));
      }),
      { numRuns: 5_000 },
    );
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (text) => {
        expect(decodeEntities(text)).toBe(referenceDecode(text));
      }),
      { numRuns: 2_000 },
    );
  }, 60_000);

  it('makes runs of blanks one space, trims lines and keeps at most one empty line', () => {
    expectText(
      '  lots   of\t\tspace\u00a0\u00a0here  \n\n\n\n\nnext\r\nline ',
      'lots of space here\n\nnext\nline',
    );
  });
});

const NAMES = [
  'a',
  'A',
  'img',
  'IMG',
  'br',
  'BR',
  'li',
  'LI',
  'td',
  'th',
  'TD',
  'p',
  'P',
  'div',
  'h1',
  'H6',
  'h7',
  'span',
  'b',
  'strong',
  'table',
  'tr',
  'ul',
  'ol',
  'hr',
  'pre',
  'center',
  'head',
  'HEAD',
  'style',
  'Script',
  'title',
  'noscript',
  'template',
  'header',
  'heading',
  'link',
  'abbr',
  'my_tag',
  'x-y',
  'br2',
  'img_x',
  'li_',
  'a1',
  'titles',
  'styled',
] as const;
const HREFS = [
  '',
  ' ',
  '#',
  '#top',
  'javascript:void(0)',
  'JavaScript:x()',
  ' javascript:x',
  'mailto:ann@x.example',
  'MAILTO:ann@x.example',
  'https://x.example',
  'https://x.example/?a=1&amp;b=2',
  'https://x.example/a b',
  '&lt;b&gt;',
  '&amp;lt;i&amp;gt;',
  '&amp;amp;',
  '&#106;avascript:x',
  '&#35;frag',
  'x>y',
  "it's",
  'a"b',
  'ann@x.example',
  ' https://x.example ',
  '&lt;',
  'https://x.example/&#10;n',
] as const;
const LABELS = [
  '',
  ' ',
  'Click',
  'https://x.example',
  'ann@x.example',
  'mailto:ann@x.example',
  ' https://x.example ',
  '<b>Bold</b>',
  '<img src=x alt="Logo">',
  'a < b',
  'a > b',
  '<>',
  'x<y',
  '&amp;',
  'https://x.example/a  b',
  'https://x.example/a\nb',
  '<a href=y>inner</a',
  '&lt;b&gt;',
  '#top',
  '\u00a0',
  'line<br>break',
] as const;
const ENTITIES = [
  '&amp;',
  '&AMP;',
  '&lt;',
  '&gt;',
  '&lt;b&gt;',
  '&lt;/a&gt;',
  '&quot;',
  '&apos;',
  '&nbsp;',
  '&copy;',
  '&hellip;',
  '&bogus;',
  '&amp',
  '&;',
  '&#160;',
  '&#xA0;',
  '&#x0a;',
  '&#10;',
  '&#13;',
  '&#9;',
  '&#0;',
  '&#x110000;',
  '&#1114111;',
  '&#99999999999999999999;',
  '&#x;',
  '&#xzz;',
  '&#55296;',
  '&#x1F600;',
  '&constructor;',
  '&toString;',
  '&am',
  'p;',
  '&#',
  'x27;',
  '&lt;br&gt;',
  '&lt;!--',
  '&lt;p&gt;',
] as const;
const SPACES = [
  ' ',
  '  ',
  '\t',
  '\n',
  '\n\n',
  '\n\n\n\n',
  '\r',
  '\r\n',
  '\u00a0',
  '\f',
  '\v',
  '\u2028',
  '\u3000',
  '\ufeff',
  '\u200b',
  '\u1680',
  '\u205f',
  ' \n \t\n\u00a0\n ',
] as const;
const WORDS = [
  'Hello',
  'world',
  'é',
  '日本語',
  '😀',
  'x',
  'ab_c',
  '1',
  ';',
  '=',
  '"',
  "'",
  '/',
  '-',
  '_',
] as const;
const ODD = [
  '<',
  '>',
  '< b',
  '<<',
  '<>',
  '</',
  '</>',
  '<!doctype html>',
  '<!DOCTYPE',
  '<!doctype <p>',
  '<!-- c -->',
  '<!--',
  '-->',
  '<!---->',
  '<!-- <p> -->',
  '<?xml?>',
  '<1>',
  '< p>',
  '</ td>',
  '</td >',
  '</th\n>',
  '<br/>',
  '<br />',
  '<br\t/>',
  '<br clear=all>',
  '<br_>',
  '</a>',
  '</A >',
  '</a\n>',
  '</abbr>',
  '<!',
  '<scr<!-- -->ipt>x</script>',
  '<STYLE>a{}</style\n>',
  '<title>T</TITLE>',
  '<head>',
  '</head>',
] as const;

function attribute(r: Seeded): string {
  const value = (v: string) => r.pick([`"${v}"`, `'${v}'`, v, `"${v}`, ` "${v}" `]);
  switch (Math.floor(r.next() * 9)) {
    case 0:
      return `${r.pick(['href', 'HREF', 'Href', 'xhref', 'data-href', 'href_'])}${r.pick(['=', ' = ', '=\n', '\u00a0='])}${value(r.pick(HREFS))}`;
    case 1:
      return `${r.pick(['alt', 'ALT', 'Alt', 'xalt', 'alt_'])}${r.pick(['=', ' = ', '=\t'])}${value(r.pick(LABELS))}`;
    case 2:
      return `title=${value(r.pick(['a>b', '<b>', 'x', "it's", 'a"b', '']))}`;
    case 3:
      return 'class="x"';
    case 4:
      return r.pick(['/', ' /', '', 'disabled', '_', '-', '\n']);
    default:
      return `${r.pick(['href', 'alt', 'src', 'name'])}=${value(r.pick(HREFS))}`;
  }
}

function tag(r: Seeded): string {
  const name = r.pick(NAMES);
  if (r.next() < 0.3) return `</${name}${r.pick(['', ' ', '\n', ' x'])}>`;
  let attrs = '';
  const count = Math.floor(r.next() * 3);
  for (let k = 0; k < count; k++) attrs += r.pick([' ', '  ', '\n', '\t', '']) + attribute(r);
  return `<${name}${attrs}${r.pick(['>', '>', '/>', ' >', ''])}`;
}

function link(r: Seeded, depth: number): string {
  const open = `<${r.pick(['a', 'A'])}${r.pick([' ', '\n', ' class="x" '])}${attribute(r)}${r.pick(['>', ' >', ' x=1>'])}`;
  const inner = r.next() < 0.5 ? r.pick(LABELS) : fragment(r, depth + 1, 4);
  return open + inner + r.pick(['</a>', '</A>', '</a >', '', '</a\n>']);
}

function skipped(r: Seeded, depth: number): string {
  const name = r.pick(['head', 'style', 'script', 'title', 'noscript', 'template', 'HEAD', 'Style']);
  const close = r.pick([`</${name}>`, `</${name.toUpperCase()} >`, '', `</${name}x>`, `</${name}\n>`]);
  return `<${name}${r.pick(['', ' a="1"', '>'])}>${fragment(r, depth + 1, 3)}${close}`;
}

/** A piece of HTML that mixes every kind of token, nested a little. */
function fragment(r: Seeded, depth = 0, max = 30): string {
  let html = '';
  const length = 1 + Math.floor(r.next() * max);
  for (let k = 0; k < length; k++) {
    const kind = r.next();
    if (kind < 0.22) html += tag(r);
    else if (kind < 0.34 && depth < 3) html += link(r, depth);
    else if (kind < 0.38 && depth < 3) html += skipped(r, depth);
    else if (kind < 0.48) html += r.pick(ENTITIES);
    else if (kind < 0.64) html += r.pick(SPACES);
    else if (kind < 0.86) html += r.pick(WORDS);
    else html += r.pick(ODD);
  }
  return html;
}

/** Well-formed email-like HTML, so the scanner's own path (not its fallback) gets most of the inputs. */
function document(r: Seeded): string {
  let html = r.pick(['', '<!DOCTYPE html>\n', '<!doctype html><html>']);
  if (r.next() < 0.5)
    html += '<head><meta charset="utf-8"><title>T &amp; U</title><style>p{}</style></head>\n';
  const blocks = 1 + Math.floor(r.next() * 12);
  for (let k = 0; k < blocks; k++) {
    const block = r.pick(['p', 'div', 'h1', 'h2', 'td', 'li', 'blockquote', 'span']);
    let inner = '';
    const parts = 1 + Math.floor(r.next() * 6);
    for (let j = 0; j < parts; j++) {
      const kind = r.next();
      if (kind < 0.15)
        inner += `<a href="${r.pick(HREFS)}">${r.pick(['Open', 'https://x.example', '<b>Go</b>', ''])}</a>`;
      else if (kind < 0.25) inner += `<img src="x.png" alt="${r.pick(['Logo', '', 'A &amp; B'])}">`;
      else if (kind < 0.35) inner += r.pick(['<br>', '<br/>', '<strong>', '</strong>', '<!-- mso -->']);
      else if (kind < 0.5) inner += r.pick(ENTITIES);
      else if (kind < 0.7) inner += r.pick(SPACES);
      else inner += r.pick(WORDS);
    }
    html += `${r.pick(['', '\n  ', '\n\n'])}<${block} class="c${k}">${inner}</${block}>`;
  }
  return html;
}

describe('htmlToText against the old implementation', () => {
  it('agrees on generated nasty HTML', () => {
    for (let seed = 1; seed <= 6000; seed++) {
      const html = fragment(seeded(seed));
      expect(htmlToText(html), `seed ${seed}: ${JSON.stringify(html)}`).toBe(reference(html));
    }
  });

  it('agrees on generated email-like HTML', () => {
    for (let seed = 1; seed <= 3000; seed++) {
      const html = document(seeded(seed));
      expect(htmlToText(html), `seed ${seed}: ${JSON.stringify(html)}`).toBe(reference(html));
    }
  });

  it('agrees on every short sequence of tokens', () => {
    const tokens = [
      '<a href=x>',
      '<a href="#">',
      '</a>',
      '<img alt="i">',
      '<br>',
      '<li>',
      '</td>',
      '<p>',
      '<b',
      '>',
      '<',
      '&amp;',
      'x',
      ' \n',
    ];
    const check = (html: string, left: number) => {
      expect(htmlToText(html), JSON.stringify(html)).toBe(reference(html));
      if (left > 0) for (const token of tokens) check(html + token, left - 1);
    };
    check('', 4);
  });

  it('agrees on every short sequence of never-shown elements, doctypes, comments and links', () => {
    // The old passes removed these before looking at links; the scanner meets them on the way.
    const tokens = [
      '<style>',
      '</style>',
      '<!doctype',
      '<a href=x>',
      '</a>',
      '<',
      '>',
      'x',
      '<b>',
      '<title',
      '<!--',
      '-->',
    ];
    const check = (html: string, left: number) => {
      expect(htmlToText(html), JSON.stringify(html)).toBe(reference(html));
      if (left > 0) for (const token of tokens) check(html + token, left - 1);
    };
    check('', 4);
  });

  it('agrees on every block tag name and its near misses', () => {
    const blocks =
      'p div section article header footer main aside nav table thead tbody tfoot tr blockquote pre ul ol dl dt dd ' +
      'h1 h2 h3 h4 h5 h6 hr form fieldset address figure figcaption center';
    const misses =
      'h0 h7 h10 pp d di divs sections blockquotes figcaptions td th li br img a b span strong x1 q';
    for (const name of `${blocks} ${misses}`.split(' ')) {
      for (const tag of [name, name.toUpperCase()]) {
        const html = `a<${tag}>b</${tag}>c<${tag} class="x"/>d<${tag}_x>e`;
        expect(htmlToText(html), html).toBe(reference(html));
      }
    }
  });

  it('agrees on every UTF-16 code unit as blank, tag space and text', () => {
    for (let c = 0; c < 0x10000; c++) {
      const ch = String.fromCharCode(c);
      const html = `${ch}x${ch}${ch}y${ch}\n${ch}<br${ch}/>z</td${ch}><img alt${ch}=${ch}"v"><style>s</style${ch}>w${ch}`;
      if (htmlToText(html) !== reference(html))
        expect(htmlToText(html), `code unit ${c}`).toBe(reference(html));
    }
  });

  it('agrees on the rendered benchmark template', () => {
    const html = readFileSync(new URL('../../bench/template.html', import.meta.url), 'utf8');
    const compiled = compileTemplate({ subject: 'x', html });
    for (const plan of ['free', 'pro', 'team']) {
      const rendered = renderTemplate(compiled, {
        email: 'ann@x.example',
        first_name: 'Ann & <Co>',
        city: 'Lisbon',
        plan,
        joined: '2024-03-01',
        points: '7',
        member_id: 'M1',
        month: 'November',
        company: 'sixback',
        sender_name: 'The team',
        unsubscribe_url: 'https://x.example/u/1?a=1&b=2',
      }).html;
      expect(htmlToText(rendered)).toBe(reference(rendered));
      expect(htmlToText(rendered)).toContain(
        'Open your dashboard (https://app.example.com/welcome?member=M1)',
      );
    }
  });
});
