/**
 * RFC 8058 one-click unsubscribe: the link and headers each email carries, and what happens when the
 * link is used. A POST unsubscribes; a GET only shows a page with a button, because link scanners and
 * mail previewers follow GET links on their own.
 */

import { resolveUnsubscribeSecret } from '../aws/secret.ts';
import type { CampaignStore } from '../campaigns/store.ts';
import type { SixbackConfig } from '../config.ts';
import { ConfigError, CountPendingError } from '../errors.ts';
import { type Logger, SILENT_LOGGER } from '../logging.ts';
import type { WebhookEvent } from '../webhooks/events.ts';
import type { AnalyticsStore, Applied } from './analytics-store.ts';
import type { CountJournal, CountMember } from './count-journal.ts';
import { webhookEventOf } from './events.ts';
import { assertHeaderValue } from './headers.ts';
import { bucketOf, type RecipientEvent, unsubscribeEvent } from './outcomes.ts';
import type { DynamoSuppressionList } from './suppression.ts';
import { signUnsubscribeToken, type TokenSubject, verifyUnsubscribeToken } from './token.ts';

/** The path under the public base URL; the API mounts the unsubscribe routes here. */
export const UNSUBSCRIBE_PATH = '/u/';

/** RFC 8058's second header, the same on every email (shared, so never changed). */
const ONE_CLICK = Object.freeze({ name: 'List-Unsubscribe-Post', value: 'List-Unsubscribe=One-Click' });

export interface RecipientExtras {
  unsubscribeUrl: string;
  headers: { name: string; value: string }[];
}

type LinkConfig = Pick<
  SixbackConfig,
  | 'region'
  | 'publicBaseUrl'
  | 'unsubscribeMailto'
  | 'unsubscribeSecret'
  | 'unsubscribeSecretArn'
  | 'unsubscribeSecretParameter'
>;

export class UnsubscribeLinks {
  private secret: string | undefined;
  private loading: Promise<string> | undefined;

  constructor(
    private readonly config: LinkConfig,
    private readonly loadSecret: () => Promise<string> = () => resolveUnsubscribeSecret(config),
  ) {
    // An inline secret (the local stack) needs no I/O, so links can be made straight away.
    if (config.unsubscribeSecret) this.secret = config.unsubscribeSecret;
  }

  /** Loads the secret once per process; sending and verifying both need it. */
  async ready(): Promise<void> {
    if (this.secret) return;
    this.loading ??= this.loadSecret().catch((error) => {
      this.loading = undefined;
      throw error;
    });
    this.secret = await this.loading;
  }

  /** The secret, for the other MAC the API makes with it (issued upload keys, domain separated). */
  async signingSecret(): Promise<string> {
    await this.ready();
    return this.requireSecret();
  }

  private requireSecret(): string {
    if (!this.secret) throw new ConfigError('The unsubscribe secret is not loaded yet (call ready() first).');
    return this.secret;
  }

  /**
   * The link up to the token, and the List-Unsubscribe header after the link, made (and checked) once for
   * the configuration they were made from: the configuration is read for every link, since the local
   * stack sets the public base URL once its API listens.
   */
  private prefix: { base: string; prefix: string } | undefined;
  private headerTail: { prefix: string; mailto: string | undefined; tail: string } | undefined;

  private linkPrefix(): string {
    const base = this.config.publicBaseUrl;
    const cached = this.prefix;
    if (cached !== undefined && cached.base === base) return cached.prefix;
    if (!base) {
      throw new ConfigError(
        'No public base URL for unsubscribe links: set SIXBACK_PUBLIC_BASE_URL to the API address ' +
          '(e.g. https://mail.example.com).',
      );
    }
    this.prefix = { base, prefix: `${base.replace(/\/+$/, '')}${UNSUBSCRIBE_PATH}` };
    return this.prefix.prefix;
  }

