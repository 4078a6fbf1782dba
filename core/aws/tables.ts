/**
 * Key schemas of sixback's DynamoDB tables, shared by the local stack (which creates them) and the CDK
 * stack (which declares them), so the two cannot drift.
 */
export interface TableShape {
  partitionKey: string;
  sortKey?: { name: string; type: 'S' | 'N' };
  /** What an index carries besides its keys: nothing (KEYS_ONLY), the named attributes, or all (ALL). */
  indexes?: {
    name: string;
    partitionKey: string;
    sortKey: string;
    projection: 'KEYS_ONLY' | 'ALL' | { include: string[] };
  }[];
  /** An attribute holding epoch seconds after which DynamoDB's TTL deletes the item (AWS only). */
  ttlAttribute?: string;
}

export const TABLES = {
  templates: { partitionKey: 'id', sortKey: { name: 'version', type: 'N' } },
  campaigns: {
    partitionKey: 'id',
    // Listing newest first needs one partition to query; campaigns per account are few enough for that.
    // KEYS_ONLY: the index holds the id and the dates, nothing that changes while a campaign runs, so
    // writes to a campaign item are not paid twice; the list reads the records by key (CampaignStore.list).
    indexes: [{ name: 'byCreatedAt', partitionKey: 'kind', sortKey: 'createdAt', projection: 'KEYS_ONLY' }],
  },
  ledger: { partitionKey: 'campaignId', sortKey: { name: 'key', type: 'S' } },
  suppression: { partitionKey: 'key' },
  /**
   * What happened after "sent" (core/compliance/analytics-store.ts): per-recipient outcomes
   * (`<campaign>#r<shard>` / recipient key), sharded campaign counters, time buckets and per-link counts
   * (`<campaign>#s<shard>` / `total`, `m#...`, `h#...`, `l#...`), and event-id markers for recipients
   * whose own item is full (`<campaign>#d<shard>` / event id, expiring).
   */
  analytics: { partitionKey: 'pk', sortKey: { name: 'sk', type: 'S' }, ttlAttribute: 'expiresAt' },
  // Subscriptions under pk "subscription", delivery logs under "log#<id>" (core/webhooks/store.ts).
  webhooks: { partitionKey: 'pk', sortKey: { name: 'sk', type: 'S' } },
} satisfies Record<string, TableShape>;

export type TableName = keyof typeof TABLES;
