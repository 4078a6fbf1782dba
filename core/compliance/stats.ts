/**
 * Campaign analytics from the counter items (core/campaigns/counters.ts, analytics-store.ts): counts,
 * rates and a time series, as a pure function of the items and the campaign record. Unique counts are
 * recipients (each counted once, on their first event of that kind); totals are events.
 */
import { z } from 'zod';
import { isCounterName } from '../campaigns/counters.ts';
import type { CampaignRecord, CampaignStore } from '../campaigns/store.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import { addressKey, checkAddress } from '../recipients/email-address.ts';
import { isSentEntry, type Ledger } from '../sending/ledger.ts';
import type { AnalyticsStore } from './analytics-store.ts';
import {
  isHardBounce,
  MINUTE_BUCKET_HOURS,
  type RecipientOutcome,
  type SERIES_COUNTERS,
} from './outcomes.ts';

const count = z.number().int().nonnegative();
const rate = z.number().min(0);

const SeriesPointSchema = z.object({
  /** Start of the interval, UTC. */
  start: z.string(),
  resolution: z.enum(['minute', 'hour']),
  sent: count,
  delivered: count,
  bouncedHard: count,
  bouncedSoft: count,
  complained: count,
  opened: count,
  clicked: count,
  unsubscribed: count,
});

export const CampaignStatsSchema = z.object({
  campaignId: z.string(),
  generatedAt: z.string(),
  /** Emails SES accepted: the ledger's count, or the Send events if more have arrived. */
  sent: count,
  counts: z.object({
    delivered: count,
    bounced: z.object({ hard: count, soft: count, total: count }),
    complained: count,
    rejected: count,
    delayed: count,
    renderingFailed: count,
    opened: z.object({ unique: count, total: count }),
    clicked: z.object({ unique: count, total: count }),
    unsubscribed: count,
  }),
  /** Fractions (0.25 = 25%): delivery, bounces and complaints per email sent; engagement per delivery. */
  rates: z.object({
    delivery: rate,
    bounce: rate,
    hardBounce: rate,
    softBounce: rate,
    complaint: rate,
    open: rate,
    click: rate,
    clickToOpen: rate,
    unsubscribe: rate,
  }),
  links: z.array(z.object({ url: z.string(), unique: count, total: count })),
  /**
   * Bounces by SES's type and sub-type, hard (Permanent) first: `unique` recipients (each under the type
   * of their first hard, or first soft, bounce: the hard rows add up to `counts.bounced.hard`, the soft
   * ones to `counts.bounced.soft`) and `total` bounce events.
   */
  bounces: z.array(
    z.object({
      type: z.string(),
      subType: z.string(),
      hard: z.boolean(),
      unique: count,
      total: count,
    }),
  ),
  series: z.object({
    /** Buckets are per minute until this time (MINUTE_BUCKET_HOURS after the start), per hour after. */
    minutesUntil: z.string().nullable(),
    points: z.array(SeriesPointSchema),
  }),
  notes: z.array(z.string()),
});
export type CampaignStats = z.infer<typeof CampaignStatsSchema>;
export type SeriesPoint = z.infer<typeof SeriesPointSchema>;

const ratio = (n: number, d: number) => (d > 0 ? n / d : 0);

export const OPENS_NOTE =
  'Opens are counted from the tracking pixel SES adds: mail clients that load images ahead of the reader ' +
  '(Apple Mail Privacy Protection, some security scanners) open every message, so opens overstate readers; ' +
  'SES does not mark these machine opens. Clicks are the better signal.';