  private listUnsubscribeTail(prefix: string): string {
    const mailto = this.config.unsubscribeMailto;
    const cached = this.headerTail;
    if (cached && cached.prefix === prefix && cached.mailto === mailto) return cached.tail;
    const tail = mailto ? `, <mailto:${mailto}?subject=unsubscribe>` : '';
    // The header's one other part is the token: letters, digits, - and _ (its campaign id is checked, the
    // rest is base64url) and dots. No line break can come from it, so checking the rest once checks it all.
    assertHeaderValue('List-Unsubscribe', `<${prefix}>${tail}`);
    this.headerTail = { prefix, mailto, tail };
    return tail;
  }

  url(subject: TokenSubject): string {
    return `${this.linkPrefix()}${signUnsubscribeToken(this.requireSecret(), subject)}`;
  }

  /** What the sender adds for one recipient: the template's unsubscribe_url and the RFC 8058 headers. */
  extras(campaignId: string, key: string): RecipientExtras {
    const prefix = this.linkPrefix();
    const unsubscribeUrl = `${prefix}${signUnsubscribeToken(this.requireSecret(), { campaignId, key })}`;
    const tail = this.listUnsubscribeTail(prefix);
    return {
      unsubscribeUrl,
      headers: [{ name: 'List-Unsubscribe', value: `<${unsubscribeUrl}>${tail}` }, ONE_CLICK],
    };
  }

  async verify(token: string): Promise<TokenSubject> {
    await this.ready();
    return verifyUnsubscribeToken(this.requireSecret(), token);
  }
}

export interface UnsubscribeDeps {
  links: UnsubscribeLinks;
  suppression: Pick<DynamoSuppressionList, 'add' | 'get'>;
  campaigns: Pick<CampaignStore, 'addEvents'> & Partial<Pick<CampaignStore, 'find'>>;
  /**
   * Records the unsubscribe on the recipient's outcome and the campaign's time series, once, and keeps
   * it in the recipient's outbox until it is published (analytics-store.ts), as SES events are.
   */
  analytics?: Pick<
    AnalyticsStore,
    | 'apply'
    | 'addSeries'
    | 'published'
    | 'recipient'
    | 'markUnsubscribeOutbox'
    | 'clearUnsubscribeOutbox'
    | 'unsubscribeOutbox'
    | 'unpublished'
  > &
    Partial<Pick<AnalyticsStore, 'counts' | 'remark'>>;
  /** Webhooks and the event bus hear of it as `recipient.unsubscribed` (needs `analytics`: its outbox). */
  publish?: (events: WebhookEvent[]) => Promise<void>;
  clock?: () => Date;
  logger?: Logger;
}

/**
 * Unsubscribes the token's recipient: the suppression first (whatever happens next, the address is not
 * mailed again), then the unsubscribe as a recipient event of the campaign, applied to the outcome once by
 * its identity (campaign, address, "unsubscribe"), counted once and published through the outbox.
 * Idempotent: a second click (or a mail client retrying the POST) counts and publishes nothing, except
 * what an earlier POST recorded and did not get to publish (it crashed, or the bus failed): that is
 * published then, with the same id. `already` says this POST recorded nothing new.
 */
