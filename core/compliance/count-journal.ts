/**
 * Exact campaign counters without transactions (dynalite has no TransactWriteItems; this design needs none
 * on DynamoDB either). A batch's recipient events of one campaign are a *count group* with a token made
 * before they are applied; each recipient write that applies an event also marks it with that token
 * (analytics-store.ts, `c#<event id>` on the recipient's item, in the same conditional write). After the
 * writes, the group is counted through a journal item (`<campaign>#j<shard>` / token): it lists the group's
 * members (the events whose write succeeded) and every counter write the group makes (its shard's total,
 * time buckets, links, bounce types, A/B variants). Each counter write is an ADD that also adds the token to
 * the counter item's `tokens`, on the condition that the token is not there: repeating it adds nothing. Once
 * all are written the journal is marked done, then the token is taken off the counter items again.
 *
 * A redelivered event is a repeat on its recipient (it adds nothing there) carrying its mark, and the mark
 * says what is left to do (`resolve`):
 * - the journal is done and lists the event: counted, nothing to do;
 * - the journal is not done and lists it: its writer stopped part-way; once the writer's lease is over, the
 *   journal is claimed and its writes repeated (those already made are refused by their token), then done;
 * - no journal, and the token is older than an invocation can run: its writer died before writing one; the
 *   journal is sealed (written empty and done, so the writer, were it alive, could not write it), and the
 *   event is an orphan;
 * - a journal that does not list it (its write succeeded after its writer gave up on it, or the journal
 *   was sealed): an orphan.
 * An orphan is marked again, conditionally, with the redelivery's own token (`c#<id>` from the old token to
 * the new: only one redelivery wins), its counts recomputed from its recipient's item, and it is counted in
 * the redelivery's group. Anything young (a writer that may still be running) is left: its message fails
 * and comes back later. So every applied event is counted by exactly one journal, exactly once.
 *
 * The in-flight horizon (`inFlightMs`) must exceed the SES events function's timeout (30 s; the default is
 * 2 minutes) and stay under the queue's visibility timeout (6 minutes), so a redelivered batch finds its
 * tokens old. Journals expire after JOURNAL_TTL_DAYS, longer than any message lives (SQS keeps 14 days).
 */
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { variantCounts } from '../abtest/engagement.ts';
import { isConditionFailure, writeIf } from '../aws/dynamo.ts';
import { COUNTER_SHARDS, isCounterName, statsPartition, TOTAL_SORT_KEY } from '../campaigns/counters.ts';
import { CountGroupLostError } from '../errors.ts';
import type { AbTestSpec } from '../schemas.ts';
import {
  bounceHash,
  bucketOf,
  linkHash,
  type RecipientEvent,
  SERIES_COUNTERS,
  type StatCounts,
} from './outcomes.ts';

export const JOURNAL_TTL_DAYS = 30;
export const DEFAULT_IN_FLIGHT_MS = 120_000;
/** The counter items' attribute holding the tokens of groups whose writes are not all made yet. */
export const TOKENS_ATTRIBUTE = 'tokens';

/** An event to count, with what it adds (its recipient's first-time transitions). */
export interface CountMember {
  event: RecipientEvent;
  counts: StatCounts;
  newLink: boolean;
}

/** One counter write of a group: numbers to ADD and strings to SET on one item of the group's shard. */
export interface CounterWrite {
  sk: string;
  add: Record<string, number>;
  set?: Record<string, string>;
}

/** What a group is counted against: the campaign's start (time buckets) and its A/B test (variants). */
export interface CountTarget {
  id: string;
  startedAt?: string | undefined;
  abTest?: Pick<AbTestSpec, 'sample' | 'variants'> | undefined;
}

/** What a mark's journal says of an event: counted, to count again (orphan), or not decidable yet. */
export type MarkState = 'counted' | 'orphan' | 'pending';

