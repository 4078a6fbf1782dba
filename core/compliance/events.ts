/**
 * SES sending events (from a configuration set, through EventBridge): each one is joined to its recipient
 * (the `campaign` email tag the sender sets, and the recipient's address) and applied to that recipient's
 * outcome once, whatever the redeliveries (analytics-store.ts); what is new is counted on the campaign, in
 * its time series and per link. Permanent bounces and complaints put the address on the suppression list,
 * and the campaign's complaint and bounce rates are checked against their thresholds. Locally, where SES
 * produces no events, `buildSesEvent` makes the same JSON for injection.
 */
import { z } from 'zod';
import { variantCounts } from '../abtest/engagement.ts';
import { ALARM_METRIC, EVENT_METRIC_NAMES, emfLine, type MetricValue, RATE_METRICS } from '../aws/metrics.ts';
import type { CampaignRecord } from '../campaigns/store.ts';
import { CountPendingError, EventPublishError, ValidationError } from '../errors.ts';
import { elapsed, type Logger, SILENT_LOGGER } from '../logging.ts';
import { checkAddress } from '../recipients/email-address.ts';
import { parseWith } from '../schemas.ts';
import { type RecipientEventType, recipientEvent, type WebhookEvent } from '../webhooks/events.ts';
import type { Applied, ApplyOptions, CountMark } from './analytics-store.ts';
import { type CountJournal, type CountMember, groupCounts } from './count-journal.ts';
import {
  type Breach,
  type CampaignHealth,
  campaignHealth,
  EVENT_COUNTERS,
  type EventCounter,
  type RecordedAlarm,
  type Thresholds,
  updateAlarms,
} from './health.ts';
import {
  addCounts,
  type BounceCount,
  bounceHash,
  bucketOf,
  linkHash,
  type RecipientEvent,
  recipientEvents,
  SERIES_COUNTERS,
  type StatCounts,
} from './outcomes.ts';
import { type SesEventDetail, SesEventSchema } from './ses-event.ts';
import type { SuppressionReason } from './suppression.ts';

const EVENT_COUNTER_SET = new Set<string>(EVENT_COUNTERS);

/** "Bounce", "BOUNCE", "DeliveryDelay", "DELIVERY_DELAY" all name the same thing. */
const normalise = (type: string) => type.replace(/[_\s-]/g, '').toUpperCase();

const COUNTERS: Record<string, EventCounter> = {
  SEND: 'send',
  DELIVERY: 'delivery',
  COMPLAINT: 'complaint',
  REJECT: 'reject',
  DELIVERYDELAY: 'deliveryDelay',
  OPEN: 'open',
  CLICK: 'click',
  RENDERINGFAILURE: 'renderingFailure',
};

export interface ClassifiedEvent {
  eventType: string;
  /** Undefined for event types sixback does not count (Subscription...). */
  counter: EventCounter | undefined;
  campaignId: string | undefined;
  messageId: string | undefined;
  /** Addresses to suppress, and why. */
  suppress: { reason: SuppressionReason; addresses: string[] } | undefined;
}

export function classifySesEvent(detail: SesEventDetail): ClassifiedEvent {
  const eventType = normalise(detail.eventType ?? detail.notificationType ?? '');
  const tag = detail.mail.tags.campaign?.[0];
  const campaignId = tag && /^[A-Za-z0-9_-]{1,64}$/.test(tag) ? tag : undefined;
  const base = { eventType, campaignId, messageId: detail.mail.messageId };
  const addresses = (listed: { emailAddress: string }[]) =>
    (listed.length > 0 ? listed.map((r) => r.emailAddress) : detail.mail.destination)
      .map((raw) => checkAddress(raw))
      .flatMap((check) => (check.ok ? [check.address] : []));
  if (eventType === 'BOUNCE') {
    // Only a permanent bounce means the mailbox will never accept mail; transient and undetermined
    // bounces (mailbox full, greylisting) are counted but not suppressed.
    const permanent = normalise(detail.bounce?.bounceType ?? '') === 'PERMANENT';
    return {
      ...base,
      counter: permanent ? 'bounce' : 'transientBounce',
      suppress: permanent
        ? { reason: 'bounce', addresses: addresses(detail.bounce?.bouncedRecipients ?? []) }
        : undefined,
    };
  }
  if (eventType === 'COMPLAINT') {
    // "not-spam" feedback is a recipient taking back a complaint: neither counted nor suppressed.
    if (detail.complaint?.complaintFeedbackType === 'not-spam') {
      return { ...base, counter: undefined, suppress: undefined };
    }
    return {
      ...base,
      counter: 'complaint',
      suppress: { reason: 'complaint', addresses: addresses(detail.complaint?.complainedRecipients ?? []) },
    };
  }
  return { ...base, counter: COUNTERS[eventType], suppress: undefined };
}

