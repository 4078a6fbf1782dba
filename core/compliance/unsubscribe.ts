/**
 * RFC 8058 one-click unsubscribe: the link and headers each email carries, and what happens when the
 * link is used. A POST unsubscribes; a GET only shows a page with a button, because link scanners and
 * mail previewers follow GET links on their own.
 */

import { resolveUnsubscribeSecret } from '../aws/secret.ts';
import type { CampaignStore } from '../campaigns/store.ts';
import type { SixbackConfig } from '../config.ts';
import { ConfigError } from '../errors.ts';
import { type Logger, SILENT_LOGGER } from '../logging.ts';
import type { WebhookEvent } from '../webhooks/events.ts';
import type { AnalyticsStore } from './analytics-store.ts';
import { assertHeaderValue } from './headers.ts';
import { bucketOf, unsubscribeEvent } from './outcomes.ts';
import type { DynamoSuppressionList } from './suppression.ts';
import { signUnsubscribeToken, type TokenSubject, verifyUnsubscribeToken } from './token.ts';

/** The path under the public base URL; the API mounts the unsubscribe routes here. */
export const UNSUBSCRIBE_PATH = '/u/';

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

  url(subject: TokenSubject): string {
    const base = this.config.publicBaseUrl;
    if (!base) {
      throw new ConfigError(
        'No public base URL for unsubscribe links: set SIXBACK_PUBLIC_BASE_URL to the API address ' +
          '(e.g. https://mail.example.com).',
      );
    }
    return `${base.replace(/\/+$/, '')}${UNSUBSCRIBE_PATH}${signUnsubscribeToken(this.requireSecret(), subject)}`;
  }

  /** What the sender adds for one recipient: the template's unsubscribe_url and the RFC 8058 headers. */
  extras(campaignId: string, key: string): RecipientExtras {
    const unsubscribeUrl = this.url({ campaignId, key });
    const targets = [`<${unsubscribeUrl}>`];
    if (this.config.unsubscribeMailto) {
      targets.push(`<mailto:${this.config.unsubscribeMailto}?subject=unsubscribe>`);
    }
    const headers = [
      { name: 'List-Unsubscribe', value: targets.join(', ') },
      { name: 'List-Unsubscribe-Post', value: 'List-Unsubscribe=One-Click' },
    ];
    for (const header of headers) assertHeaderValue(header.name, header.value);
    return { unsubscribeUrl, headers };
  }

  async verify(token: string): Promise<TokenSubject> {
    await this.ready();
    return verifyUnsubscribeToken(this.requireSecret(), token);
  }
}

export interface UnsubscribeDeps {
  links: UnsubscribeLinks;
  suppression: Pick<DynamoSuppressionList, 'add' | 'get'>;
  campaigns: Pick<CampaignStore, 'addEvents'>;
  /** Records the unsubscribe on the recipient's outcome and the campaign's time series, once. */
  analytics?: Pick<AnalyticsStore, 'apply' | 'addSeries'>;
  /** Webhooks and the event bus hear of it as `recipient.unsubscribed`. */
  publish?: (events: WebhookEvent[]) => Promise<void>;
  clock?: () => Date;
  logger?: Logger;
}

/**
 * Unsubscribes the token's recipient. Idempotent: a second click (or a mail client retrying the POST)
 * changes nothing and counts nothing twice.
 */
export async function unsubscribe(
  token: string,
  deps: UnsubscribeDeps,
): Promise<TokenSubject & { already: boolean }> {
  const subject = await deps.links.verify(token);
  const existing = await deps.suppression.get(subject.key);
  if (existing) return { ...subject, already: true };
  await deps.suppression.add(subject.key, 'unsubscribe', `unsubscribe:${subject.campaignId}`);
  await recordUnsubscribe(subject, deps);
  if (deps.publish) {
    const at = (deps.clock ?? (() => new Date()))();
    await deps
      .publish([
        {
          // One per person and campaign: a second click changes nothing and publishes nothing.
          id: `${subject.campaignId}:recipient.unsubscribed:${subject.key}`,
          type: 'recipient.unsubscribed',
          createdAt: at.toISOString(),
          data: { campaignId: subject.campaignId, recipients: [subject.key], via: 'one-click' },
        },
      ])
      .catch((error: unknown) =>
        (deps.logger ?? SILENT_LOGGER).error('webhooks: publishing an unsubscribe failed', {
          campaignId: subject.campaignId,
          error,
        }),
      );
  }
  return { ...subject, already: false };
}

/** The unsubscribe on the campaign's counters, and on the recipient's outcome and time series. */
async function recordUnsubscribe(subject: TokenSubject, deps: UnsubscribeDeps): Promise<void> {
  if (!deps.analytics) {
    await deps.campaigns.addEvents(subject.campaignId, { unsubscribe: 1 });
    return;
  }
  const event = unsubscribeEvent(subject.campaignId, subject.key, (deps.clock ?? (() => new Date()))());
  const applied = await deps.analytics.apply(event);
  // Applied before: the first POST got as far as the outcome and failed after it (a retry of the POST).
  if (!applied || applied.repeat) return;
  const record = await deps.campaigns.addEvents(subject.campaignId, applied.counts);
  if (record) {
    await deps.analytics.addSeries(
      subject.campaignId,
      new Map([[bucketOf(event.at, record.startedAt), { unsubscribe: 1 }]]),
      new Map(),
    );
  }
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