/** The counter writes of a group: totals, time buckets, links, bounce types and A/B variants. */
export function countWrites(target: CountTarget, members: CountMember[]): CounterWrite[] {
  const total: Record<string, number> = {};
  const buckets = new Map<string, Record<string, number>>();
  const links = new Map<string, CounterWrite>();
  const bounces = new Map<string, CounterWrite>();
  for (const { event, counts, newLink } of members) {
    for (const [name, value] of Object.entries(counts))
      if (value && isCounterName(name)) total[name] = (total[name] ?? 0) + value;
    const bucket = bucketOf(event.at, target.startedAt);
    const sums = buckets.get(bucket) ?? {};
    for (const name of SERIES_COUNTERS) if (counts[name]) sums[name] = (sums[name] ?? 0) + 1;
    buckets.set(bucket, sums);
    if (event.type === 'click' && event.link) {
      const sk = `l#${linkHash(event.link)}`;
      const link = links.get(sk) ?? { sk, add: { total: 0, unique: 0 }, set: { url: event.link } };
      link.add.total = (link.add.total ?? 0) + 1;
      if (newLink) link.add.unique = (link.add.unique ?? 0) + 1;
      links.set(sk, link);
    }
    if (event.type === 'bounce') {
      const bounceType = event.bounceType ?? 'Undetermined';
      const bounceSubType = event.bounceSubType ?? '';
      const sk = `b#${bounceHash(bounceType, bounceSubType)}`;
      const row = bounces.get(sk) ?? { sk, add: { total: 0, unique: 0 }, set: { bounceType, bounceSubType } };
      row.add.total = (row.add.total ?? 0) + 1;
      // The recipient's first hard (or first soft) bounce: its type and sub-type are the ones it counts under.
      if (counts.uniqueHardBounce || counts.uniqueSoftBounce) row.add.unique = (row.add.unique ?? 0) + 1;
      bounces.set(sk, row);
    }
  }
  const writes: CounterWrite[] = [{ sk: TOTAL_SORT_KEY, add: total }];
  for (const [sk, add] of buckets) writes.push({ sk, add });
  // An A/B test's per-variant unique opens and clicks: the same first-time transitions, in the same group.
  const firsts = members.map(({ event, counts }) => ({ key: event.key, ...counts }));
  for (const [sk, add] of variantCounts(target.id, target.abTest, firsts))
    writes.push({ sk, add: add as Record<string, number> });
  writes.push(...links.values(), ...bounces.values());
  // A write that adds nothing is not made (a bucket of events the series does not show).
  return writes
    .map((w) => ({ ...w, add: Object.fromEntries(Object.entries(w.add).filter(([, v]) => v !== 0)) }))
    .filter((w) => Object.keys(w.add).length > 0);
}

/** The sum of a group's counts (what its totals write adds). */
export function groupCounts(members: CountMember[]): StatCounts {
  const sums: StatCounts = {};
  for (const { counts } of members)
    for (const [name, value] of Object.entries(counts) as [keyof StatCounts, number][])
      if (value) sums[name] = (sums[name] ?? 0) + value;
  return sums;
}

interface JournalItem {
  pk: string;
  sk: string;
  shard: number;
  members?: Set<string>;
  writes?: CounterWrite[];
  /** Who may make the writes now (the group's own token, or a claimer's), and since when (ms). */
  claimedBy: string;
  claimedAt: number;
  done: boolean;
  sealed?: boolean;
  expiresAt: number;
}

export class CountJournal {
  constructor(
    private readonly ddb: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly clock: () => Date = () => new Date(),
    private readonly random: () => number = Math.random,
    private readonly inFlightMs: number = DEFAULT_IN_FLIGHT_MS,
  ) {}

  /** A new group's token: when it was made (base 36 ms), then random; no "@" or "#". */
  newToken(): string {
    const random = Array.from({ length: 10 }, () => Math.floor(this.random() * 36).toString(36)).join('');
    return `${this.clock().getTime().toString(36)}.${random}`;
  }

  private tokenTime(token: string): number {
    const time = Number.parseInt(token.split('.')[0] ?? '', 36);
    return Number.isFinite(time) ? time : 0;
  }

  private young(sinceMs: number) {
    return this.clock().getTime() - sinceMs < this.inFlightMs;
  }

