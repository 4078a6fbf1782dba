/**
 * What SES's open and click tracking does to an HTML body, for the local SES: every http(s) link not
 * marked `ses:no-track` points at a click-redirect URL instead (at most 250 per message: the limit SES is
 * reported to apply; not verified against SES itself), and a
 * 1x1 pixel goes where `{{ses:openTracker}}` stands, else just before </body>, else at the end.
 * `ses:tags="key:value;key2:value2"` on a link become the Click event's linkTags. Plain-text parts and
 * headers (List-Unsubscribe) are never touched, as SES leaves them.
 */

export interface TrackedLink {
  url: string;
  tags: Record<string, string[]>;
}

export const MAX_TRACKED_LINKS = 250;
const OPEN_TRACKER = '{{ses:openTracker}}';

const ANCHOR = /<a\b[^>]*>/gi;
const HREF = /(\bhref\s*=\s*)(?:"([^"]*)"|'([^']*)'|([^\s>"']+))/i;
const TAGS = /\bses:tags\s*=\s*(?:"([^"]*)"|'([^']*)')/i;

function decodeEntities(value: string): string {
  return value.replace(/&(amp|quot|#39|apos|lt|gt);/g, (_, name: string) =>
    name === 'amp' ? '&' : name === 'quot' ? '"' : name === 'lt' ? '<' : name === 'gt' ? '>' : "'",
  );
}

function linkTags(tag: string): Record<string, string[]> {
  const raw = TAGS.exec(tag);
  const tags: Record<string, string[]> = {};
  const value = raw?.[1] ?? raw?.[2];
  if (!value) return tags;
  for (const pair of value.split(';')) {
    const at = pair.indexOf(':');
    if (at <= 0) continue;
    const key = pair.slice(0, at).trim();
    const tagValue = pair.slice(at + 1).trim();
    if (key) tags[key] = [...(tags[key] ?? []), tagValue];
  }
  return tags;
}

export function addTracking(
  html: string,
  options: { opens: boolean; clicks: boolean; clickUrl: (index: number) => string; openUrl: string },
): { html: string; links: TrackedLink[] } {
  const links: TrackedLink[] = [];
  let out = html;
  if (options.clicks) {
    out = out.replace(ANCHOR, (tag) => {
      if (links.length >= MAX_TRACKED_LINKS || /\bses:no-track\b/i.test(tag)) return tag;
      const href = HREF.exec(tag);
      if (!href) return tag;
      const url = decodeEntities((href[2] ?? href[3] ?? href[4] ?? '').trim());
      if (!/^https?:\/\//i.test(url)) return tag;
      const index = links.push({ url, tags: linkTags(tag) }) - 1;
      return tag.replace(HREF, `$1"${options.clickUrl(index)}"`);
    });
  }
  if (options.opens) {
    const pixel = `<img alt="" width="1" height="1" border="0" style="height:1px!important;width:1px!important;border-width:0!important;margin:0!important;padding:0!important" src="${options.openUrl}" />`;
    if (out.includes(OPEN_TRACKER)) out = out.replace(OPEN_TRACKER, pixel);
    else {
      const end = out.search(/<\/body\s*>/i);
      out = end === -1 ? out + pixel : out.slice(0, end) + pixel + out.slice(end);
    }
  } else if (out.includes(OPEN_TRACKER)) out = out.replace(OPEN_TRACKER, '');
  return { html: out, links };
}
