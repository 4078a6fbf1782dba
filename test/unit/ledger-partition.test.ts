import { describe, expect, it } from 'vitest';
import { LEDGER_SHARDS, ledgerPartition } from '../../core/sending/ledger.ts';

describe('ledgerPartition', () => {
  it('is a stable storage format: the same key always lands in the same shard', () => {
    // Pinned: a change here would hide every ledger entry already written.
    expect(ledgerPartition('c1', 'ada@example.com')).toBe('c1#2');
    expect(ledgerPartition('c1', 'grace@example.com')).toBe('c1#2');
    expect(ledgerPartition('c-2', '~batch:1:0')).toBe('c-2#8');
  });

  it('spreads a campaign evenly over its shards, so no partition key takes more than its share of writes', () => {
    const counts = new Array<number>(LEDGER_SHARDS).fill(0);
    const n = 64_000;
    for (let i = 0; i < n; i++) {
      const partition = ledgerPartition('c1', `bench-${i}@example.com`);
      const shard = Number(partition.slice('c1#'.length));
      counts[shard] = (counts[shard] ?? 0) + 1;
    }
    const share = n / LEDGER_SHARDS;
    for (const count of counts) {
      expect(count).toBeGreaterThan(share * 0.9);
      expect(count).toBeLessThan(share * 1.1);
    }
  });
});
