/**
 * Per-variant engagement for an A/B test's decision, behind one small interface (VariantEngagementSource)
 * so the decision does not depend on where opens and clicks are stored.
 *
 * The source is the campaign's analytics (core/compliance/analytics-store.ts): the same first-open and
 * first-click transitions of each recipient's outcome that give the campaign's unique opens and clicks
 * are also summed per variant, by the same batched aggregation, into one counter item per variant
 * (`v#A`, `v#B`, ... beside the time buckets, on the campaign's counter shards). So the winner is picked
 * from exactly the numbers the campaign's statistics report, deduplicated the same way (a redelivered
 * event is a repeat and adds nothing). A per-variant item is needed because the campaign's totals mix the
 * variants, and reading every sample recipient's outcome at decision time would be one read per
 * recipient. The variant of a recipient is not read from the event: it is the deterministic assignment
 * (assign.ts), so events of remainder recipients never count for the test. Sent counts per variant come
 * from the sample Map's results, recorded on the campaign.
 */
import type { CampaignRecord } from '../campaigns/store.ts';
import type { AbTestSpec } from '../schemas.ts';
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

/** The sort key of a variant's counter item among the campaign's counter items. */
export const VARIANT_SORT_KEY_PREFIX = 'v#';
export const variantSortKey = (variant: string) => `${VARIANT_SORT_KEY_PREFIX}${variant}`;

/** A recipient's first open or first click, as the outcome store decided it (unique counts of 1). */
export interface FirstEngagement {
  key: string;
  uniqueOpen?: number;
  uniqueClick?: number;
}

/**
 * The per-variant counter items a batch adds: for each sample recipient's first open or click, one to
 * its variant's `uniqueOpen` or `uniqueClick`. Empty for a campaign without a test.
 */
export function variantCounts(
  campaignId: string,
  test: Pick<AbTestSpec, 'sample' | 'variants'> | undefined,
  firsts: FirstEngagement[],
): Map<string, { uniqueOpen?: number; uniqueClick?: number }> {
  const items = new Map<string, { uniqueOpen?: number; uniqueClick?: number }>();
  if (!test) return items;
  for (const first of firsts) {
    if (!first.uniqueOpen && !first.uniqueClick) continue;
    const variant = sampleVariant(campaignId, first.key, test.sample, test.variants.length);
    if (!variant) continue;
    const sk = variantSortKey(variant);
    const sums = items.get(sk) ?? {};
    if (first.uniqueOpen) sums.uniqueOpen = (sums.uniqueOpen ?? 0) + first.uniqueOpen;
    if (first.uniqueClick) sums.uniqueClick = (sums.uniqueClick ?? 0) + first.uniqueClick;
    items.set(sk, sums);
  }
  return items;
}

/**
 * The VariantEngagementSource over the campaign's counter items (AnalyticsStore.counterItems: every
 * shard's items, the per-variant ones summed) and the sent counts recorded on the campaign.
 */
export function analyticsEngagementSource(
  counterItems: (campaignId: string) => Promise<Record<string, unknown>[]>,
  find: (id: string) => Promise<Pick<CampaignRecord, 'abTest'> | undefined>,
): VariantEngagementSource {
  return {
    async variantEngagement(campaignId, variants) {
      const [record, items] = await Promise.all([find(campaignId), counterItems(campaignId)]);
      const sent = record?.abTest?.sent ?? {};
      const sums = new Map<string, { opens: number; clicks: number }>();
      for (const item of items) {
        const sk = String(item.sk);
        if (!sk.startsWith(VARIANT_SORT_KEY_PREFIX)) continue;
        const sum = sums.get(sk) ?? { opens: 0, clicks: 0 };
        sum.opens += Number(item.uniqueOpen ?? 0);
        sum.clicks += Number(item.uniqueClick ?? 0);
        sums.set(sk, sum);
      }
      return variants.map((variant) => ({
        variant,
        sent: sent[variant] ?? 0,
        uniqueOpens: sums.get(variantSortKey(variant))?.opens ?? 0,
        uniqueClicks: sums.get(variantSortKey(variant))?.clicks ?? 0,
      }));
    },
  };
}