export interface SesEventDeps {
  campaigns: {
    addEvents(id: string, counts: Partial<Record<string, number>>): Promise<CampaignRecord | undefined>;
    patch(id: string, patch: Partial<Omit<CampaignRecord, 'id' | 'status'>>): Promise<void>;
    /** The campaign with its counters (its start buckets the series; its A/B test has variant counters). */
    find?(id: string): Promise<CampaignRecord | undefined>;
  };
  suppression: { add(address: string, reason: SuppressionReason, source: string): Promise<void> };
  /**
   * Per-recipient outcomes and the time series (analytics-store.ts). Without it (unit tests of the
   * counters alone) every event is counted as it comes, repeats included.
   */
  analytics?: {
    apply(event: RecipientEvent, options?: ApplyOptions): Promise<Applied | undefined>;
    /** Takes published events out of the outbox `apply` put them in. */
    published(events: RecipientEvent[]): Promise<void>;
    addSeries(
      campaignId: string,
      buckets: Map<string, StatCounts>,
      links: Map<string, { url: string; total: number; unique: number }>,
      bounces?: Map<string, BounceCount>,
    ): Promise<void>;
    /**
     * The journal that counts each applied event exactly once (count-journal.ts), with the store's
     * `remark` and `unmark`. Without it (stand-ins in unit tests) the counts of what was applied are added
     * as they come, and a failed counter write loses them.
     */
    counts?: Pick<CountJournal, 'newToken' | 'count' | 'resolve'>;
    remark?(event: RecipientEvent, from: string, to: string): Promise<boolean>;
    unmark?(events: RecipientEvent[]): Promise<void>;
  };
  clock: () => Date;
  /** Where EMF metric lines go (stdout in Lambda, which CloudWatch turns into metrics). */
  emitMetrics?: (line: string) => void;
  thresholds?: Thresholds;
  /**
   * Recipient events for webhooks and the event bus, handed over once per batch: only those the outcome
   * store recorded as new (or recorded before and not yet published), never a redelivery's repeats.
   * Needs `analytics` (its decision is the one publishing follows). Throwing EventPublishError for some
   * events leaves them in the store's outbox, and the batch is retried for them.
   */
  publish?: (events: WebhookEvent[]) => Promise<void>;
  /** One line per batch of events, and the problems (core/logging.ts); silent when absent. */
  logger?: Logger;
}

export interface SesEventResult extends ClassifiedEvent {
  suppressed: string[];
  /** Undefined when the event names no campaign sixback knows. */
  health: CampaignHealth | undefined;
  raised: Breach[];
}

/** Parses and classifies one event, and suppresses what it says to (bounces, complaints). */
async function classifyAndSuppress(
  input: unknown,
  deps: SesEventDeps,
): Promise<{
  event: ClassifiedEvent;
  suppressed: string[];
  detail: SesEventDetail;
}> {
  const parsed = parseWith(SesEventSchema, input, 'SES event');
  const detail = ('detail' in parsed ? parsed.detail : parsed) as SesEventDetail;
  const event = classifySesEvent(detail);
  const suppressed: string[] = [];
  if (event.suppress) {
    const source = `ses:${event.suppress.reason}${event.campaignId ? `:${event.campaignId}` : ''}`;
    for (const address of event.suppress.addresses) {
      await deps.suppression.add(address, event.suppress.reason, source);
      suppressed.push(address);
    }
  }
  return { event, suppressed, detail };
}

const WEBHOOK_TYPE_OF: Partial<Record<RecipientEvent['type'], RecipientEventType>> = {
  delivery: 'recipient.delivered',
  bounce: 'recipient.bounced',
  complaint: 'recipient.complained',
  open: 'recipient.opened',
  click: 'recipient.clicked',
  unsubscribe: 'recipient.unsubscribed',
};

