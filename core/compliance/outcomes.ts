/**
 * Per-recipient outcomes of SES events, as pure functions: which recipient of which campaign an event is
 * about (the `campaign` email tag SES echoes in mail.tags, and the recipient's address: sixback sends one
 * message per recipient), the event's identity (the same event delivered twice has the same identity), what
 * it changes on the recipient, and what a recipient's change adds to the campaign's counters. The store
 * (analytics-store.ts) applies them with conditional writes; these functions decide what they mean.
 */
import { createHash } from 'node:crypto';
import { addressKey, checkAddress } from '../recipients/email-address.ts';
import { EVENT_COUNTERS } from './health.ts';
import type { SesEventDetail } from './ses-event.ts';

export const OUTCOME_TYPES = [
  'send',
  'delivery',
  'bounce',
  'complaint',
  'reject',
  'deliveryDelay',
  'renderingFailure',
  'open',
  'click',
  'subscription',
  'unsubscribe',
] as const;
export type OutcomeType = (typeof OUTCOME_TYPES)[number];

/** One event about one recipient: what the store applies. */
export interface RecipientEvent {
  /** The event's identity: the same for a redelivered or repeated event, different for two opens. */
  id: string;
  campaignId: string;
  /** The recipient key (core/recipients/email-address.ts addressKey): how the ledger knows them too. */
  key: string;
  email: string;
  messageId?: string;
  type: OutcomeType;
  /** When it happened (the event's own timestamp; the mail's when it has none), ISO 8601. */
  at: string;
  /** Bounce: Permanent (hard), Transient (soft) or Undetermined, and SES's sub-type. */
  bounceType?: string;
  bounceSubType?: string;
  /** Bounce diagnostic, reject reason, rendering error, delay type, complaint feedback type. */
  reason?: string;
  /** Click: the link followed. */
  link?: string;
  /** Subscription: the recipient unsubscribed (from every topic, or from one). */
  unsubscribed?: boolean;
}

const TYPES: Record<string, OutcomeType> = {
  SEND: 'send',
  DELIVERY: 'delivery',
  BOUNCE: 'bounce',
  COMPLAINT: 'complaint',
  REJECT: 'reject',
  DELIVERYDELAY: 'deliveryDelay',
  RENDERINGFAILURE: 'renderingFailure',
  OPEN: 'open',
  CLICK: 'click',
  SUBSCRIPTION: 'subscription',
};

/** The sub-object SES puts beside `mail` for each event type (Rendering Failure calls it `failure`). */
const SUB_OBJECT: Record<OutcomeType, string> = {
  send: 'send',
  delivery: 'delivery',
  bounce: 'bounce',
  complaint: 'complaint',
  reject: 'reject',
  deliveryDelay: 'deliveryDelay',
  renderingFailure: 'failure',
  open: 'open',
  click: 'click',
  subscription: 'subscription',
  unsubscribe: 'unsubscribe',
};

const CAMPAIGN_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** JSON with keys sorted, so the same object hashes the same whatever order its keys arrived in. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** 96 bits of SHA-256, base64url: 16 characters, enough that two distinct events never share one. */
export const eventIdentity = (...parts: string[]) =>
  createHash('sha256').update(parts.join('\u0000')).digest('base64url').slice(0, 16);

type Sub = Record<string, unknown>;
const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);

function recipientsOf(type: OutcomeType, sub: Sub, destination: string[]): string[] {
  const listed = (name: string) =>
    Array.isArray(sub[name])
      ? (sub[name] as unknown[]).map((r) =>
          typeof r === 'string' ? r : String((r as { emailAddress?: unknown })?.emailAddress ?? ''),
        )
      : [];
  const named =
    type === 'bounce'
      ? listed('bouncedRecipients')
      : type === 'complaint'
        ? listed('complainedRecipients')
        : type === 'delivery'
          ? listed('recipients')
          : type === 'deliveryDelay'
            ? listed('delayedRecipients')
            : [];
  return named.length > 0 ? named : destination;
}