export async function unsubscribe(
  token: string,
  deps: UnsubscribeDeps,
): Promise<TokenSubject & { already: boolean }> {
  const subject = await deps.links.verify(token);
  const existing = await deps.suppression.get(subject.key);
  // An address suppressed already (a bounce, an import, another campaign's link) keeps its entry; the
  // click still counts once on this campaign, whose email it came from.
  if (!existing) await deps.suppression.add(subject.key, 'unsubscribe', `unsubscribe:${subject.campaignId}`);
  if (!deps.analytics) {
    if (existing) return { ...subject, already: true };
    await deps.campaigns.addEvents(subject.campaignId, { unsubscribe: 1 });
    return { ...subject, already: false };
  }
  const analytics = deps.analytics;
  const now = (deps.clock ?? (() => new Date()))();
  const event = unsubscribeEvent(subject.campaignId, subject.key, now);
  // Marked before it is recorded: whatever happens after (a crash, the bus down), the sweep
  // (publishPendingUnsubscribes) finds the event left in the outbox, without waiting for another POST.
  if (deps.publish) await analytics.markUnsubscribeOutbox(subject.campaignId, subject.key, now);
  // Counted exactly once through the count journal (count-journal.ts), as SES events are.
  const journal = analytics.counts && analytics.remark && deps.campaigns.find ? analytics.counts : undefined;
  const group = journal?.newToken();
  const applied = await analytics.apply(event, {
    publish: deps.publish !== undefined,
    ...(group ? { token: group } : {}),
  });
  if (!applied) {
    // Recorded and published before: nothing waits.
    if (deps.publish) await analytics.clearUnsubscribeOutbox(subject.campaignId, subject.key);
    return { ...subject, already: true };
  }
  if (journal && group) {
    await countUnsubscribe(event, applied, group, journal, deps);
  } else if (!applied.repeat) {
    const record = await deps.campaigns.addEvents(subject.campaignId, applied.counts);
    if (record) {
      await analytics.addSeries(
        subject.campaignId,
        new Map([[bucketOf(event.at, record.startedAt), { unsubscribe: 1 }]]),
        new Map(),
      );
    }
  }
  if (applied.publish && deps.publish) {
    // A repeat publishes the event as it was recorded: the first POST's time, not this one's.
    const recorded = applied.repeat
      ? (await analytics.recipient(subject.campaignId, subject.key))?.unsubscribedAt
      : undefined;
    await publishUnsubscribe(recorded ? { ...event, at: recorded } : event, deps.publish, analytics).catch(
      (error: unknown) =>
        // The POST still succeeds: the address is suppressed and the event waits in the outbox for the
        // sweep (or the next POST of the link).
        (deps.logger ?? SILENT_LOGGER).error(
          'webhooks: publishing an unsubscribe failed; left in the outbox',
          {
            campaignId: subject.campaignId,
            eventId: event.id,
            error,
          },
        ),
    );
  }
  return { ...subject, already: applied.repeat };
}

/**
 * Counts a recorded unsubscribe once: a new one in this POST's group; a repeat whose earlier POST did not
 * get to count it (it failed part-way) is finished, or taken into this POST's group once its group is
 * old enough. A failure, or a group still counting, throws: the POST fails (the address is suppressed
 * already), and the mail client's retry or the next click counts it.
 */
async function countUnsubscribe(
  event: RecipientEvent,
  applied: Applied,
  token: string,
  journal: CountJournal,
  deps: UnsubscribeDeps,
): Promise<void> {
  const analytics = deps.analytics as NonNullable<UnsubscribeDeps['analytics']>;
  let member: CountMember | undefined;
  if (!applied.repeat) member = { event, counts: applied.counts, newLink: false };
  else if (applied.mark?.token === token) {
    // This POST's own write, its answer lost and retried by the client: the retry saw a repeat.
    member = { event, counts: applied.mark.counts, newLink: false };
  } else if (applied.mark) {
    const state = (await journal.resolve(event.campaignId, applied.mark.token, [event.id], token)).get(
      event.id,
    );
    const moved = state === 'orphan' && (await analytics.remark?.(event, applied.mark.token, token));
    // Its group may still be counting it (a POST of the same link right now), or it moved to another
    // POST's: this POST fails, so the mail client's retry (or the next click) finds it settled.
    if (state !== 'counted' && !moved)
      throw new CountPendingError(`the unsubscribe of ${event.campaignId} is still being counted`);
    if (moved) {
      // Counted in the minute it was first recorded, not this POST's.
      const recorded = (await analytics.recipient(event.campaignId, event.key))?.unsubscribedAt;
      member = {
        event: recorded ? { ...event, at: recorded } : event,
        counts: applied.mark.counts,
        newLink: false,
      };
    }
  }
  if (!member) return;
  const record = await deps.campaigns.find?.(event.campaignId);
  if (!record) return;
  await journal.count({ id: record.id, startedAt: record.startedAt, abTest: record.spec?.abTest }, token, [
    member,
  ]);
}

