/**
 * The send ledger: per campaign, what happened to each recipient key SES was asked about. An entry is
 * either `sent` (SES accepted it; the message id) or `failed` (with the reason, and whether another try
 * could succeed). The sender reads it before sending and writes it right after, in groups, so a retried
 * batch, a resumed campaign or a restarted engine never mails anyone twice, and a resend of failed rows
 * knows which rows those are.
 *
 * The one gap: a process killed after SES accepted a message and before its group was written. The
 * sender bounds it (see docs/guarantees.md): per running batch, the sends in flight plus at most two
 * groups (one being written, one filling), and a group is written within `ledgerFlushMs` of its first
 * entry whatever its size.
 */
import type { DynamoDocuments } from '../aws/documents.ts';
import { isConditionFailure, writeIf } from '../aws/dynamo.ts';

export interface LedgerEntry {
  key: string;
  row: number;
  /** Entries without a state were written before failures were recorded: they are sends. */
  state?: 'sent' | 'failed';
  messageId?: string;
  /** Why a failed row failed ("MessageRejected: ..."). */
  reason?: string;
  /** Whether trying again could succeed (throttling, an outage, a paused account), as opposed to a rejection. */
  retryable?: boolean;
}

export const isSentEntry = (entry: LedgerEntry | undefined): boolean =>
  entry !== undefined && entry.state !== 'failed';

export interface Ledger {
  /** Entries already recorded for these keys. */
  lookup(campaignId: string, keys: string[]): Promise<Map<string, LedgerEntry>>;
  record(campaignId: string, entries: LedgerEntry[]): Promise<void>;
  /**
   * Takes (or renews) the lease on a batch for `ttlMs`: true unless another owner holds it unexpired. Two
   * attempts of one batch running at once (a retry after a Task timeout, an at-least-once redelivery) would
   * both read the ledger before either wrote it; the lease makes the second wait instead.
   */
  claim?(campaignId: string, lease: string, owner: string, ttlMs: number): Promise<boolean>;
  /**
   * The campaign-wide rate's shared counter of chunks (RateSlotStore in core/sending/rate-budget.ts):
   * returns the counter and adds one if it is at `from` or past it, else returns `from` and sets it to
   * `from + 1`, atomically. Absent: every child keeps to its equal share.
   */
  claimRateChunk?(campaignId: string, run: number, from: number): Promise<number>;
  release?(campaignId: string, lease: string, owner: string): Promise<void>;
}

/**
 * How many partition keys one campaign's ledger is spread over. DynamoDB serves at most about 1,000 writes
 * a second per partition key value; a campaign sending 3,500 emails a second writes as many ledger items,
 * so its items are spread over `campaignId#0` .. `campaignId#15` by a hash of the recipient key (16,000
 * writes a second). Every read is by full key, so nothing ever needs to list a shard.
 *
 * A storage format: changing the count or the hash would hide the entries already written.
 */
export const LEDGER_SHARDS = 16;

/** The partition key value of a ledger item: the campaign and the shard of the key (FNV-1a, 32 bits). */
export function ledgerPartition(campaignId: string, key: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return `${campaignId}#${(hash >>> 0) % LEDGER_SHARDS}`;
}

/** Lease items share the ledger table; their keys hold no "@", so they can never be a recipient's key. */
export const leaseKey = (run: number, firstIndex: number) => `~batch:${run}:${firstIndex}`;

/** The campaign-wide rate's chunk counter of one run (core/sending/rate-budget.ts): a key with no "@" too. */
export const rateCounterKey = (run: number) => `~rate:${run}`;

/** The counter is of no use once its run has ended; the item says when it may go (epoch ms, as leases). */
const RATE_COUNTER_KEEP_MS = 86_400_000;