/** The diagnostic of one recipient of a bounce or delay ("smtp; 550 5.1.1 user unknown"), or its status. */
function recipientDetail(sub: Sub, listName: string, address: string): string | undefined {
  const list = Array.isArray(sub[listName]) ? (sub[listName] as Sub[]) : [];
  const entry = list.find((r) => String(r?.emailAddress ?? '').toLowerCase() === address.toLowerCase());
  return str(entry?.diagnosticCode) ?? str(entry?.status);
}

function unsubscribedBy(sub: Sub): boolean {
  const prefs = sub.newTopicPreferences as
    | { unsubscribeAll?: unknown; topicSubscriptionStatus?: { subscriptionStatus?: unknown }[] }
    | undefined;
  if (!prefs) return false;
  if (prefs.unsubscribeAll === true) return true;
  return (prefs.topicSubscriptionStatus ?? []).some((t) =>
    /^opt_?out$/i.test(String(t?.subscriptionStatus ?? '')),
  );
}

/**
 * The recipient events one SES event stands for: one per recipient it names that parses as an address,
 * none when it carries no campaign tag (a test send, mail from outside sixback) or is a "not-spam"
 * complaint (a recipient taking a complaint back).
 */
export function recipientEvents(detail: SesEventDetail): RecipientEvent[] {
  const type =
    TYPES[(detail.eventType ?? detail.notificationType ?? '').replace(/[_\s-]/g, '').toUpperCase()];
  const campaignId = detail.mail.tags.campaign?.[0];
  if (!type || !campaignId || !CAMPAIGN_ID.test(campaignId)) return [];
  const sub = ((detail as Record<string, unknown>)[SUB_OBJECT[type]] ?? {}) as Sub;
  if (type === 'complaint' && sub.complaintFeedbackType === 'not-spam') return [];
  const at = str(sub.timestamp) ?? str(detail.mail.timestamp) ?? new Date(0).toISOString();
  const messageId = str(detail.mail.messageId);
  const subText = canonical(sub);
  const events: RecipientEvent[] = [];
  const seen = new Set<string>();
  for (const raw of recipientsOf(type, sub, detail.mail.destination)) {
    const check = checkAddress(raw);
    if (!check.ok) continue;
    const key = addressKey(check.address);
    if (seen.has(key)) continue;
    seen.add(key);
    const event: RecipientEvent = {
      // The type, the message, the recipient and everything SES says about this occurrence (its timestamp,
      // feedback id, link, IP address, user agent): a repeat of the event has all of them equal.
      id: eventIdentity(type, messageId ?? '', key, subText),
      campaignId,
      key,
      email: check.address,
      type,
      at,
      ...(messageId ? { messageId } : {}),
    };
    if (type === 'bounce') {
      event.bounceType = str(sub.bounceType) ?? 'Undetermined';
      const subType = str(sub.bounceSubType);
      if (subType) event.bounceSubType = subType;
      const reason = recipientDetail(sub, 'bouncedRecipients', raw);
      if (reason) event.reason = reason;
    } else if (type === 'deliveryDelay') {
      const reason = str(sub.delayType) ?? recipientDetail(sub, 'delayedRecipients', raw);
      if (reason) event.reason = reason;
    } else if (type === 'complaint') {
      const reason = str(sub.complaintFeedbackType) ?? str(sub.complaintSubType);
      if (reason) event.reason = reason;
    } else if (type === 'reject') {
      const reason = str(sub.reason);
      if (reason) event.reason = reason;
    } else if (type === 'renderingFailure') {
      const reason = str(sub.errorMessage);
      if (reason) event.reason = reason;
    } else if (type === 'click') {
      event.link = str(sub.link) ?? '';
    } else if (type === 'subscription') {
      event.unsubscribed = unsubscribedBy(sub);
    }
    events.push(event);
  }
  return events;
}