  private key(campaignId: string, token: string) {
    // The journal's shard follows the token (its random part), spreading a fast campaign's journals.
    const shard = [...token].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7) % COUNTER_SHARDS;
    return { pk: `${campaignId}#j${shard}`, sk: token };
  }

  private expiresAt() {
    return Math.floor(this.clock().getTime() / 1000) + JOURNAL_TTL_DAYS * 86_400;
  }

  /**
   * Counts a group exactly once: writes its journal (members and counter writes), makes the writes, marks
   * it done, takes its token off the counter items. Throws CountGroupLostError when its journal was sealed
   * by a redelivery meanwhile (the members are then orphans, counted when they come back).
   */
  async count(target: CountTarget, token: string, members: CountMember[]): Promise<void> {
    if (members.length === 0) return;
    const key = this.key(target.id, token);
    const shard = Math.floor(this.random() * COUNTER_SHARDS) % COUNTER_SHARDS;
    const journal: JournalItem = {
      ...key,
      shard,
      members: new Set(members.map((m) => m.event.id)),
      writes: countWrites(target, members),
      claimedBy: token,
      claimedAt: this.clock().getTime(),
      done: false,
      expiresAt: this.expiresAt(),
    };
    try {
      await this.ddb.send(
        new PutCommand({
          TableName: this.table,
          Item: journal,
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw new CountGroupLostError(`count group ${token} was sealed`);
      throw error;
    }
    await this.run(target.id, journal, token);
  }

  /**
   * What the journal of `token` says of these events (marked with it), finishing the journal when its
   * writer stopped part-way and its lease is over. `claimer` is the caller's own token.
   */
  async resolve(
    campaignId: string,
    token: string,
    ids: string[],
    claimer: string,
  ): Promise<Map<string, MarkState>> {
    const states = new Map<string, MarkState>();
    const all = (state: MarkState) => {
      for (const id of ids) states.set(id, state);
      return states;
    };
    let journal = await this.journal(campaignId, token);
    if (!journal) {
      if (this.young(this.tokenTime(token))) return all('pending');
      // Past the journals' life (only an unsubscribe link followed again weeks later comes back so late):
      // its journal expired, so it was counted; never counting it twice is the side to err on.
      if (this.clock().getTime() - this.tokenTime(token) > (JOURNAL_TTL_DAYS - 1) * 86_400_000)
        return all('counted');
      if (await this.seal(campaignId, token)) return all('orphan');
      journal = await this.journal(campaignId, token);
      if (!journal) return all('pending');
    }
    const members = journal.members ?? new Set<string>();
    for (const id of ids) if (!members.has(id)) states.set(id, 'orphan');
    const listed = ids.filter((id) => members.has(id));
    if (listed.length === 0) return states;
    if (journal.done) {
      for (const id of listed) states.set(id, 'counted');
      return states;
    }
    if (this.young(journal.claimedAt) || !(await this.claim(journal, claimer))) {
      for (const id of listed) states.set(id, 'pending');
      return states;
    }
    await this.run(campaignId, { ...journal, claimedBy: claimer }, claimer);
    for (const id of listed) states.set(id, 'counted');
    return states;
  }

  /** Makes a journal's counter writes (each at most once), marks it done, then takes its token off them. */
  private async run(campaignId: string, journal: JournalItem, runner: string): Promise<void> {
    const pk = statsPartition(campaignId, journal.shard);
    const token = journal.sk;
    const writes = journal.writes ?? [];
    await Promise.all(writes.map((write) => this.counterWrite(pk, write, token)));
    try {
      await this.ddb.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: journal.pk, sk: journal.sk },
          UpdateExpression: 'SET #done = :true',
          ConditionExpression: '#by = :me',
          ExpressionAttributeNames: { '#done': 'done', '#by': 'claimedBy' },
          ExpressionAttributeValues: { ':true': true, ':me': runner },
        }),
      );
    } catch (error) {
      // Claimed by another after this runner's lease: that one finishes (and takes the token off).
      if (isConditionFailure(error)) throw new CountGroupLostError(`count group ${token} was claimed`);
      throw error;
    }
    // Only once done: until then the tokens are what refuse a repeated write. A failure here leaves a
    // token on a counter item (a few bytes, harmless: no journal writes with it again).
    await Promise.all(
      writes.map((write) =>
        this.ddb
          .send(
            new UpdateCommand({
              TableName: this.table,
              Key: { pk, sk: write.sk },
              UpdateExpression: 'DELETE #tokens :token',
              ConditionExpression: 'attribute_exists(pk)',
              ExpressionAttributeNames: { '#tokens': TOKENS_ATTRIBUTE },
              ExpressionAttributeValues: { ':token': new Set([token]) },
            }),
          )
          .catch(() => undefined),
      ),
    );
  }

  private async counterWrite(pk: string, write: CounterWrite, token: string): Promise<void> {
    const names: Record<string, string> = { '#tokens': TOKENS_ATTRIBUTE };
    const values: Record<string, unknown> = { ':tokens': new Set([token]), ':token': token };
    const adds = ['#tokens :tokens'];
    const sets: string[] = [];
    for (const [i, [name, value]] of Object.entries(write.add).entries()) {
      names[`#a${i}`] = name;
      values[`:a${i}`] = value;
      adds.push(`#a${i} :a${i}`);
    }
    for (const [i, [name, value]] of Object.entries(write.set ?? {}).entries()) {
      names[`#s${i}`] = name;
      values[`:s${i}`] = value;
      sets.push(`#s${i} = :s${i}`);
    }
    try {
      await this.ddb.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk, sk: write.sk },
          UpdateExpression: `${sets.length > 0 ? `SET ${sets.join(', ')} ` : ''}ADD ${adds.join(', ')}`,
          ConditionExpression: 'NOT contains(#tokens, :token)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      // Made before (a repeated run of the journal): nothing to add.
      if (!isConditionFailure(error)) throw error;
    }
  }

  private async journal(campaignId: string, token: string): Promise<JournalItem | undefined> {
    const out = await this.ddb.send(
      new GetCommand({ TableName: this.table, Key: this.key(campaignId, token), ConsistentRead: true }),
    );
    return out.Item as JournalItem | undefined;
  }

  /** An empty, done journal for a token whose writer died before writing one; false if one exists. */
  private async seal(campaignId: string, token: string): Promise<boolean> {
    return writeIf(
      this.ddb.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            ...this.key(campaignId, token),
            shard: 0,
            claimedBy: '',
            claimedAt: this.clock().getTime(),
            done: true,
            sealed: true,
            expiresAt: this.expiresAt(),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
  }

  /** Takes over a journal whose runner's lease is over; false when another got it first. */
  private async claim(journal: JournalItem, claimer: string): Promise<boolean> {
    return writeIf(
      this.ddb.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: journal.pk, sk: journal.sk },
          UpdateExpression: 'SET #by = :me, #at = :now',
          ConditionExpression: '#at = :seen AND #done = :false',
          ExpressionAttributeNames: { '#by': 'claimedBy', '#at': 'claimedAt', '#done': 'done' },
          ExpressionAttributeValues: {
            ':me': claimer,
            ':now': this.clock().getTime(),
            ':seen': journal.claimedAt,
            ':false': false,
          },
        }),
      ),
    );
  }
}