/** The webhook event a recipient event becomes, when subscribers hear of its kind. */
export function webhookEventOf(event: RecipientEvent): WebhookEvent | undefined {
  const type =
    event.type === 'subscription'
      ? event.unsubscribed
        ? 'recipient.unsubscribed'
        : undefined
      : WEBHOOK_TYPE_OF[event.type];
  if (!type) return undefined;
  return recipientEvent({
    id: event.id,
    type,
    campaignId: event.campaignId,
    messageId: event.messageId,
    recipient: event.email,
    at: event.at,
    details:
      event.type === 'bounce'
        ? { bounceType: event.bounceType ?? null, bounceSubType: event.bounceSubType ?? null }
        : event.type === 'click'
          ? { link: event.link ?? null }
          : event.type === 'unsubscribe'
            ? { via: 'one-click' }
            : {},
  });
}

/**
 * Publishes what the store recorded for publication, then takes it out of the store's outbox. Events the
 * bus did not take stay there, and EventPublishError is thrown after everything else in the batch is
 * done: the retried batch counts nothing again (its events are repeats) and publishes just those.
 */
async function publishRecorded(events: RecipientEvent[], deps: SesEventDeps): Promise<void> {
  if (events.length === 0 || !deps.publish || !deps.analytics) return;
  const outgoing = events.flatMap((event) => {
    const webhook = webhookEventOf(event);
    return webhook ? [{ event, webhook }] : [];
  });
  let failed = new Set<string>();
  let failure: unknown;
  try {
    await deps.publish(outgoing.map((o) => o.webhook));
  } catch (error) {
    failure = error;
    failed = new Set(
      error instanceof EventPublishError ? error.failedIds : outgoing.map((o) => o.webhook.id),
    );
  }
  await deps.analytics.published(outgoing.filter((o) => !failed.has(o.webhook.id)).map((o) => o.event));
  if (failure !== undefined)
    throw new EventPublishError(
      `webhooks: ${failed.size} recorded events not published (${(failure as Error).message}); the batch is retried for them`,
      [...failed],
      { cause: failure },
    );
}

/**
 * Adds counts to one campaign (one write, however many events they sum), re-evaluates its health and
 * alarms, and logs its rates when a counted event moves them.
 */
async function countOnCampaign(
  campaignId: string,
  counts: StatCounts,
  deps: SesEventDeps,
  now: Date,
  applied: { event: RecipientEvent; applied: Applied }[] = [],
): Promise<{ health: CampaignHealth | undefined; raised: Breach[] }> {
  const record = await deps.campaigns.addEvents(campaignId, counts);
  if (!record) return { health: undefined, raised: [] };
  if (deps.analytics && applied.length > 0) {
    const buckets = new Map<string, StatCounts>();
    const links = new Map<string, { url: string; total: number; unique: number }>();
    const bounces = new Map<string, BounceCount>();
    for (const { event, applied: delta } of applied) {
      const bucket = bucketOf(event.at, record.startedAt);
      const sums = buckets.get(bucket) ?? {};
      for (const name of SERIES_COUNTERS) if (delta.counts[name]) sums[name] = (sums[name] ?? 0) + 1;
      buckets.set(bucket, sums);
      if (event.type === 'click' && event.link) {
        const hash = linkHash(event.link);
        const link = links.get(hash) ?? { url: event.link, total: 0, unique: 0 };
        link.total++;
        if (delta.newLink) link.unique++;
        links.set(hash, link);
      }
      if (event.type === 'bounce') {
        const bounceType = event.bounceType ?? 'Undetermined';
        const bounceSubType = event.bounceSubType ?? '';
        const hash = bounceHash(bounceType, bounceSubType);
        const row = bounces.get(hash) ?? { bounceType, bounceSubType, total: 0, unique: 0 };
        row.total++;
        // The recipient's first hard (or first soft) bounce: its type and sub-type are the ones it counts under.
        if (delta.counts.uniqueHardBounce || delta.counts.uniqueSoftBounce) row.unique++;
        bounces.set(hash, row);
      }
    }
    // An A/B test's per-variant unique opens and clicks: the same first-time transitions, in the same writes.
    const firsts = applied.map(({ event, applied: delta }) => ({ key: event.key, ...delta.counts }));
    for (const [sk, sums] of variantCounts(campaignId, record.spec?.abTest, firsts)) buckets.set(sk, sums);
    await deps.analytics.addSeries(campaignId, buckets, links, bounces);
  }
  return checkHealth(campaignId, record, counts, deps, now);
}

