/**
 * Per-recipient outcomes and the campaign time series in the analytics table (core/aws/tables.ts).
 *
 * A recipient's item (`<campaign>#r<shard>` / recipient key, sharded like the ledger so a fast campaign's
 * writes spread over 16 partition key values) is updated once per event, in one conditional write that
 * also records the event's identity: an event already applied fails the condition and changes nothing,
 * so redelivery (SQS is at least once, EventBridge may repeat) never counts twice. The write returns what
 * the item held before, which says whether this was the recipient's first delivery, open, click of a link
 * and so on: the unique counts are sums of those first-time transitions, so they are exact.
 *
 * A recipient whose item has recorded MAX_EVENT_IDS events (a link scanner clicking everything, a bot
 * opening hundreds of times) keeps being counted, with its further event ids written as items of their own
 * (`<campaign>#d<shard>` / id, conditional put, deleted by TTL after DEDUP_TTL_DAYS).
 *
 * Publishing (webhooks, the event bus) follows the same decision, through an outbox on the item: an event
 * applied with `publish` is also added to the item's `unpublished` set, in the same conditional write that
 * records it, and `published` takes it out once the bus has it. A crash between the two leaves it in the
 * set; the redelivered event is then a repeat that counts nothing but is still to be published, so it is
 * published late, never lost, and a redelivery of a published event publishes nothing.
 */
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { batchGet, isConditionFailure, queryAll, writeIf } from '../aws/dynamo.ts';
import { COUNTER_SHARDS, statsPartition } from '../campaigns/counters.ts';
import { ledgerPartition } from '../sending/ledger.ts';
import { CountJournal, DEFAULT_IN_FLIGHT_MS } from './count-journal.ts';
import {
  type BounceCount,
  eventDeltas,
  isHardBounce,
  linkHash,
  type PriorState,
  type RecipientEvent,
  type RecipientOutcome,
  type StatCounts,
  TIMELINE_CAP,
  timelineEntry,
} from './outcomes.ts';

export const MAX_EVENT_IDS = 2000;
export const DEDUP_TTL_DAYS = 30;