export function campaignStats(
  record: Pick<CampaignRecord, 'id' | 'progress' | 'totals' | 'startedAt' | 'events' | 'uniqueEvents'>,
  items: Record<string, unknown>[],
  now: Date,
): CampaignStats {
  // The record's `events` are its counter shards summed (CampaignStore.find): event totals and the unique
  // counts; the time buckets, links and bounce types come from the items.
  const events = { ...record.events, ...record.uniqueEvents } as Record<string, number>;
  const n = (name: string) => events[name] ?? 0;
  const sent = Math.max(record.totals?.sent ?? record.progress?.sent ?? 0, n('uniqueSend'));
  const delivered = n('uniqueDelivery');
  const hard = n('uniqueHardBounce');
  const soft = n('uniqueSoftBounce');
  const complained = n('uniqueComplaint');
  const openedUnique = n('uniqueOpen');
  const clickedUnique = n('uniqueClick');
  const unsubscribed = n('uniqueUnsubscribe');

  const links = new Map<string, { url: string; unique: number; total: number }>();
  const buckets = new Map<string, Record<string, number>>();
  const bounces = new Map<string, CampaignStats['bounces'][number]>();
  for (const item of items) {
    const sk = String(item.sk);
    if (sk.startsWith('b#')) {
      const type = String(item.bounceType ?? 'Undetermined');
      const row = bounces.get(sk) ?? {
        type,
        subType: String(item.bounceSubType ?? ''),
        hard: isHardBounce({ bounceType: type }),
        unique: 0,
        total: 0,
      };
      row.unique += Number(item.unique ?? 0);
      row.total += Number(item.total ?? 0);
      bounces.set(sk, row);
    } else if (sk.startsWith('l#')) {
      const link = links.get(sk) ?? { url: String(item.url ?? ''), unique: 0, total: 0 };
      link.unique += Number(item.unique ?? 0);
      link.total += Number(item.total ?? 0);
      links.set(sk, link);
    } else if (sk.startsWith('m#') || sk.startsWith('h#')) {
      const sums = buckets.get(sk) ?? {};
      for (const [name, value] of Object.entries(item))
        if (typeof value === 'number' && isCounterName(name)) sums[name] = (sums[name] ?? 0) + value;
      buckets.set(sk, sums);
    }
  }
  const points: SeriesPoint[] = [...buckets.entries()]
    .map(([sk, c]) => {
      const minute = sk.startsWith('m#');
      const start = `${sk.slice(2)}${minute ? ':00.000Z' : ':00:00.000Z'}`;
      const v = (name: (typeof SERIES_COUNTERS)[number]) => c[name] ?? 0;
      return {
        start,
        resolution: minute ? ('minute' as const) : ('hour' as const),
        sent: v('send'),
        delivered: v('delivery'),
        bouncedHard: v('bounce'),
        bouncedSoft: v('transientBounce'),
        complained: v('complaint'),
        opened: v('open'),
        clicked: v('click'),
        unsubscribed: v('unsubscribe'),
      };
    })
    .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const started = record.startedAt ? Date.parse(record.startedAt) : Number.NaN;

  return {
    campaignId: record.id,
    generatedAt: now.toISOString(),
    sent,
    counts: {
      delivered,
      bounced: { hard, soft, total: n('bounce') + n('transientBounce') },
      complained,
      rejected: n('uniqueReject'),
      delayed: n('deliveryDelay'),
      renderingFailed: n('renderingFailure'),
      opened: { unique: openedUnique, total: n('open') },
      clicked: { unique: clickedUnique, total: n('click') },
      unsubscribed,
    },
    rates: {
      delivery: ratio(delivered, sent),
      bounce: ratio(hard + soft, sent),
      hardBounce: ratio(hard, sent),
      softBounce: ratio(soft, sent),
      complaint: ratio(complained, sent),
      open: ratio(openedUnique, delivered),
      click: ratio(clickedUnique, delivered),
      clickToOpen: ratio(clickedUnique, openedUnique),
      unsubscribe: ratio(unsubscribed, delivered),
    },
    links: [...links.values()].sort((a, b) => b.total - a.total || (a.url < b.url ? -1 : 1)),
    bounces: [...bounces.values()].sort(
      (a, b) =>
        Number(b.hard) - Number(a.hard) ||
        b.unique - a.unique ||
        b.total - a.total ||
        (`${a.type}/${a.subType}` < `${b.type}/${b.subType}` ? -1 : 1),
    ),
    series: {
      minutesUntil: Number.isNaN(started)
        ? null
        : new Date(started + MINUTE_BUCKET_HOURS * 3_600_000).toISOString(),
      points,
    },
    notes: [OPENS_NOTE],
  };
}

const TimelineEntrySchema = z.object({ at: z.string(), type: z.string(), detail: z.string().optional() });

