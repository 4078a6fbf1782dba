/**
 * Open and click tracking is SES's own (configuration-set event destinations with OPEN and CLICK events):
 * SES adds the pixel and rewrites the links for mail sent through such a set, and for no other. So the
 * choice a campaign makes is which configuration set its mail names. The deployment creates one set per
 * combination, named from the base set (infra/constructs/email.ts); the local SES knows the same four.
 */

export interface Tracking {
  opens: boolean;
  clicks: boolean;
}

/** The suffix of each tracking variant of the base configuration set. */
const SUFFIX = { none: '', opens: '-opens', clicks: '-clicks', both: '-tracked' } as const;

/** The configuration set that gives this tracking: the base set when nothing is tracked. */
export function configurationSetFor(base: string, tracking: Tracking): string {
  if (tracking.opens && tracking.clicks) return `${base}${SUFFIX.both}`;
  if (tracking.opens) return `${base}${SUFFIX.opens}`;
  if (tracking.clicks) return `${base}${SUFFIX.clicks}`;
  return base;
}

/** The four configuration sets of a base name and what each tracks. */
export function trackingVariants(base: string): { name: string; tracking: Tracking }[] {
  return [
    { opens: false, clicks: false },
    { opens: true, clicks: false },
    { opens: false, clicks: true },
    { opens: true, clicks: true },
  ].map((tracking) => ({ name: configurationSetFor(base, tracking), tracking }));
}

/**
 * What a campaign tracks: what it asks for, else opens and clicks for marketing mail and nothing for
 * transactional mail (receipts and password resets are not campaigns to measure, and rewriting their
 * links only adds a hop).
 */
export function campaignTracking(spec: {
  transactional?: boolean | undefined;
  tracking?: { opens?: boolean | undefined; clicks?: boolean | undefined } | undefined;
}): Tracking {
  const marketing = spec.transactional !== true;
  return { opens: spec.tracking?.opens ?? marketing, clicks: spec.tracking?.clicks ?? marketing };
}

/**
 * Marks the anchors whose href is the unsubscribe link `ses:no-track`, so SES's click tracking leaves them
 * as they are (a rewritten unsubscribe link would count a click for every unsubscribe and send the
 * recipient through a redirect first). Done on the template source, once per template.
 */
export function untrackUnsubscribeLinks(html: string): string {
  return html.replace(/<a\b[^>]*>/gi, (tag) =>
    UNSUBSCRIBE_HREF.test(tag) && !/\bses:no-track\b/i.test(tag) ? `<a ses:no-track${tag.slice(2)}` : tag,
  );
}
const UNSUBSCRIBE_HREF = /\bhref\s*=\s*["']?\s*\{\{-?\s*unsubscribe_url\b/i;