/** A one-click unsubscribe through sixback's own link: one per recipient and campaign, whatever the retries. */
export function unsubscribeEvent(campaignId: string, email: string, at: Date): RecipientEvent {
  const key = addressKey(email);
  return {
    id: eventIdentity('unsubscribe', campaignId, key),
    campaignId,
    key,
    email,
    type: 'unsubscribe',
    at: at.toISOString(),
  };
}

export const isHardBounce = (event: Pick<RecipientEvent, 'bounceType'>) =>
  /^permanent$/i.test(event.bounceType ?? '');

/** What the store keeps per recipient (the fields the report and the recipient lookup show). */
export interface RecipientOutcome {
  campaignId: string;
  key: string;
  email: string;
  messageId?: string;
  sentAt?: string;
  deliveredAt?: string;
  hardBouncedAt?: string;
  softBounces?: number;
  bounceType?: string;
  bounceSubType?: string;
  bounceReason?: string;
  complainedAt?: string;
  complaintType?: string;
  rejectedAt?: string;
  rejectReason?: string;
  delays?: number;
  renderingFailedAt?: string;
  firstOpenedAt?: string;
  opens?: number;
  firstClickedAt?: string;
  clicks?: number;
  links?: string[];
  unsubscribedAt?: string;
  /** The first TIMELINE_CAP events, oldest first once sorted. */
  timeline?: TimelineEntry[];
}

export interface TimelineEntry {
  at: string;
  type: OutcomeType;
  detail?: string;
}

export const TIMELINE_CAP = 100;

/** The timeline entry of an event: its time, type, and the one detail worth showing. */
export function timelineEntry(event: RecipientEvent): TimelineEntry {
  const detail =
    event.type === 'bounce'
      ? [event.bounceType, event.bounceSubType, event.reason].filter(Boolean).join(' / ')
      : event.type === 'click'
        ? event.link
        : event.type === 'subscription'
          ? event.unsubscribed
            ? 'unsubscribed'
            : 'preferences changed'
          : event.reason;
  return { at: event.at, type: event.type, ...(detail ? { detail } : {}) };
}

/**
 * Campaign counters. Event totals keep the names the deliverability view always had (EVENT_COUNTERS in
 * health.ts); the `unique*` ones count recipients, each added once, on the recipient's first event of
 * that kind (the store sees it as a conditional first-time transition, so they are exact).
 */
export const STAT_COUNTERS = [
  // The campaign's event counters, then what only the statistics keep.
  ...EVENT_COUNTERS,
  'subscription',
  'uniqueSend',
  'uniqueDelivery',
  'uniqueHardBounce',
  'uniqueSoftBounce',
  'uniqueComplaint',
  'uniqueReject',
  'uniqueOpen',
  'uniqueClick',
  'uniqueUnsubscribe',
] as const;
export type StatCounter = (typeof STAT_COUNTERS)[number];
export type StatCounts = Partial<Record<StatCounter, number>>;

/** What the recipient's item held before an event was applied (only whether each fact was there). */
export interface PriorState {
  sentAt?: unknown;
  deliveredAt?: unknown;
  hardBouncedAt?: unknown;
  softBounces?: unknown;
  complainedAt?: unknown;
  rejectedAt?: unknown;
  renderingFailedAt?: unknown;
  firstOpenedAt?: unknown;
  firstClickedAt?: unknown;
  unsubscribedAt?: unknown;
  links?: ReadonlySet<string> | readonly string[] | undefined;
}

const had = (value: unknown) => value !== undefined && value !== null;

