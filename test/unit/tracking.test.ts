import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  campaignTracking,
  configurationSetFor,
  trackingVariants,
  untrackUnsubscribeLinks,
} from '../../core/sending/tracking.ts';
import { addTracking } from '../../local/ses/tracking.ts';

describe('which configuration set a campaign names', () => {
  it('tracks marketing mail and not transactional mail by default, and what the campaign asks otherwise', () => {
    expect(campaignTracking({})).toEqual({ opens: true, clicks: true });
    expect(campaignTracking({ transactional: true })).toEqual({ opens: false, clicks: false });
    expect(campaignTracking({ transactional: true, tracking: { clicks: true } })).toEqual({
      opens: false,
      clicks: true,
    });
    expect(campaignTracking({ tracking: { opens: false } })).toEqual({ opens: false, clicks: true });
  });

  it('gives each of the four choices its own set, the untracked one being the base set', () => {
    const names = trackingVariants('sixback').map((v) => v.name);
    expect(names).toEqual(['sixback', 'sixback-opens', 'sixback-clicks', 'sixback-tracked']);
    for (const { name, tracking } of trackingVariants('base'))
      expect(configurationSetFor('base', tracking)).toBe(name);
  });
});

describe('unsubscribe links in templates', () => {
  it('are marked ses:no-track once, whatever their attributes, and nothing else changes', () => {
    expect(untrackUnsubscribeLinks('<p><a class="u" href="{{ unsubscribe_url }}">Stop</a></p>')).toBe(
      '<p><a ses:no-track class="u" href="{{ unsubscribe_url }}">Stop</a></p>',
    );
    expect(untrackUnsubscribeLinks("<A HREF='{{unsubscribe_url}}'>x</A>")).toBe(
      "<a ses:no-track HREF='{{unsubscribe_url}}'>x</A>",
    );
    const attribute = fc.constantFrom(' class="x"', ' style="color:red"', ' target="_blank"', '');
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ before: attribute, after: attribute, unsubscribe: fc.boolean(), text: fc.string() }),
          { maxLength: 6 },
        ),
        (links) => {
          const html = links
            .map(
              (l) =>
                `<a${l.before} href="${l.unsubscribe ? '{{ unsubscribe_url }}' : 'https://example.com/'}"${l.after}>${l.text.replace(/[<>]/g, '')}</a>`,
            )
            .join('<br>');
          const marked = untrackUnsubscribeLinks(html);
          expect(untrackUnsubscribeLinks(marked)).toBe(marked);
          expect(marked.split('ses:no-track').length - 1).toBe(links.filter((l) => l.unsubscribe).length);
          expect(marked.replaceAll('<a ses:no-track', '<a')).toBe(html);
        },
      ),
    );
  });
});

describe("the local SES's link rewriting", () => {
  const options = {
    opens: true,
    clicks: true,
    openUrl: 'http://ses/t/o/m',
    clickUrl: (i: number) => `http://ses/t/c/m/${i}`,
  };

  it('rewrites http(s) links only, keeps ses:no-track ones, and puts the pixel where SES does', () => {
    const out = addTracking(
      '<body><a href="https://a.example/x?y=1&amp;z=2" ses:tags="k:v">A</a><a ses:no-track href="https://b.example/">B</a><a href="mailto:x@example.com">M</a><a href=\'http://c.example/\'>C</a></body>',
      options,
    );
    expect(out.links).toEqual([
      { url: 'https://a.example/x?y=1&z=2', tags: { k: ['v'] } },
      { url: 'http://c.example/', tags: {} },
    ]);
    expect(out.html).toContain('href="http://ses/t/c/m/0"');
    expect(out.html).toContain('href="http://ses/t/c/m/1"');
    expect(out.html).toContain('href="https://b.example/"');
    expect(out.html).toContain('href="mailto:x@example.com"');
    expect(out.html).toMatch(/<img [^>]*src="http:\/\/ses\/t\/o\/m" \/><\/body>$/);
    expect(addTracking('<p>{{ses:openTracker}}</p><p>end</p>', options).html).toMatch(
      /^<p><img [^>]*src="http:\/\/ses\/t\/o\/m" \/><\/p><p>end<\/p>$/,
    );
    expect(addTracking('<a href="https://a/">a</a>', { ...options, opens: false, clicks: false }).html).toBe(
      '<a href="https://a/">a</a>',
    );
  });

  it('tracks every link up to the limit, in order', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.stringMatching(/^[a-z0-9/?=&.%-]{0,24}$/).map((path) => `https://example.com/${path}`),
          { maxLength: 300 },
        ),
        (urls) => {
          const html = urls.map((u) => `<a href="${u.replace(/&/g, '&amp;')}">x</a>`).join('');
          const out = addTracking(html, options);
          expect(out.links.map((l) => l.url)).toEqual(urls.slice(0, 250));
        },
      ),
      { numRuns: 30 },
    );
  });
});