/** Re-evaluates a campaign's health and alarms after counts were added, and logs its rates. */
async function checkHealth(
  campaignId: string,
  record: CampaignRecord,
  counts: StatCounts,
  deps: SesEventDeps,
  now: Date,
): Promise<{ health: CampaignHealth; raised: Breach[] }> {
  const health = campaignHealth(
    record.events ?? {},
    record.totals?.sent ?? record.progress.sent,
    deps.thresholds,
  );
  const update = updateAlarms((record.alarms ?? []) as RecordedAlarm[], health, now);
  if (update.changed) await deps.campaigns.patch(campaignId, { alarms: update.alarms });
  const raised = update.raised;
  if (deps.emitMetrics && (counts.complaint || counts.bounce || counts.delivery)) {
    const rates: MetricValue[] = [
      { name: RATE_METRICS.complaintRate, value: health.complaintRate * 100, unit: 'Percent' },
      { name: RATE_METRICS.bounceRate, value: health.bounceRate * 100, unit: 'Percent' },
      ...(raised.length > 0 ? [{ name: ALARM_METRIC, value: raised.length, unit: 'Count' as const }] : []),
    ];
    const alarms: Record<string, string> =
      raised.length > 0 ? { alarms: raised.map((b) => b.metric).join(',') } : {};
    deps.emitMetrics(emfLine(rates, { campaignId, perCampaign: true }, now, alarms));
  }
  return { health, raised };
}

function emitEventCount(
  deps: SesEventDeps,
  counter: EventCounter,
  value: number,
  campaignId: string | undefined,
  eventType: string,
  now: Date,
) {
  const metrics: MetricValue[] = [{ name: EVENT_METRIC_NAMES[counter], value, unit: 'Count' }];
  deps.emitMetrics?.(emfLine(metrics, { campaignId }, now, { eventType }));
}

/**
 * Records one SES event (the local injector, the handler's single-event form): the same path as a batch
 * of one. Unlike a batch, an input that is not an SES event throws a ValidationError.
 */
export async function recordSesEvent(input: unknown, deps: SesEventDeps): Promise<SesEventResult> {
  parseWith(SesEventSchema, input, 'SES event');
  const batch = await recordSesEvents([input], deps);
  const { event, suppressed } = batch.events[0] as { event: ClassifiedEvent; suppressed: string[] };
  return {
    ...event,
    suppressed,
    health: event.campaignId ? batch.health[event.campaignId] : undefined,
    raised: batch.raised,
  };
}

export interface SesEventsResult {
  /** Events recorded, and those that were not SES events at all (logged and dropped: never parseable). */
  recorded: number;
  ignored: { index: number; problem: string }[];
  /**
   * Inputs whose recording failed for a reason that may pass (a store throttled or down, the bus refusing
   * their events), by index, with the first error: only with `partial`, for the queue to deliver them,
   * and only them, again. What they did before failing is idempotent (a suppression, a recipient event
   * applied once, an event left in the outbox), so redelivery finishes the job without counting twice.
   */
  failed: { index: number; error: unknown }[];
  suppressed: string[];
  /** Counts added per campaign: one write per campaign, whatever the number of events. */
  counted: Record<string, StatCounts>;
  raised: Breach[];
  /** Recipient events that had been applied before (redelivered or repeated) and were not counted again. */
  repeated: number;
  /** Each recorded event as classified, in input order (ignored and failed ones left out). */
  events: { event: ClassifiedEvent; suppressed: string[] }[];
  /** Health of each campaign counted on, after the batch. */
  health: Record<string, CampaignHealth>;
}

/**
 * Counts one campaign's group of a batch exactly once through the journal (count-journal.ts), then checks
 * its health. The campaign's counters as read before the group, plus the group's: the health seen.
 */