/** The counters a new (not repeated) event adds, given what its recipient had before it. */
export function eventDeltas(
  event: RecipientEvent,
  prior: PriorState,
): { counts: StatCounts; newLink: boolean } {
  const counts: StatCounts = {};
  let newLink = false;
  switch (event.type) {
    case 'send':
      counts.send = 1;
      if (!had(prior.sentAt)) counts.uniqueSend = 1;
      break;
    case 'delivery':
      counts.delivery = 1;
      if (!had(prior.deliveredAt)) counts.uniqueDelivery = 1;
      break;
    case 'bounce':
      if (isHardBounce(event)) {
        counts.bounce = 1;
        if (!had(prior.hardBouncedAt)) counts.uniqueHardBounce = 1;
      } else {
        counts.transientBounce = 1;
        if (!had(prior.softBounces) || prior.softBounces === 0) counts.uniqueSoftBounce = 1;
      }
      break;
    case 'complaint':
      counts.complaint = 1;
      if (!had(prior.complainedAt)) counts.uniqueComplaint = 1;
      break;
    case 'reject':
      counts.reject = 1;
      if (!had(prior.rejectedAt)) counts.uniqueReject = 1;
      break;
    case 'deliveryDelay':
      counts.deliveryDelay = 1;
      break;
    case 'renderingFailure':
      counts.renderingFailure = 1;
      break;
    case 'open':
      counts.open = 1;
      if (!had(prior.firstOpenedAt)) counts.uniqueOpen = 1;
      break;
    case 'click': {
      counts.click = 1;
      if (!had(prior.firstClickedAt)) counts.uniqueClick = 1;
      newLink = !new Set(prior.links ?? []).has(event.link ?? '');
      break;
    }
    case 'subscription':
      counts.subscription = 1;
      if (event.unsubscribed) {
        counts.unsubscribe = 1;
        if (!had(prior.unsubscribedAt)) counts.uniqueUnsubscribe = 1;
      }
      break;
    case 'unsubscribe':
      counts.unsubscribe = 1;
      if (!had(prior.unsubscribedAt)) counts.uniqueUnsubscribe = 1;
      break;
  }
  return { counts, newLink };
}

export const addCounts = (into: StatCounts, add: StatCounts) => {
  for (const [name, value] of Object.entries(add) as [StatCounter, number][])
    if (value) into[name] = (into[name] ?? 0) + value;
  return into;
};

/** Time buckets: per minute for the first MINUTE_BUCKET_HOURS after the campaign started, then per hour. */
export const MINUTE_BUCKET_HOURS = 6;

/** The bucket of an event time: `m#YYYY-MM-DDTHH:MM` or `h#YYYY-MM-DDTHH` (UTC). */
export function bucketOf(at: string, startedAt: string | undefined): string {
  const time = Date.parse(at);
  const iso = Number.isNaN(time) ? new Date(0).toISOString() : new Date(time).toISOString();
  const start = startedAt ? Date.parse(startedAt) : Number.NaN;
  const inMinutes = Number.isNaN(start) || time - start < MINUTE_BUCKET_HOURS * 3_600_000;
  return inMinutes ? `m#${iso.slice(0, 16)}` : `h#${iso.slice(0, 13)}`;
}

/** The counters a time bucket keeps (event totals, by the events' own time). */
export const SERIES_COUNTERS = [
  'send',
  'delivery',
  'bounce',
  'transientBounce',
  'complaint',
  'open',
  'click',
  'unsubscribe',
] as const satisfies readonly StatCounter[];

export const linkHash = (link: string) => eventIdentity('link', link);

/** One row of the bounce breakdown: SES's bounce type and sub-type, bounce events and recipients. */
export interface BounceCount {
  bounceType: string;
  /** SES's sub-type; empty when the event had none. */
  bounceSubType: string;
  total: number;
  /** Recipients whose first hard (or first soft) bounce was of this type and sub-type. */
  unique: number;
}

/** The key of a bounce breakdown row (hashed: type and sub-type are SES's strings, kept in the item). */
export const bounceHash = (bounceType: string, bounceSubType: string) =>
  eventIdentity('bounce', bounceType, bounceSubType);
