/**
 * The send ledger: per campaign, which recipient keys SES has accepted, with the message id. The sender
 * reads it before sending and writes it right after, in groups, so a retried batch or a resumed campaign
 * never mails anyone twice. The one gap: a process killed after SES accepted a message and before its
 * group was written (at most the sender's in-flight sends plus one unwritten group per worker).
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { batchGet, batchPut } from './dynamo.ts';

export interface LedgerEntry {
  key: string;
  messageId: string;
  row: number;
}

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
        messageId: entry.messageId,
        row: entry.row,
        at,
      })),
    );
  }
}

/** For unit tests and the benchmark's reference points. */
export class MemoryLedger implements Ledger {
  readonly entries = new Map<string, LedgerEntry>();
  async lookup(campaignId: string, keys: string[]) {
    const found = new Map<string, LedgerEntry>();
    for (const key of keys) {
      const entry = this.entries.get(`${campaignId}/${key}`);
      if (entry) found.set(key, entry);
    }
    return found;
  }
  async record(campaignId: string, entries: LedgerEntry[]) {
    for (const entry of entries) this.entries.set(`${campaignId}/${entry.key}`, entry);
  }
}