async function countGroup(
  campaignId: string,
  token: string,
  members: CountMember[],
  deps: SesEventDeps,
  counts: NonNullable<NonNullable<SesEventDeps['analytics']>['counts']>,
  now: Date,
): Promise<{ health: CampaignHealth | undefined; raised: Breach[] }> {
  if (!deps.campaigns.find) throw new Error('counting through the journal needs campaigns.find');
  const record = await deps.campaigns.find(campaignId);
  if (!record) return { health: undefined, raised: [] };
  await counts.count(
    { id: campaignId, startedAt: record.startedAt, abTest: record.spec?.abTest },
    token,
    members,
  );
  const added = groupCounts(members);
  const events: Record<string, number> = {};
  for (const [name, value] of Object.entries(record.events ?? {})) events[name] = value ?? 0;
  for (const [name, value] of Object.entries(added)) events[name] = (events[name] ?? 0) + (value ?? 0);
  return checkHealth(campaignId, { ...record, events }, added, deps, now);
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Applies recipient events with a bounded number of writes in flight; each settles on its own. */
async function applyAll(
  events: RecipientEvent[],
  analytics: NonNullable<SesEventDeps['analytics']>,
  publishes: (event: RecipientEvent) => boolean,
  tokenOf: (event: RecipientEvent) => string | undefined,
  concurrency = 16,
): Promise<Settled<Applied | undefined>[]> {
  const results: Settled<Applied | undefined>[] = new Array(events.length);
  let next = 0;
  const worker = async () => {
    while (next < events.length) {
      const index = next++;
      const event = events[index] as RecipientEvent;
      try {
        const token = tokenOf(event);
        results[index] = {
          ok: true,
          value: await analytics.apply(event, { publish: publishes(event), ...(token ? { token } : {}) }),
        };
      } catch (error) {
        results[index] = { ok: false, error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, events.length) }, worker));
  return results;
}

/**
 * Records a batch of SES events (the SQS queue between EventBridge and the function delivers up to 100 at
 * a time): suppressions one by one, counts summed per campaign and written once per campaign. A campaign
 * sending 3,500 emails a second produces as many delivery events, far more than the ~1,000 writes a
 * second one DynamoDB item takes; batched, it is a few writes a second.
 *
 * Without `partial`, the first failure that is not a ValidationError throws (the whole batch is retried).
 * With it, a failure fails only the inputs it concerns: its own suppression or recipient-event write, a
 * campaign's one counter write (every input counted on that campaign), or the bus refusing its events;
 * the rest is recorded.
 */
export async function recordSesEvents(
  inputs: unknown[],
  deps: SesEventDeps,
  options: { partial?: boolean } = {},
): Promise<SesEventsResult> {
  const log = deps.logger ?? SILENT_LOGGER;
  const startedAt = performance.now();
  const now = deps.clock();
  const result: SesEventsResult = {
    recorded: 0,
    ignored: [],
    failed: [],
    suppressed: [],
    counted: {},
    raised: [],
    repeated: 0,
    events: [],
    health: {},
  };
  const failures = new Map<number, unknown>();
  const fail = (indices: Iterable<number>, error: unknown) => {
    if (!options.partial) throw error;
    for (const index of indices) if (!failures.has(index)) failures.set(index, error);
  };
  const recorded: { index: number; event: ClassifiedEvent; suppressed: string[] }[] = [];
  /** The inputs counted on each campaign: its counter write failing fails them all. */
  const contributors = new Map<string, Set<number>>();
  const contributes = (campaignId: string, index: number) => {
    const set = contributors.get(campaignId) ?? new Set<number>();
    set.add(index);
    contributors.set(campaignId, set);
  };
  const perType = new Map<
    string,
    { counter: EventCounter; eventType: string; campaignId?: string; n: number }
  >();
  const countMetric = (
    counter: EventCounter,
    eventType: string,
    campaignId: string | undefined,
    n: number,
  ) => {
    const key = `${campaignId ?? ''}|${counter}|${eventType}`;
    const entry = perType.get(key);
    if (entry) entry.n += n;
    else perType.set(key, { counter, eventType, ...(campaignId ? { campaignId } : {}), n });
  };
  const toApply: RecipientEvent[] = [];
  const toApplyIndex: number[] = [];
  for (const [index, input] of inputs.entries()) {
    let classified: Awaited<ReturnType<typeof classifyAndSuppress>>;
    try {
      classified = await classifyAndSuppress(input, deps);
    } catch (error) {
      if (error instanceof ValidationError) result.ignored.push({ index, problem: error.message });
      else fail([index], error);
      continue;
    }
    const { event, suppressed, detail } = classified;
    result.suppressed.push(...suppressed);
    recorded.push({ index, event, suppressed });
    const recipients = deps.analytics && event.campaignId ? recipientEvents(detail) : [];
    if (recipients.length > 0) {
      for (const recipient of recipients) {
        toApply.push(recipient);
        toApplyIndex.push(index);
      }
      continue;
    }
    if (!event.counter) continue;
    if (event.campaignId) {
      const counts = result.counted[event.campaignId] ?? {};
      counts[event.counter] = (counts[event.counter] ?? 0) + 1;
      result.counted[event.campaignId] = counts;
      contributes(event.campaignId, index);
    }
    countMetric(event.counter, event.eventType, event.campaignId, 1);
  }
  // Each recipient event applied once: what was applied before (a redelivered batch) adds nothing. An
  // event applied is counted even when another write of its message failed: redelivery will not apply
  // it again.
  const appliedBy = new Map<string, { event: RecipientEvent; applied: Applied }[]>();
  // Recorded as new (or recorded by an earlier delivery that did not get to publish): to publish, once
  // even when the batch holds the event twice (the second is a repeat that sees it still unpublished).
  const toPublish = new Map<string, RecipientEvent>();
  /** The inputs each recipient event came from, for a publish the bus refused. */
  const inputsOf = new Map<string, number[]>();
  // With the journal, each campaign's applied events are one count group, its token marked on each
  // recipient in the write that applies the event (count-journal.ts).
  const journal = deps.analytics?.counts;
  const tokens = new Map<string, string>();
  const tokenOf = (campaignId: string) => {
    if (!journal) return undefined;
    let token = tokens.get(campaignId);
    if (!token) {
      token = journal.newToken();
      tokens.set(campaignId, token);
    }
    return token;
  };
  const groups = new Map<string, { members: CountMember[]; inputs: Set<number>; capped: RecipientEvent[] }>();
  const groupOf = (campaignId: string) => {
    const group = groups.get(campaignId) ?? { members: [], inputs: new Set<number>(), capped: [] };
    groups.set(campaignId, group);
    return group;
  };
  const ownRepeats = new Map<string, { event: RecipientEvent; mark: CountMark; index: number }>();
  /** Repeats marked with another group's token: what that group's journal says decides. */
  const marked = new Map<
    string,
    {
      campaignId: string;
      token: string;
      events: Map<string, { event: RecipientEvent; mark: CountMark; inputs: number[] }>;
    }
  >();
  const metricOf = (event: RecipientEvent, counts: StatCounts) => {
    for (const [name, value] of Object.entries(counts))
      if (value && (EVENT_COUNTER_SET as Set<string>).has(name))
        countMetric(name as EventCounter, event.type.toUpperCase(), event.campaignId, value);
  };
  if (deps.analytics && toApply.length > 0) {
    const publishes = (event: RecipientEvent) =>
      deps.publish !== undefined && webhookEventOf(event) !== undefined;
    const outcomes = await applyAll(toApply, deps.analytics, publishes, (event) => tokenOf(event.campaignId));
    for (const [i, outcome] of outcomes.entries()) {
      const event = toApply[i] as RecipientEvent;
      const index = toApplyIndex[i] as number;
      if (!outcome.ok) {
        fail([index], outcome.error);
        continue;
      }
      const applied = outcome.value;
      if (applied?.publish) {
        toPublish.set(event.id, event);
        inputsOf.set(event.id, [...(inputsOf.get(event.id) ?? []), index]);
      }
      if (!applied || applied.repeat) {
        result.repeated++;
        const mark = applied?.mark;
        // Marked with this batch's own token: the batch held it twice, or the client retried a write
        // whose answer was lost (the retry is the repeat). Either way this batch's group counts it, once.
        if (journal && mark && mark.token === tokens.get(event.campaignId)) {
          ownRepeats.set(event.id, { event, mark, index });
        } else if (journal && mark) {
          const key = `${event.campaignId}\u0000${mark.token}`;
          const entry = marked.get(key) ?? {
            campaignId: event.campaignId,
            token: mark.token,
            events: new Map(),
          };
          const known = entry.events.get(event.id);
          if (known) known.inputs.push(index);
          else entry.events.set(event.id, { event, mark, inputs: [index] });
          marked.set(key, entry);
        }
        continue;
      }
      if (journal) {
        const group = groupOf(event.campaignId);
        group.members.push({ event, counts: applied.counts, newLink: applied.newLink });
        group.inputs.add(index);
        if (applied.capped) group.capped.push(event);
        metricOf(event, applied.counts);
        continue;
      }
      const list = appliedBy.get(event.campaignId) ?? [];
      list.push({ event, applied });
      appliedBy.set(event.campaignId, list);
      result.counted[event.campaignId] = addCounts(result.counted[event.campaignId] ?? {}, applied.counts);
      contributes(event.campaignId, index);
      metricOf(event, applied.counts);
    }
  }
  for (const [id, { event, mark, index }] of ownRepeats) {
    const group = groupOf(event.campaignId);
    if (group.members.some((m) => m.event.id === id)) continue;
    group.members.push({ event, counts: mark.counts, newLink: mark.newLink });
    group.inputs.add(index);
    metricOf(event, mark.counts);
  }
  // Redelivered events whose earlier group did not get to count them: finished, taken into this batch's
  // group (orphans, marked again), or left to come back later (a group whose writer may still run).
  for (const { campaignId, token, events } of marked.values()) {
    if (!journal || !deps.analytics?.remark) break;
    const own = tokenOf(campaignId) as string;
    let states: Map<string, string>;
    try {
      states = await journal.resolve(campaignId, token, [...events.keys()], own);
    } catch (error) {
      fail(
        [...events.values()].flatMap((e) => e.inputs),
        error,
      );
      continue;
    }
    for (const [id, { event, mark, inputs }] of events) {
      const state = states.get(id);
      if (state === 'counted') continue;
      let moved = false;
      if (state === 'orphan') {
        try {
          moved = await deps.analytics.remark(event, token, own);
        } catch (error) {
          fail(inputs, error);
          continue;
        }
      }
      if (!moved) {
        fail(
          inputs,
          new CountPendingError(
            `event ${id} of campaign ${campaignId}: its count group ${token} is still open`,
          ),
        );
        continue;
      }
      const group = groupOf(campaignId);
      group.members.push({ event, counts: mark.counts, newLink: mark.newLink });
      for (const index of inputs) group.inputs.add(index);
      metricOf(event, mark.counts);
    }
  }
  const failedCampaigns = new Set<string>();
  for (const [campaignId, counts] of Object.entries(result.counted)) {
    let counted: Awaited<ReturnType<typeof countOnCampaign>>;
    try {
      counted = await countOnCampaign(campaignId, counts, deps, now, appliedBy.get(campaignId));
    } catch (error) {
      fail(contributors.get(campaignId) ?? [], error);
      failedCampaigns.add(campaignId);
      delete result.counted[campaignId];
      continue;
    }
    result.raised.push(...counted.raised);
    if (counted.health) result.health[campaignId] = counted.health;
  }
  for (const [campaignId, group] of groups) {
    if (!journal || group.members.length === 0) continue;
    let counted: Awaited<ReturnType<typeof countGroup>>;
    try {
      counted = await countGroup(
        campaignId,
        tokenOf(campaignId) as string,
        group.members,
        deps,
        journal,
        now,
      );
    } catch (error) {
      fail(group.inputs, error);
      failedCampaigns.add(campaignId);
      delete result.counted[campaignId];
      continue;
    }
    if (group.capped.length > 0) await deps.analytics?.unmark?.(group.capped).catch(() => undefined);
    if (!failedCampaigns.has(campaignId))
      result.counted[campaignId] = addCounts(result.counted[campaignId] ?? {}, groupCounts(group.members));
    result.raised.push(...counted.raised);
    if (counted.health) result.health[campaignId] = counted.health;
  }
  for (const entry of perType.values())
    if (!entry.campaignId || !failedCampaigns.has(entry.campaignId))
      emitEventCount(deps, entry.counter, entry.n, entry.campaignId, entry.eventType, now);
  for (const ignored of result.ignored)
    log.warn('SES events: a message is not an SES event; dropped', {
      index: ignored.index,
      problem: ignored.problem,
    });
  for (const breach of result.raised) log.warn('SES events: deliverability alarm raised', { ...breach });
  // After the batch is recorded and counted, once for the batch: a failed publish never undoes either.
  // What the bus refused stays in the outbox; with `partial` only its messages are delivered again.
  try {
    await publishRecorded([...toPublish.values()], deps);
  } catch (error) {
    log.error('SES events: publishing recorded events failed', { events: toPublish.size, error });
    // EventPublishError names what the bus refused; any other error (the outbox not cleared) concerns
    // every event handed over.
    const refused = error instanceof EventPublishError ? new Set(error.failedIds) : undefined;
    const indices = [...toPublish.values()]
      .filter((event) => !refused || refused.has(webhookEventOf(event)?.id ?? ''))
      .flatMap((event) => inputsOf.get(event.id) ?? []);
    fail(indices, error);
  }
  result.failed = [...failures].map(([index, error]) => ({ index, error })).sort((a, b) => a.index - b.index);
  for (const { index, event, suppressed } of recorded)
    if (!failures.has(index)) result.events.push({ event, suppressed });
  result.recorded = result.events.length;
  log.info('SES events recorded', {
    events: inputs.length,
    recorded: result.recorded,
    failed: result.failed.length,
    ignored: result.ignored.length,
    repeated: result.repeated,
    suppressed: result.suppressed.length,
    campaigns: Object.keys(result.counted).length,
    alarms: result.raised.length,
    durationMs: elapsed(startedAt),
  });
  return result;
}

export const INJECTABLE_EVENT_TYPES = [
  'bounce',
  'soft-bounce',
  'complaint',
  'delivery',
  'reject',
  'delivery-delay',
  'open',
  'click',
] as const;
export type InjectableEventType = (typeof INJECTABLE_EVENT_TYPES)[number];

export const InjectEventSchema = z.object({
  type: z.enum(INJECTABLE_EVENT_TYPES),
  email: z.string().trim().email('must be an email address'),
  campaignId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'use 1-64 letters, digits, "-" or "_"'),
  messageId: z.string().optional(),
});
export type InjectEvent = z.input<typeof InjectEventSchema>;

