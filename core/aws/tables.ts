/**
 * Key schemas of sixback's DynamoDB tables, shared by the local stack (which creates them) and the CDK
 * stack (which declares them), so the two cannot drift.
 */
export interface TableShape {
  partitionKey: string;
  sortKey?: { name: string; type: 'S' | 'N' };
  indexes?: { name: string; partitionKey: string; sortKey: string }[];
}

export const TABLES = {
  templates: { partitionKey: 'id', sortKey: { name: 'version', type: 'N' } },
  campaigns: {
    partitionKey: 'id',
    // Listing newest first needs one partition to query; campaigns per account are few enough for that.
    indexes: [{ name: 'byCreatedAt', partitionKey: 'kind', sortKey: 'createdAt' }],
  },
  ledger: { partitionKey: 'campaignId', sortKey: { name: 'key', type: 'S' } },
  suppression: { partitionKey: 'key' },
} satisfies Record<string, TableShape>;

export type TableName = keyof typeof TABLES;
