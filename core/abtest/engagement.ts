/**
 * Per-variant engagement for an A/B test's decision, behind one small interface (VariantEngagementSource)
 * so the decision does not depend on where opens and clicks are stored.
 *
 * The source here is deliberately minimal: `EngagementMarks`, one item per (campaign, variant, metric,
 * recipient) in the ledger table, written by the SES events handler for the sample's Open and Click
 * events. An item per recipient makes the counts unique by construction and a redelivered event harmless
 * (the same put again). The variant of an event's recipient is not read from the event: it is the
 * deterministic assignment (assign.ts), so events of remainder recipients never count for the test.
 * Sent counts per variant come from the sample Map's results, recorded on the campaign.
 */
import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { batchPut } from '../aws/dynamo.ts';
import type { CampaignRecord } from '../campaigns/store.ts';
import { addressKey } from '../recipients/email-address.ts';
import type { AbMetric } from '../schemas.ts';
import { sampleVariant } from './assign.ts';

export interface VariantEngagement {
  variant: string;
  sent: number;
  uniqueOpens: number;
  uniqueClicks: number;
}

export interface VariantEngagementSource {
  variantEngagement(campaignId: string, variants: string[]): Promise<VariantEngagement[]>;
}

/** An Open or Click event of a campaign, for its recipient. */
export interface EngagementEvent {
  campaignId: string;
  metric: AbMetric;
  email: string;
}

/**
 * The partition of a variant's marks in the ledger table. "~" never occurs in a campaign id
 * ([A-Za-z0-9_-]), so these can never be a ledger shard (`<id>#<n>`) or a lease.
 */
export const marksPartition = (campaignId: string, variant: string, metric: AbMetric) =>
  `${campaignId}~ab~${variant}~${metric}`;

export interface EngagementMarksStore {
  mark(campaignId: string, variant: string, metric: AbMetric, keys: string[]): Promise<void>;
  count(campaignId: string, variant: string, metric: AbMetric): Promise<number>;
}

export class DynamoEngagementMarks implements EngagementMarksStore {
  constructor(
    private readonly ddb: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async mark(campaignId: string, variant: string, metric: AbMetric, keys: string[]): Promise<void> {
    const partition = marksPartition(campaignId, variant, metric);
    await batchPut(
      this.ddb,
      this.table,
      [...new Set(keys)].map((key) => ({ campaignId: partition, key })),
    );
  }

  async count(campaignId: string, variant: string, metric: AbMetric): Promise<number> {
    let total = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.ddb.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'campaignId = :p',
          ExpressionAttributeValues: { ':p': marksPartition(campaignId, variant, metric) },
          Select: 'COUNT',
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      total += out.Count ?? 0;
      start = out.LastEvaluatedKey;
    } while (start);
    return total;
  }
}

export class MemoryEngagementMarks implements EngagementMarksStore {
  readonly marks = new Map<string, Set<string>>();
  async mark(campaignId: string, variant: string, metric: AbMetric, keys: string[]) {
    const partition = marksPartition(campaignId, variant, metric);
    const set = this.marks.get(partition) ?? new Set<string>();
    for (const key of keys) set.add(key);
    this.marks.set(partition, set);
  }
  async count(campaignId: string, variant: string, metric: AbMetric) {
    return this.marks.get(marksPartition(campaignId, variant, metric))?.size ?? 0;
  }
}

/**
 * Marks the Open and Click events of sample recipients. `find` reads a campaign (once per campaign per
 * call); events of campaigns without a test, or of recipients outside the sample, are left alone.
 */
export async function markEngagement(
  events: EngagementEvent[],
  marks: EngagementMarksStore,
  find: (id: string) => Promise<Pick<CampaignRecord, 'id' | 'spec'> | undefined>,
): Promise<number> {
  const byCampaign = new Map<string, EngagementEvent[]>();
  for (const event of events) {
    const list = byCampaign.get(event.campaignId) ?? [];
    list.push(event);
    byCampaign.set(event.campaignId, list);
  }
  let marked = 0;
  for (const [campaignId, list] of byCampaign) {
    const test = (await find(campaignId))?.spec.abTest;
    if (!test) continue;
    const groups = new Map<string, { variant: string; metric: AbMetric; keys: string[] }>();
    for (const event of list) {
      const key = addressKey(event.email);
      const variant = sampleVariant(campaignId, key, test.sample, test.variants.length);
      if (!variant) continue;
      // Opens are what SES reports as opens (the pixel), not inferred from clicks: the same numbers as
      // the campaign's own statistics.
      const id = `${variant}|${event.metric}`;
      const group = groups.get(id) ?? { variant, metric: event.metric, keys: [] };
      group.keys.push(key);
      groups.set(id, group);
    }
    for (const group of groups.values()) {
      await marks.mark(campaignId, group.variant, group.metric, group.keys);
      marked += group.keys.length;
    }
  }
  return marked;
}

/** The VariantEngagementSource over the marks and the sent counts recorded on the campaign. */
export function marksEngagementSource(
  marks: EngagementMarksStore,
  find: (id: string) => Promise<Pick<CampaignRecord, 'abTest'> | undefined>,
): VariantEngagementSource {
  return {
    async variantEngagement(campaignId, variants) {
      const sent = (await find(campaignId))?.abTest?.sent ?? {};
      return Promise.all(
        variants.map(async (variant) => ({
          variant,
          sent: sent[variant] ?? 0,
          uniqueOpens: await marks.count(campaignId, variant, 'opens'),
          uniqueClicks: await marks.count(campaignId, variant, 'clicks'),
        })),
      );
    },
  };
}
