/**
 * Deliverability health of one campaign, as a pure function of its counters: the complaint rate and the
 * bounce rate against the thresholds mailbox providers and SES hold senders to. Gmail and Yahoo want
 * complaints under 0.1% (never 0.3%); SES reviews accounts whose bounce rate passes 5%.
 */

export const EVENT_COUNTERS = [
  'send',
  'delivery',
  'bounce',
  'transientBounce',
  'complaint',
  'reject',
  'deliveryDelay',
  'open',
  'click',
  'renderingFailure',
  'unsubscribe',
] as const;
export type EventCounter = (typeof EVENT_COUNTERS)[number];
export type EventCounts = Partial<Record<EventCounter, number>>;

export const DEFAULT_THRESHOLDS = {
  /** Complaints per email sent, as a fraction: 0.001 = 0.1%. */
  complaintRate: 0.001,
  /** Permanent bounces per email sent: 0.05 = 5%. */
  bounceRate: 0.05,
} as const;
export type Thresholds = { complaintRate: number; bounceRate: number };

export type HealthMetric = keyof Thresholds;

export interface Breach {
  metric: HealthMetric;
  value: number;
  threshold: number;
}

export interface CampaignHealth {
  /** Emails the rates are measured against. */
  sent: number;
  complaintRate: number;
  bounceRate: number;
  status: 'ok' | 'alarm';
  breaches: Breach[];
}

/**
 * Rates over the emails sent. Events can outrun the progress counters (a bounce may be counted before
 * its batch reports), so the denominator is the largest of the counts that each imply a send.
 */
export function campaignHealth(
  events: EventCounts,
  sentByCampaign: number,
  thresholds: Thresholds = DEFAULT_THRESHOLDS,
): CampaignHealth {
  const n = (name: EventCounter) => events[name] ?? 0;
  const sent = Math.max(
    sentByCampaign,
    n('send'),
    n('delivery') + n('bounce') + n('transientBounce') + n('reject'),
    n('complaint') + n('bounce'),
  );
  const complaintRate = sent === 0 ? 0 : n('complaint') / sent;
  const bounceRate = sent === 0 ? 0 : n('bounce') / sent;
  const breaches: Breach[] = [];
  if (complaintRate > thresholds.complaintRate) {
    breaches.push({ metric: 'complaintRate', value: complaintRate, threshold: thresholds.complaintRate });
  }
  if (bounceRate > thresholds.bounceRate) {
    breaches.push({ metric: 'bounceRate', value: bounceRate, threshold: thresholds.bounceRate });
  }
  return { sent, complaintRate, bounceRate, status: breaches.length > 0 ? 'alarm' : 'ok', breaches };
}

export interface RecordedAlarm extends Breach {
  raisedAt: string;
}

/**
 * The campaign's alarm list after a new health reading: an alarm is raised once per metric and then
 * stays (with its latest value), because a breach already hurt the sender's reputation even if later
 * deliveries dilute the rate. Returns `raised` for the metrics that are new.
 */
export function updateAlarms(
  existing: readonly RecordedAlarm[],
  health: CampaignHealth,
  now: Date,
): { alarms: RecordedAlarm[]; raised: Breach[]; changed: boolean } {
  const alarms = existing.map((alarm) => ({ ...alarm }));
  const raised: Breach[] = [];
  let changed = false;
  for (const breach of health.breaches) {
    const current = alarms.find((alarm) => alarm.metric === breach.metric);
    if (!current) {
      alarms.push({ ...breach, raisedAt: now.toISOString() });
      raised.push(breach);
      changed = true;
    } else if (breach.value > current.value) {
      current.value = breach.value;
      changed = true;
    }
  }
  return { alarms, raised, changed };
}

/** What a campaign status shows about deliverability. */
export function deliverabilityView(record: {
  events?: Partial<Record<string, number>> | undefined;
  alarms?:
    | RecordedAlarm[]
    | { metric: string; value: number; threshold: number; raisedAt: string }[]
    | undefined;
  progress: { sent: number };
  totals?: { sent: number } | undefined;
}) {
  const events = (record.events ?? {}) as EventCounts;
  const health = campaignHealth(events, record.totals?.sent ?? record.progress.sent);
  return {
    events: Object.fromEntries(EVENT_COUNTERS.map((name) => [name, events[name] ?? 0])) as Record<
      EventCounter,
      number
    >,
    complaintRate: health.complaintRate,
    bounceRate: health.bounceRate,
    status: (record.alarms?.length ?? 0) > 0 ? ('alarm' as const) : health.status,
    alarms: record.alarms ?? [],
  };
}

const percent = (fraction: number) => `${(fraction * 100).toFixed(2)}%`;

/** One alarm for people: `ALARM complaintRate 2.22% > 0.10%`, the same words everywhere it is shown. */
export function describeAlarm(alarm: { metric: string; value: number; threshold: number }): string {
  return `ALARM ${alarm.metric} ${percent(alarm.value)} > ${percent(alarm.threshold)}`;
}

/** The event counts that are not zero, `delivery 40, bounce 3, complaint 1`; '' when there are none. */
export function describeEvents(events: Partial<Record<string, number>>): string {
  return EVENT_COUNTERS.filter((name) => (events[name] ?? 0) > 0)
    .map((name) => `${name} ${events[name]}`)
    .join(', ');
}

/** The rates with their thresholds: `complaints 2.22% (limit 0.10%), bounces 0.00% (limit 5.00%)`. */
export function describeRates(view: { complaintRate: number; bounceRate: number }): string {
  return `complaints ${percent(view.complaintRate)} (limit ${percent(DEFAULT_THRESHOLDS.complaintRate)}), bounces ${percent(view.bounceRate)} (limit ${percent(DEFAULT_THRESHOLDS.bounceRate)})`;
}