/**
 * An event as SES would publish it to EventBridge, for the local stack (whose SES produces no events)
 * and for tests: it goes through `recordSesEvent` like a real one.
 */
export function buildSesEvent(input: InjectEvent, now: Date = new Date()) {
  const spec = parseWith(InjectEventSchema, input, 'event to inject');
  const at = now.toISOString();
  const mail = {
    timestamp: at,
    source: 'sender@sixback.local',
    messageId: spec.messageId ?? `local-${now.getTime().toString(36)}`,
    destination: [spec.email],
    tags: { campaign: [spec.campaignId], 'ses:configuration-set': ['sixback-local'] },
  };
  const recipient = [{ emailAddress: spec.email }];
  const details: Record<InjectableEventType, [string, string, Record<string, unknown>]> = {
    bounce: [
      'Email Bounced',
      'Bounce',
      {
        bounce: {
          bounceType: 'Permanent',
          bounceSubType: 'General',
          bouncedRecipients: [{ ...recipient[0], action: 'failed', status: '5.1.1' }],
          timestamp: at,
        },
      },
    ],
    'soft-bounce': [
      'Email Bounced',
      'Bounce',
      {
        bounce: {
          bounceType: 'Transient',
          bounceSubType: 'MailboxFull',
          bouncedRecipients: recipient,
          timestamp: at,
        },
      },
    ],
    complaint: [
      'Email Complaint Received',
      'Complaint',
      { complaint: { complainedRecipients: recipient, complaintFeedbackType: 'abuse', timestamp: at } },
    ],
    delivery: ['Email Delivered', 'Delivery', { delivery: { recipients: [spec.email], timestamp: at } }],
    reject: ['Email Rejected', 'Reject', { reject: { reason: 'Bad content' } }],
    'delivery-delay': [
      'Email Delivery Delayed',
      'DeliveryDelay',
      { deliveryDelay: { delayType: 'MailboxFull', delayedRecipients: recipient, timestamp: at } },
    ],
    open: ['Email Opened', 'Open', { open: { timestamp: at } }],
    click: ['Email Clicked', 'Click', { click: { timestamp: at, link: 'https://example.com/' } }],
  };
  const [detailType, eventType, extra] = details[spec.type];
  return {
    version: '0',
    id: `local-${now.getTime().toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
    'detail-type': detailType,
    source: 'aws.ses',
    time: at,
    region: 'local',
    resources: [],
    detail: { eventType, mail, ...extra },
  };
}