export class DynamoLedger implements Ledger {
  constructor(
    /** The SDK or the thin transport (core/aws/documents.ts), as core/app.ts chose. */
    private readonly documents: DynamoDocuments,
    private readonly table: string,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async lookup(campaignId: string, keys: string[]): Promise<Map<string, LedgerEntry>> {
    const items = await this.documents.batchGet(
      this.table,
      [...new Set(keys)].map((key) => ({ campaignId: ledgerPartition(campaignId, key), key })),
    );
    return new Map(items.map((item) => [item.key as string, item as unknown as LedgerEntry]));
  }

  async claim(campaignId: string, lease: string, owner: string, ttlMs: number): Promise<boolean> {
    const now = this.clock().getTime();
    return writeIf(
      this.documents.put({
        TableName: this.table,
        Item: { campaignId: ledgerPartition(campaignId, lease), key: lease, owner, expiresAt: now + ttlMs },
        ConditionExpression: 'attribute_not_exists(#key) OR #expiresAt < :now OR #owner = :owner',
        ExpressionAttributeNames: { '#key': 'key', '#expiresAt': 'expiresAt', '#owner': 'owner' },
        ExpressionAttributeValues: { ':now': now, ':owner': owner },
      }),
    );
  }

  /** Counters last found behind the clock: the next claim on them tries moving them up first. */
  private readonly behind = new Set<string>();

  /**
   * Two conditional updates, each one DynamoDB write: `ADD next 1` if the counter is at `from` or past it
   * (it returns the value after), else `SET next = from + 1` if it is behind `from` or absent. When both
   * conditions fail, another child moved the counter between them: try again.
   */
  async claimRateChunk(campaignId: string, run: number, from: number): Promise<number> {
    const key = rateCounterKey(run);
    const memo = `${campaignId}/${key}`;
    const base = {
      TableName: this.table,
      Key: { campaignId: ledgerPartition(campaignId, key), key },
      ExpressionAttributeNames: { '#next': 'next', '#expiresAt': 'expiresAt' },
    };
    const expires = this.clock().getTime() + RATE_COUNTER_KEEP_MS;
    for (let attempt = 0; attempt < 8; attempt++) {
      const order = this.behind.has(memo) ? (['moveUp', 'add'] as const) : (['add', 'moveUp'] as const);
      for (const step of order) {
        try {
          if (step === 'add') {
            const attributes = await this.documents.update({
              ...base,
              UpdateExpression: 'ADD #next :one SET #expiresAt = :expires',
              ConditionExpression: '#next >= :from',
              ExpressionAttributeValues: { ':one': 1, ':from': from, ':expires': expires },
              ReturnValues: 'UPDATED_NEW',
            });
            this.behind.delete(memo);
            return Number(attributes?.next ?? Number.NaN) - 1;
          }
          await this.documents.update({
            ...base,
            UpdateExpression: 'SET #next = :after, #expiresAt = :expires',
            ConditionExpression: 'attribute_not_exists(#next) OR #next < :from',
            ExpressionAttributeValues: { ':after': from + 1, ':from': from, ':expires': expires },
          });
          if (this.behind.size > 1000) this.behind.clear();
          this.behind.add(memo);
          return from;
        } catch (error) {
          if (!isConditionFailure(error)) throw error;
        }
      }
    }
    throw new Error(`The rate counter ${key} of ${campaignId} kept moving under eight claims`);
  }

  async release(campaignId: string, lease: string, owner: string): Promise<void> {
    try {
      await this.documents.delete({
        TableName: this.table,
        Key: { campaignId: ledgerPartition(campaignId, lease), key: lease },
        ConditionExpression: '#owner = :owner',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':owner': owner },
      });
    } catch (error) {
      // Someone else holds it now (ours expired): theirs to release.
      if (!isConditionFailure(error)) throw error;
    }
  }

  async record(campaignId: string, entries: LedgerEntry[]): Promise<void> {
    const at = this.clock().toISOString();
    // Attributes in this order, undefined ones left out: test/unit/dynamo-rpc.contract.test.ts holds both
    // transports to byte-identical items. Built by assignment, not spreads: this runs for every email.
    const items = entries.map((entry) => {
      const item: Record<string, unknown> = {
        campaignId: ledgerPartition(campaignId, entry.key),
        key: entry.key,
        row: entry.row,
      };
      if (entry.state === 'failed') {
        item.state = 'failed';
        item.reason = entry.reason;
        item.retryable = entry.retryable ?? false;
      } else item.messageId = entry.messageId;
      item.at = at;
      return item;
    });
    await this.documents.batchPut(this.table, items);
  }
}

/** For unit tests and the benchmark's reference points. */
export class MemoryLedger implements Ledger {
  readonly entries = new Map<string, LedgerEntry>();
  /** Every record call, in order: what a test asserts the batching on. */
  readonly writes: LedgerEntry[][] = [];
  async lookup(campaignId: string, keys: string[]) {
    const found = new Map<string, LedgerEntry>();
    for (const key of keys) {
      const entry = this.entries.get(`${campaignId}/${key}`);
      if (entry) found.set(key, entry);
    }
    return found;
  }
  readonly leases = new Map<string, { owner: string; expiresAt: number }>();
  async claim(campaignId: string, lease: string, owner: string, ttlMs: number) {
    const held = this.leases.get(`${campaignId}/${lease}`);
    if (held && held.owner !== owner && held.expiresAt >= Date.now()) return false;
    this.leases.set(`${campaignId}/${lease}`, { owner, expiresAt: Date.now() + ttlMs });
    return true;
  }
  /** The rate counters (campaign/key to the next chunk), as DynamoLedger.claimRateChunk keeps them. */
  readonly rateCounters = new Map<string, number>();
  async claimRateChunk(campaignId: string, run: number, from: number) {
    const key = `${campaignId}/${rateCounterKey(run)}`;
    const at = this.rateCounters.get(key);
    const q = at === undefined || at < from ? from : at;
    this.rateCounters.set(key, q + 1);
    return q;
  }
  async release(campaignId: string, lease: string, owner: string) {
    if (this.leases.get(`${campaignId}/${lease}`)?.owner === owner)
      this.leases.delete(`${campaignId}/${lease}`);
  }
  async record(campaignId: string, entries: LedgerEntry[]) {
    this.writes.push(entries);
    for (const entry of entries) this.entries.set(`${campaignId}/${entry.key}`, entry);
  }
}