/** Hands the event to the bus, then takes it out of the outbox and clears its marker; a failure leaves both. */
async function publishUnsubscribe(
  event: RecipientEvent,
  publish: (events: WebhookEvent[]) => Promise<void>,
  analytics: Pick<AnalyticsStore, 'published' | 'clearUnsubscribeOutbox'>,
): Promise<void> {
  const webhook = webhookEventOf(event);
  if (webhook) await publish([webhook]);
  await analytics.published([event]);
  await analytics.clearUnsubscribeOutbox(event.campaignId, event.key);
}

/** How old an outbox marker must be before the sweep takes it over from the request that wrote it. */
export const OUTBOX_SWEEP_AGE_MS = 60_000;

export interface SweepResult {
  /** Unsubscribes found still unpublished and published now. */
  published: number;
  /** Markers of unsubscribes published already (or never recorded), cleared. */
  cleared: number;
  /** Markers whose publication failed again: left for the next sweep. */
  failed: number;
}

/**
 * The outbox sweep (a scheduled job: every minute on AWS, a timer of the local stack): publishes each
 * unsubscribe whose marker is older than `olderThanMs` and whose event is still in its recipient's
 * outbox, with the event's id and recorded time, as the POST would have; then takes it out of the
 * outbox. The outbox decides, so a sweep racing a POST or another sweep publishes nothing a POST already
 * took out, and an event is published again only if a crash came between the bus and the outbox (with
 * the same id, which subscribers deduplicate on).
 */
export async function publishPendingUnsubscribes(
  deps: Required<Pick<UnsubscribeDeps, 'analytics' | 'publish'>> & Pick<UnsubscribeDeps, 'clock' | 'logger'>,
  options: { olderThanMs?: number } = {},
): Promise<SweepResult> {
  const now = (deps.clock ?? (() => new Date()))();
  const markers = await deps.analytics.unsubscribeOutbox(
    new Date(now.getTime() - (options.olderThanMs ?? OUTBOX_SWEEP_AGE_MS)),
  );
  const result: SweepResult = { published: 0, cleared: 0, failed: 0 };
  for (const marker of markers) {
    try {
      const event = unsubscribeEvent(marker.campaignId, marker.key, new Date(marker.at));
      if (!(await deps.analytics.unpublished(event))) {
        await deps.analytics.clearUnsubscribeOutbox(marker.campaignId, marker.key);
        result.cleared++;
        continue;
      }
      const recorded = (await deps.analytics.recipient(marker.campaignId, event.key))?.unsubscribedAt;
      await publishUnsubscribe(recorded ? { ...event, at: recorded } : event, deps.publish, deps.analytics);
      result.published++;
    } catch (error) {
      result.failed++;
      (deps.logger ?? SILENT_LOGGER).error('webhooks: the outbox sweep could not publish an unsubscribe', {
        campaignId: marker.campaignId,
        error,
      });
    }
  }
  if (markers.length > 0) (deps.logger ?? SILENT_LOGGER).info('unsubscribe outbox swept', { ...result });
  return result;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${escapeHtml(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}
button{font:inherit;padding:.6rem 1.2rem;border:0;border-radius:.3rem;background:#222;color:#fff;cursor:pointer}</style>
</head><body>${body}</body></html>`;
}

/** The page a GET shows: a button that POSTs the one-click body to the same URL. */
export function confirmationPage(address: string, actionUrl: string): string {
  return page(
    'Unsubscribe',
    `<h1>Unsubscribe</h1>
<p>Stop sending email to <strong>${escapeHtml(address)}</strong>?</p>
<form method="post" action="${escapeHtml(actionUrl)}">
<input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">Unsubscribe</button>
</form>`,
  );
}

export function unsubscribedPage(address: string): string {
  return page(
    'Unsubscribed',
    `<h1>You are unsubscribed</h1><p><strong>${escapeHtml(address)}</strong> will receive no more campaigns from this sender.</p>`,
  );
}

export function invalidLinkPage(message: string): string {
  return page('Link not valid', `<h1>This link is not valid</h1><p>${escapeHtml(message)}</p>`);
}
