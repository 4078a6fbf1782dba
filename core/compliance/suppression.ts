/** Addresses that must not be mailed (unsubscribed, bounced, complained, or added by hand). */
import type { DynamoDocuments } from '../aws/documents.ts';
import { addressKey } from '../recipients/email-address.ts';

export type SuppressionReason = 'unsubscribe' | 'bounce' | 'complaint' | 'manual';

export interface SuppressionEntry {
  /** The address as sixback compares it (trimmed, lowercase). */
  key: string;
  reason: SuppressionReason;
  /** Who or what added it: "api", "cli", "import:<file>", "ses:bounce:<campaign>", "unsubscribe:<campaign>"... */
  source: string;
  at: string;
}

export interface SuppressionList {
  /** The subset of `keys` that is suppressed. */
  lookup(keys: string[]): Promise<Set<string>>;
}

export class DynamoSuppressionList implements SuppressionList {
  constructor(
    /** The SDK or the thin transport (core/aws/documents.ts), as core/app.ts chose. */
    private readonly documents: DynamoDocuments,
    private readonly table: string,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async lookup(keys: string[]): Promise<Set<string>> {
    const items = await this.documents.batchGet(
      this.table,
      [...new Set(keys)].map((key) => ({ key })),
    );
    return new Set(items.map((item) => item.key as string));
  }

  async add(address: string, reason: SuppressionReason, source: string): Promise<void> {
    await this.documents.put({
      TableName: this.table,
      Item: { key: addressKey(address), reason, source, at: this.clock().toISOString() },
    });
  }

  async remove(address: string): Promise<void> {
    await this.documents.delete({ TableName: this.table, Key: { key: addressKey(address) } });
  }

  async get(address: string): Promise<SuppressionEntry | undefined> {
    return (await this.documents.get({
      TableName: this.table,
      Key: { key: addressKey(address) },
      ConsistentRead: true,
    })) as SuppressionEntry | undefined;
  }

  /**
   * One page of entries, optionally only addresses containing `search`. A scan: the list is read by
   * people paging through it, rarely, so it needs no index.
   */
  async list(
    options: { limit?: number; cursor?: string | undefined; search?: string | undefined } = {},
  ): Promise<{ items: SuppressionEntry[]; cursor?: string }> {
    const limit = options.limit ?? 50;
    const search = options.search?.trim().toLowerCase();
    const items: SuppressionEntry[] = [];
    let start: Record<string, unknown> | undefined = options.cursor
      ? JSON.parse(Buffer.from(options.cursor, 'base64url').toString())
      : undefined;
    do {
      const page = await this.documents.scan({
        TableName: this.table,
        Limit: limit - items.length,
        ...(start ? { ExclusiveStartKey: start } : {}),
        ...(search
          ? {
              FilterExpression: 'contains(#key, :search)',
              ExpressionAttributeNames: { '#key': 'key' },
              ExpressionAttributeValues: { ':search': search },
            }
          : {}),
      });
      items.push(...(page.items as unknown as SuppressionEntry[]));
      start = page.lastKey;
    } while (start && items.length < limit);
    return {
      items,
      ...(start ? { cursor: Buffer.from(JSON.stringify(start)).toString('base64url') } : {}),
    };
  }
}

export class MemorySuppressionList implements SuppressionList {
  constructor(readonly keys = new Set<string>()) {}
  async lookup(keys: string[]) {
    return new Set(keys.filter((key) => this.keys.has(key)));
  }
}
