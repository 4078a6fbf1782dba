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
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { batchGet, batchPut } from './dynamo.ts';

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
}

export class DynamoLedger implements Ledger {
  constructor(
    private readonly ddb: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async lookup(campaignId: string, keys: string[]): Promise<Map<string, LedgerEntry>> {
    const unique = [...new Set(keys)];
    const items = await batchGet(
      this.ddb,
      this.table,
      unique.map((key) => ({ campaignId, key })),
    );
    return new Map(items.map((item) => [item.key as string, item as unknown as LedgerEntry]));
  }

  async record(campaignId: string, entries: LedgerEntry[]): Promise<void> {
    const at = this.clock().toISOString();
    await batchPut(
      this.ddb,
      this.table,
      entries.map((entry) => ({
        campaignId,
        key: entry.key,
        row: entry.row,
        ...(entry.state === 'failed'
          ? { state: 'failed', reason: entry.reason, retryable: entry.retryable ?? false }
          : { messageId: entry.messageId }),
        at,
      })),
    );
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
  async record(campaignId: string, entries: LedgerEntry[]) {
    this.writes.push(entries);
    for (const entry of entries) this.entries.set(`${campaignId}/${entry.key}`, entry);
  }
}