/** The partition of a recipient's outcome item: the ledger's shard of the same key, under `#r`. */
export const recipientPartition = (campaignId: string, key: string) =>
  ledgerPartition(campaignId, key).replace(/#(\d+)$/, '#r$1');
const dedupPartition = (campaignId: string, id: string) =>
  ledgerPartition(campaignId, id).replace(/#(\d+)$/, '#d$1');

/** What applying one event did: nothing (a repeat), or these counter deltas. */
export interface Applied {
  counts: StatCounts;
  /** The recipient clicked this link for the first time (a unique click of the link). */
  newLink: boolean;
  /**
   * Applied before: it counts nothing (empty counts), and is returned only because its publication is
   * still pending (`publish`). A repeat with nothing left to do is `undefined`.
   */
  repeat: boolean;
  /** To be published: it is in the item's outbox until `published` takes it out. */
  publish: boolean;
  /** A repeat applied with a count group: its mark (the journal of its token says whether it was counted). */
  mark?: CountMark;
  /** Applied past MAX_EVENT_IDS: its mark is taken off once it is counted (`unmark`). */
  capped?: boolean;
}

export interface ApplyOptions {
  /** Keep the event in its recipient's outbox until it is published (see `published`). */
  publish?: boolean;
  /**
   * The count group the event is counted in (count-journal.ts): marked on the recipient's item, in the
   * write that applies it, until a journal says it is counted.
   */
  token?: string;
}

/**
 * An applied event's count-group mark, as a repeat finds it: the group's token, and what the event adds,
 * recomputed from the recipient's item (its first-time marks say which event set each fact first).
 */
export interface CountMark {
  token: string;
  counts: StatCounts;
  newLink: boolean;
}

/** The facts kept per recipient whose earliest time wins, whatever order events arrive in. */
const FIRST_TIMES = [
  'sentAt',
  'deliveredAt',
  'hardBouncedAt',
  'complainedAt',
  'rejectedAt',
  'renderingFailedAt',
  'firstOpenedAt',
  'firstClickedAt',
  'unsubscribedAt',
] as const;

/** The first-time fact an event sets, if any. */
function firstTimeOf(event: RecipientEvent): (typeof FIRST_TIMES)[number] | undefined {
  switch (event.type) {
    case 'send':
      return 'sentAt';
    case 'delivery':
      return 'deliveredAt';
    case 'bounce':
      return isHardBounce(event) ? 'hardBouncedAt' : undefined;
    case 'complaint':
      return 'complainedAt';
    case 'reject':
      return 'rejectedAt';
    case 'renderingFailure':
      return 'renderingFailedAt';
    case 'open':
      return 'firstOpenedAt';
    case 'click':
      return 'firstClickedAt';
    case 'subscription':
      return event.unsubscribed ? 'unsubscribedAt' : undefined;
    case 'unsubscribe':
      return 'unsubscribedAt';
    default:
      return undefined;
  }
}

class Update {
  readonly sets: string[] = [];
  readonly adds: string[] = [];
  readonly conditions: string[] = [];
  readonly names: Record<string, string> = {};
  readonly values: Record<string, unknown> = {};
  private readonly placeholders = new Map<string, string>();
  /** A placeholder for any attribute name (marks such as `c#<event id>` are no valid placeholder). */
  private placeholder(text: string) {
    if (/^[A-Za-z0-9_]+$/.test(text)) return text;
    const known = this.placeholders.get(text);
    if (known) return known;
    const made = `x${this.placeholders.size}`;
    this.placeholders.set(text, made);
    return made;
  }
  name(attribute: string) {
    const n = `#${this.placeholder(attribute)}`;
    this.names[n] = attribute;
    return n;
  }
  value(label: string, value: unknown) {
    const v = `:${this.placeholder(label)}`;
    this.values[v] = value;
    return v;
  }
  first(attribute: string, value: unknown) {
    const n = this.name(attribute);
    this.sets.push(`${n} = if_not_exists(${n}, ${this.value(attribute, value)})`);
  }
  set(attribute: string, value: unknown) {
    this.sets.push(`${this.name(attribute)} = ${this.value(attribute, value)}`);
  }
  add(attribute: string, value: unknown) {
    this.adds.push(`${this.name(attribute)} ${this.value(attribute, value)}`);
  }
  get expression() {
    return [
      this.sets.length > 0 ? `SET ${this.sets.join(', ')}` : '',
      this.adds.length > 0 ? `ADD ${this.adds.join(', ')}` : '',
    ]
      .filter(Boolean)
      .join(' ');
  }
}

/** The attribute naming the event that set a first-time fact (`f#D`...), and the fact it follows. */
function firstByOf(event: RecipientEvent): { by: string; fact: string } | undefined {
  const fact = firstTimeOf(event) ?? (event.type === 'bounce' ? 'softBounces' : undefined);
  const letter = (
    {
      sentAt: 'S',
      deliveredAt: 'D',
      hardBouncedAt: 'H',
      softBounces: 'T',
      complainedAt: 'C',
      rejectedAt: 'R',
      renderingFailedAt: 'F',
      firstOpenedAt: 'O',
      firstClickedAt: 'K',
      unsubscribedAt: 'U',
    } as Record<string, string>
  )[fact ?? ''];
  return fact && letter ? { by: `f#${letter}`, fact } : undefined;
}
const linkByOf = (link: string) => `f#L${linkHash(link)}`;
/** A recipient item's count-group mark of an event: `c#<event id>` = the group's token. */
const markOf = (eventId: string) => `c#${eventId}`;

/**
 * What an applied event added, from its recipient's item as it is now: the event that first set a fact
 * is named by the fact's `f#` attribute, written in the same conditional write (eventDeltas gives the same
 * from the item as it was before the write).
 */
export function deltasFromItem(
  event: RecipientEvent,
  item: Record<string, unknown>,
): { counts: StatCounts; newLink: boolean } {
  const firstBy = firstByOf(event);
  const first = firstBy ? item[firstBy.by] === event.id : false;
  const prior: PriorState = {};
  const had = first ? undefined : 'x';
  if (firstBy) (prior as Record<string, unknown>)[firstBy.fact] = had;
  const newLink = event.type === 'click' && item[linkByOf(event.link ?? '')] === event.id;
  if (event.type === 'click' && !newLink) prior.links = [event.link ?? ''];
  return { ...eventDeltas(event, prior), newLink: event.type === 'click' ? newLink : false };
}

/** The update of a recipient's item for one event: facts, counts, the timeline, the event's identity. */
function recipientUpdate(
  event: RecipientEvent,
  options: { ids: boolean; timeline: boolean; outbox: boolean; token?: string | undefined },
): Update {
  const u = new Update();
  if (options.outbox) u.add(UNPUBLISHED, new Set([event.id]));
  if (options.token) u.set(markOf(event.id), options.token);
  u.first('email', event.email);
  if (event.messageId) u.first('messageId', event.messageId);
  const firstTime = firstTimeOf(event);
  if (firstTime) u.first(firstTime, event.at);
  // Which event set the fact first, for a redelivery to recompute what this one added (deltasFromItem).
  // The fact itself stands in when it was set before these marks existed: then this event did not set it.
  const firstBy = firstByOf(event);
  if (firstBy) {
    const by = u.name(firstBy.by);
    u.sets.push(
      `${by} = if_not_exists(${by}, if_not_exists(${u.name(firstBy.fact)}, ${u.value('eventId', event.id)}))`,
    );
  }
  if (event.type === 'click') {
    const by = u.name(linkByOf(event.link ?? ''));
    u.sets.push(`${by} = if_not_exists(${by}, ${u.value('eventId', event.id)})`);
  }
  switch (event.type) {
    case 'bounce':
      if (isHardBounce(event)) {
        // A hard bounce is the outcome that matters: it replaces a soft bounce's type and reason.
        u.set('bounceType', event.bounceType);
        if (event.bounceSubType) u.set('bounceSubType', event.bounceSubType);
        if (event.reason) u.set('bounceReason', event.reason);
      } else {
        u.add('softBounces', 1);
        u.first('bounceType', event.bounceType);
        if (event.bounceSubType) u.first('bounceSubType', event.bounceSubType);
        if (event.reason) u.first('bounceReason', event.reason);
      }
      break;
    case 'complaint':
      if (event.reason) u.first('complaintType', event.reason);
      break;
    case 'reject':
      if (event.reason) u.first('rejectReason', event.reason);
      break;
    case 'deliveryDelay':
      u.add('delays', 1);
      break;
    case 'open':
      u.add('opens', 1);
      break;
    case 'click':
      u.add('clicks', 1);
      if (event.link) u.add('links', new Set([event.link]));
      break;
  }
  if (options.timeline) {
    const tl = u.name('timeline');
    u.sets.push(
      `${tl} = list_append(if_not_exists(${tl}, ${u.value('nil', [])}), ${u.value('entry', [timelineEntry(event)])})`,
    );
    u.conditions.push(`(attribute_not_exists(${tl}) OR size(${tl}) < ${u.value('cap', TIMELINE_CAP)})`);
  }
  if (options.ids) {
    const ids = u.name('ids');
    u.add('ids', new Set([event.id]));
    u.conditions.push(`NOT contains(${ids}, ${u.value('id', event.id)})`);
    u.conditions.push(`(attribute_not_exists(${ids}) OR size(${ids}) < ${u.value('maxIds', MAX_EVENT_IDS)})`);
  }
  return u;
}

/** The item's outbox: ids of events applied and not yet published. */
const UNPUBLISHED = 'unpublished';

/**
 * The partition of the unsubscribe outbox markers: one item per recipient whose unsubscribe may be
 * waiting to be published (`sk` = campaign id # address key), written before the unsubscribe is recorded
 * so the sweep finds every one (core/compliance/unsubscribe.ts). "~" is no campaign id's character
 * (api/schemas.ts IdSchema), so no campaign's keys can be these.
 */
export const UNSUBSCRIBE_OUTBOX_PK = '~outbox#unsubscribe';

/** An unsubscribe that may still be waiting in its recipient's outbox (see UNSUBSCRIBE_OUTBOX_PK). */
export interface OutboxMarker {
  campaignId: string;
  key: string;
  /** When it was last marked: the sweep leaves young ones to the request that is publishing them. */
  at: string;
}

export interface RecipientStats {
  counts: StatCounts;
  /** Buckets (`m#...`, `h#...`) to event totals. */
  buckets: Map<string, StatCounts>;
  /** Per link: the URL, clicks, and recipients who clicked it for the first time. */
  links: Map<string, { url: string; total: number; unique: number }>;
}

export class AnalyticsStore {
  constructor(
    private readonly ddb: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly clock: () => Date = () => new Date(),
    private readonly random: () => number = Math.random,
    /** How long a count group's writer may still be running (count-journal.ts). */
    inFlightMs: number = DEFAULT_IN_FLIGHT_MS,
  ) {
    this.counts = new CountJournal(ddb, table, clock, random, inFlightMs);
  }

  /** The campaign counters' journal: what counts applied events exactly once (count-journal.ts). */
  readonly counts: CountJournal;

  /**
   * Applies one event to its recipient; undefined when it had been applied already (a repeat) and nothing
   * about it is left to do. A repeat is returned (counting nothing itself) when it was applied with
   * `publish` and is still unpublished, or with a count group (`token`): its `mark` names the group.
   */
  async apply(event: RecipientEvent, options: ApplyOptions = {}): Promise<Applied | undefined> {
    const outbox = options.publish === true;
    const token = options.token;
    const key = { pk: recipientPartition(event.campaignId, event.key), sk: event.key };
    const repeat = async (known?: Record<string, unknown>): Promise<Applied | undefined> => {
      const item = known ?? (await this.item(key));
      const pending = outbox && ((item?.[UNPUBLISHED] as Set<string> | undefined)?.has(event.id) ?? false);
      const markToken = item?.[markOf(event.id)];
      const mark =
        typeof markToken === 'string' && item
          ? { token: markToken, ...deltasFromItem(event, item) }
          : undefined;
      if (!pending && !mark) return undefined;
      return { counts: {}, newLink: false, repeat: true, publish: pending, ...(mark ? { mark } : {}) };
    };
    let prior = await this.update(key, recipientUpdate(event, { ids: true, timeline: true, outbox, token }));
    let capped = false;
    if (prior === 'refused') {
      // Why: the event was applied before, or the item's timeline or id set is full.
      const item = await this.item(key);
      const ids = (item?.ids as Set<string> | undefined) ?? new Set<string>();
      if (ids.has(event.id)) return repeat(item);
      if (ids.size < MAX_EVENT_IDS) {
        prior = await this.update(key, recipientUpdate(event, { ids: true, timeline: false, outbox, token }));
        if (prior === 'refused') return repeat();
      } else {
        if (!(await this.markSeen(event))) return repeat();
        capped = true;
        prior = (await this.update(
          key,
          recipientUpdate(event, { ids: false, timeline: false, outbox, token }),
        )) as PriorState;
      }
    }
    await this.keepEarliest(key, event, prior);
    return { ...eventDeltas(event, prior), repeat: false, publish: outbox, ...(capped ? { capped } : {}) };
  }

  /**
   * Moves an applied event's mark from one count group to another, if it is still in the first (a
   * redelivery counting an orphan: only one wins). False when it had moved.
   */
  async remark(event: RecipientEvent, from: string, to: string): Promise<boolean> {
    return writeIf(
      this.ddb.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: recipientPartition(event.campaignId, event.key), sk: event.key },
          UpdateExpression: 'SET #mark = :to',
          ConditionExpression: '#mark = :from',
          ExpressionAttributeNames: { '#mark': markOf(event.id) },
          ExpressionAttributeValues: { ':from': from, ':to': to },
        }),
      ),
    );
  }

  /**
   * Takes counted events' marks off their items: only for a recipient past MAX_EVENT_IDS events (whose
   * marks would otherwise grow the item without end). A repeat without a mark counts nothing, as it should.
   */
  async unmark(events: RecipientEvent[]): Promise<void> {
    for (const event of events)
      await this.ddb
        .send(
          new UpdateCommand({
            TableName: this.table,
            Key: { pk: recipientPartition(event.campaignId, event.key), sk: event.key },
            UpdateExpression: 'REMOVE #mark',
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeNames: { '#mark': markOf(event.id) },
          }),
        )
        .catch(() => undefined);
  }

  /** Takes published events out of their recipients' outboxes (one write each, a bounded number at once). */
  async published(events: RecipientEvent[], concurrency = 16): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < events.length) {
        const event = events[next++] as RecipientEvent;
        await this.ddb
          .send(
            new UpdateCommand({
              TableName: this.table,
              Key: { pk: recipientPartition(event.campaignId, event.key), sk: event.key },
              UpdateExpression: 'DELETE #u :id',
              // Only an item that exists: a DELETE on a missing key would create an empty item.
              ConditionExpression: 'attribute_exists(pk)',
              ExpressionAttributeNames: { '#u': UNPUBLISHED },
              ExpressionAttributeValues: { ':id': new Set([event.id]) },
            }),
          )
          .catch((error: unknown) => {
            if (!isConditionFailure(error)) throw error;
          });
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, events.length) }, worker));
  }

  /**
   * Marks a recipient's unsubscribe as possibly unpublished, now: each POST moves the time on, so the
   * sweep leaves a marker alone while a POST may be between marking and recording.
   */
  async markUnsubscribeOutbox(campaignId: string, key: string, at: Date): Promise<void> {
    await this.ddb.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: UNSUBSCRIBE_OUTBOX_PK, sk: `${campaignId}#${key}` },
        UpdateExpression: 'SET #c = :c, #k = :k, #at = :at',
        ExpressionAttributeNames: { '#c': 'campaignId', '#k': 'key', '#at': 'at' },
        ExpressionAttributeValues: { ':c': campaignId, ':k': key, ':at': at.toISOString() },
      }),
    );
  }

  /** The unsubscribe markers first written at or before `before`, oldest first. */
  async unsubscribeOutbox(before: Date): Promise<OutboxMarker[]> {
    const items = await queryAll(this.ddb, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk',
      FilterExpression: '#at <= :before',
      ExpressionAttributeNames: { '#at': 'at' },
      ExpressionAttributeValues: { ':pk': UNSUBSCRIBE_OUTBOX_PK, ':before': before.toISOString() },
    });
    return items
      .map((item) => ({
        campaignId: item.campaignId as string,
        key: item.key as string,
        at: item.at as string,
      }))
      .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  }

  async clearUnsubscribeOutbox(campaignId: string, key: string): Promise<void> {
    await this.ddb.send(
      new DeleteCommand({
        TableName: this.table,
        Key: { pk: UNSUBSCRIBE_OUTBOX_PK, sk: `${campaignId}#${key}` },
      }),
    );
  }

  /** Whether the event is still in its recipient's outbox (applied with `publish`, not yet published). */
  async unpublished(event: RecipientEvent): Promise<boolean> {
    const item = await this.item({ pk: recipientPartition(event.campaignId, event.key), sk: event.key });
    return (item?.[UNPUBLISHED] as Set<string> | undefined)?.has(event.id) ?? false;
  }

  private async update(key: Record<string, string>, u: Update): Promise<PriorState | 'refused'> {
    try {
      const out = await this.ddb.send(
        new UpdateCommand({
          TableName: this.table,
          Key: key,
          UpdateExpression: u.expression,
          ...(u.conditions.length > 0 ? { ConditionExpression: u.conditions.join(' AND ') } : {}),
          ExpressionAttributeNames: u.names,
          ExpressionAttributeValues: u.values,
          ReturnValues: 'ALL_OLD',
        }),
      );
      return (out.Attributes ?? {}) as PriorState;
    } catch (error) {
      if (isConditionFailure(error)) return 'refused';
      throw error;
    }
  }

  /** An event id recorded on its own (the recipient's item holds MAX_EVENT_IDS already): false if it was there. */
  private async markSeen(event: RecipientEvent): Promise<boolean> {
    const expiresAt = Math.floor(this.clock().getTime() / 1000) + DEDUP_TTL_DAYS * 86_400;
    return writeIf(
      this.ddb.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: dedupPartition(event.campaignId, event.id), sk: event.id, expiresAt },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
  }

  /** Events arrive in any order: a first-time fact keeps the earliest time, not the first one processed. */
  private async keepEarliest(key: Record<string, string>, event: RecipientEvent, prior: PriorState) {
    const attribute = firstTimeOf(event);
    if (!attribute) return;
    const before = prior[attribute];
    if (typeof before !== 'string' || !(event.at < before)) return;
    try {
      await this.ddb.send(
        new UpdateCommand({
          TableName: this.table,
          Key: key,
          UpdateExpression: 'SET #a = :at',
          ConditionExpression: '#a > :at',
          ExpressionAttributeNames: { '#a': attribute },
          ExpressionAttributeValues: { ':at': event.at },
        }),
      );
    } catch (error) {
      // An even earlier event got there first.
      if (!isConditionFailure(error)) throw error;
    }
  }

  private async item(key: Record<string, string>) {
    const out = await this.ddb.send(
      new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true }),
    );
    return out.Item;
  }

  /**
   * Adds a batch's time buckets, per-link and per-bounce-type counts to one shard of the campaign's counters (picked at
   * random: concurrent batches land on different items). One write per bucket, link and bounce type.
   */
  async addSeries(
    campaignId: string,
    buckets: Map<string, StatCounts>,
    links: Map<string, { url: string; total: number; unique: number }>,
    bounces: Map<string, BounceCount> = new Map(),
  ): Promise<void> {
    const shard = Math.floor(this.random() * COUNTER_SHARDS) % COUNTER_SHARDS;
    const pk = statsPartition(campaignId, shard);
    const writes: Promise<unknown>[] = [];
    for (const [sk, counts] of buckets) {
      const names = Object.keys(counts).filter((n) => (counts[n as keyof StatCounts] ?? 0) !== 0);
      if (names.length === 0) continue;
      writes.push(
        this.ddb.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { pk, sk },
            UpdateExpression: `ADD ${names.map((n) => `#${n} :${n}`).join(', ')}`,
            ExpressionAttributeNames: Object.fromEntries(names.map((n) => [`#${n}`, n])),
            ExpressionAttributeValues: Object.fromEntries(
              names.map((n) => [`:${n}`, counts[n as keyof StatCounts]]),
            ),
          }),
        ),
      );
    }
    for (const [hash, link] of links) {
      writes.push(
        this.ddb.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { pk, sk: `l#${hash}` },
            UpdateExpression: 'SET #url = :url ADD #total :total, #unique :unique',
            ExpressionAttributeNames: { '#url': 'url', '#total': 'total', '#unique': 'unique' },
            ExpressionAttributeValues: { ':url': link.url, ':total': link.total, ':unique': link.unique },
          }),
        ),
      );
    }
    for (const [hash, bounce] of bounces) {
      writes.push(
        this.ddb.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { pk, sk: `b#${hash}` },
            UpdateExpression: 'SET #type = :type, #subType = :subType ADD #total :total, #unique :unique',
            ExpressionAttributeNames: {
              '#type': 'bounceType',
              '#subType': 'bounceSubType',
              '#total': 'total',
              '#unique': 'unique',
            },
            ExpressionAttributeValues: {
              ':type': bounce.bounceType,
              ':subType': bounce.bounceSubType,
              ':total': bounce.total,
              ':unique': bounce.unique,
            },
          }),
        ),
      );
    }
    await Promise.all(writes);
  }

  /** Every counter item of a campaign (totals, buckets, links, bounce types), from its shards in parallel. */
  async counterItems(campaignId: string): Promise<Record<string, unknown>[]> {
    const pages = await Promise.all(
      Array.from({ length: COUNTER_SHARDS }, (_, shard) =>
        queryAll(this.ddb, {
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': statsPartition(campaignId, shard) },
        }),
      ),
    );
    return pages.flat();
  }

  /** One recipient's outcome, or undefined when no event about them has arrived. */
  async recipient(campaignId: string, key: string): Promise<RecipientOutcome | undefined> {
    const item = await this.item({ pk: recipientPartition(campaignId, key), sk: key });
    return item ? toOutcome(campaignId, item) : undefined;
  }

  /** Many recipients' outcomes (the report), without their timelines and event ids. */
  async recipients(campaignId: string, keys: string[]): Promise<Map<string, RecipientOutcome>> {
    const unique = [...new Set(keys)];
    const items = await batchGet(
      this.ddb,
      this.table,
      unique.map((key) => ({ pk: recipientPartition(campaignId, key), sk: key })),
      { projection: REPORT_PROJECTION },
    );
    return new Map(items.map((item) => [item.sk as string, toOutcome(campaignId, item)]));
  }
}

