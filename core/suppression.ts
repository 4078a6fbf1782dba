/** Addresses that must not be mailed (unsubscribed, bounced, complained, or added by hand). */
import { DeleteCommand, type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { batchGet } from './dynamo.ts';
import { addressKey } from './email-address.ts';

export type SuppressionReason = 'unsubscribe' | 'bounce' | 'complaint' | 'manual';

export interface SuppressionList {
  /** The subset of `keys` that is suppressed. */
  lookup(keys: string[]): Promise<Set<string>>;
}

export class DynamoSuppressionList implements SuppressionList {
  constructor(
    private readonly ddb: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async lookup(keys: string[]): Promise<Set<string>> {
    const items = await batchGet(
      this.ddb,
      this.table,
      [...new Set(keys)].map((key) => ({ key })),
    );
    return new Set(items.map((item) => item.key as string));
  }

  async add(address: string, reason: SuppressionReason, source: string): Promise<void> {
    await this.ddb.send(
      new PutCommand({
        TableName: this.table,
        Item: { key: addressKey(address), reason, source, at: this.clock().toISOString() },
      }),
    );
  }

  async remove(address: string): Promise<void> {
    await this.ddb.send(new DeleteCommand({ TableName: this.table, Key: { key: addressKey(address) } }));
  }
}

export class MemorySuppressionList implements SuppressionList {
  constructor(readonly keys = new Set<string>()) {}
  async lookup(keys: string[]) {
    return new Set(keys.filter((key) => this.keys.has(key)));
  }
}
