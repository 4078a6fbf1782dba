/**
 * Where a campaign's fast-changing numbers live, off the campaign item (issue: the campaign item was a hot
 * key). Progress is one small item beside the record in the campaigns table (`<id>#progress`, a few writes
 * a second: one per finished batch). SES event counters are spread over COUNTER_SHARDS items in the
 * analytics table (`<id>#s<shard>` / `total`): each batch of events adds to one shard chosen at random, so
 * thousands of events a second become a few writes a second on each of 16 items; a read sums the shards.
 * Campaign ids hold no "#" (api/schemas.ts IdSchema), so these keys can never be another campaign's.
 */

export const COUNTER_SHARDS = 16;

export const progressId = (campaignId: string) => `${campaignId}#progress`;

export const statsPartition = (campaignId: string, shard: number) => `${campaignId}#s${shard}`;

export const TOTAL_SORT_KEY = 'total';

export const counterKeys = (campaignId: string) =>
  Array.from({ length: COUNTER_SHARDS }, (_, shard) => ({
    pk: statsPartition(campaignId, shard),
    sk: TOTAL_SORT_KEY,
  }));

/** Counter names are attribute names: letters only, so a name can never reach into a key or a path. */
export const isCounterName = (name: string) => /^[A-Za-z]+$/.test(name);

/** Sums the counters of items (shards), ignoring their keys and anything not a number. */
export function sumCounters(items: Record<string, unknown>[]): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const item of items) {
    for (const [name, value] of Object.entries(item)) {
      if (typeof value !== 'number' || !isCounterName(name)) continue;
      sums[name] = (sums[name] ?? 0) + value;
    }
  }
  return sums;
}