const REPORT_ATTRIBUTES = [
  'sk',
  'email',
  'deliveredAt',
  'hardBouncedAt',
  'softBounces',
  'bounceType',
  'bounceSubType',
  'bounceReason',
  'complainedAt',
  'firstOpenedAt',
  'opens',
  'clicks',
  'links',
  'unsubscribedAt',
];
const REPORT_PROJECTION = {
  expression: REPORT_ATTRIBUTES.map((a) => `#${a}`).join(', '),
  names: Object.fromEntries(REPORT_ATTRIBUTES.map((a) => [`#${a}`, a])),
};

function toOutcome(campaignId: string, item: Record<string, unknown>): RecipientOutcome {
  const { pk: _pk, sk, ids: _ids, unpublished: _unpublished, links, timeline, ...others } = item;
  // Count-group marks (`c#...`) and first-time marks (`f#...`) are bookkeeping, not the outcome.
  const rest = Object.fromEntries(Object.entries(others).filter(([name]) => !name.includes('#')));
  return {
    ...(rest as Omit<RecipientOutcome, 'campaignId' | 'key'>),
    campaignId,
    key: sk as string,
    ...(links ? { links: [...(links as Set<string>)].sort() } : {}),
    ...(timeline
      ? {
          timeline: [...(timeline as RecipientOutcome['timeline'] & object)].sort((a, b) =>
            a.at < b.at ? -1 : a.at > b.at ? 1 : 0,
          ),
        }
      : {}),
  };
}