/** One recipient of a campaign: what the ledger says was sent, and everything SES said after. */
export const RecipientOutcomeSchema = z.object({
  campaignId: z.string(),
  email: z.string(),
  /** sent / failed (the send ledger), or null when the campaign never tried this address. */
  send: z
    .object({
      state: z.enum(['sent', 'failed']),
      messageId: z.string().nullable(),
      reason: z.string().nullable(),
    })
    .nullable(),
  outcome: z.object({
    deliveredAt: z.string().nullable(),
    bounceType: z.string().nullable(),
    bounceSubType: z.string().nullable(),
    bounceReason: z.string().nullable(),
    hardBouncedAt: z.string().nullable(),
    softBounces: count,
    complainedAt: z.string().nullable(),
    complaintType: z.string().nullable(),
    rejectedAt: z.string().nullable(),
    rejectReason: z.string().nullable(),
    delays: count,
    firstOpenedAt: z.string().nullable(),
    opens: count,
    firstClickedAt: z.string().nullable(),
    clicks: count,
    linksClicked: z.array(z.string()),
    unsubscribedAt: z.string().nullable(),
  }),
  /** Events oldest first (the first 100 that arrived; counts above include every one). */
  timeline: z.array(TimelineEntrySchema),
});
export type RecipientOutcomeView = z.infer<typeof RecipientOutcomeSchema>;

export interface AnalyticsDeps {
  campaigns: Pick<CampaignStore, 'get'>;
  analytics: Pick<AnalyticsStore, 'counterItems' | 'recipient'>;
  ledger: Pick<Ledger, 'lookup'>;
  clock: () => Date;
}

/** GET /v1/campaigns/{id}/stats. */
export async function getCampaignStats(campaignId: string, deps: AnalyticsDeps): Promise<CampaignStats> {
  const record = await deps.campaigns.get(campaignId);
  const items = await deps.analytics.counterItems(campaignId);
  return campaignStats(record, items, deps.clock());
}

/** GET /v1/campaigns/{id}/recipients/{email}: one person's outcome and timeline. */
export async function getRecipientOutcome(
  campaignId: string,
  email: string,
  deps: AnalyticsDeps,
): Promise<RecipientOutcomeView> {
  await deps.campaigns.get(campaignId);
  const check = checkAddress(email);
  if (!check.ok) {
    throw new ValidationError(`"${email}" is not an email address.`, {
      details: [{ path: 'email', problem: check.reason }],
    });
  }
  const key = addressKey(check.address);
  const [outcome, ledger] = await Promise.all([
    deps.analytics.recipient(campaignId, key),
    deps.ledger.lookup(campaignId, [key]),
  ]);
  const entry = ledger.get(key);
  if (!outcome && !entry) {
    throw new NotFoundError(
      `Campaign ${campaignId} has no recipient ${check.address} (nothing sent, no events).`,
      {
        details: { campaignId, email: check.address },
      },
    );
  }
  const o = outcome ?? ({} as Partial<RecipientOutcome>);
  const orNull = (v: string | undefined) => v ?? null;
  return {
    campaignId,
    email: o.email ?? check.address,
    send: entry
      ? {
          state: isSentEntry(entry) ? 'sent' : 'failed',
          messageId: entry.messageId ?? null,
          reason: entry.reason ?? null,
        }
      : null,
    outcome: {
      deliveredAt: orNull(o.deliveredAt),
      bounceType: orNull(o.bounceType),
      bounceSubType: orNull(o.bounceSubType),
      bounceReason: orNull(o.bounceReason),
      hardBouncedAt: orNull(o.hardBouncedAt),
      softBounces: o.softBounces ?? 0,
      complainedAt: orNull(o.complainedAt),
      complaintType: orNull(o.complaintType),
      rejectedAt: orNull(o.rejectedAt),
      rejectReason: orNull(o.rejectReason),
      delays: o.delays ?? 0,
      firstOpenedAt: orNull(o.firstOpenedAt),
      opens: o.opens ?? 0,
      firstClickedAt: orNull(o.firstClickedAt),
      clicks: o.clicks ?? 0,
      linksClicked: o.links ?? [],
      unsubscribedAt: orNull(o.unsubscribedAt),
    },
    timeline: o.timeline ?? [],
  };
}
