import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { abTestRequest, parseSample, parseVariant } from '../../cli/commands/ab-test.ts';
import { assignmentPoint, sampleVariant } from '../../core/abtest/assign.ts';
import { analyticsEngagementSource, variantCounts } from '../../core/abtest/engagement.ts';
import { AbTestSpecSchema, CampaignRequestSchema, durationSeconds } from '../../core/schemas.ts';
import {
  checkIntervalSeconds,
  HOLD_INTERVAL_SECONDS,
  MAX_CHECKS,
  MAX_HOLD_SECONDS,
} from '../../core/workflow/ab-test.ts';
import { ASL_PATH } from '../../local/asl.ts';
import { seeded } from '../support/seeded.ts';

describe('assignment', () => {
  it('is a pure function of campaign and key, and differs between campaigns', () => {
    expect(assignmentPoint('c1', 'ann@example.com')).toBe(assignmentPoint('c1', 'ann@example.com'));
    expect(assignmentPoint('c1', 'ann@example.com')).not.toBe(assignmentPoint('c2', 'ann@example.com'));
  });

  it('puts the sample fraction in the sample, split evenly, whatever the addresses look like', () => {
    const random = seeded(7);
    for (const [sample, variants] of [
      [0.2, 2],
      [0.1, 5],
      [0.5, 3],
    ] as const) {
      const counts = new Map<string, number>();
      const n = 20_000;
      for (let i = 0; i < n; i++) {
        // Look-alike addresses (a1@, a2@...) as lists often have.
        const key = random.chance(0.5) ? `a${i}@example.com` : `${random.int(1e9)}@x${i % 7}.example`;
        const v = sampleVariant('camp', key, sample, variants) ?? '-';
        counts.set(v, (counts.get(v) ?? 0) + 1);
      }
      const expected = (n * sample) / variants;
      for (let v = 0; v < variants; v++) {
        const got = counts.get('ABCDE'[v] as string) ?? 0;
        // Binomial: 5 standard deviations is far beyond chance.
        expect(Math.abs(got - expected)).toBeLessThan(5 * Math.sqrt(expected));
      }
      expect(counts.get('-')).toBeGreaterThan(n * (1 - sample) - 5 * Math.sqrt(n));
    }
  });

  it('a sample of 1 leaves no remainder', () => {
    for (let i = 0; i < 1000; i++) expect(sampleVariant('c', `k${i}@x`, 1, 3)).toMatch(/^[ABC]$/);
  });
});

describe('the wait loop keeps the execution history small', () => {
  // One check: a Lambda Task (5 history events), a Choice (2) and a Wait (2).
  const EVENTS_PER_CHECK = 9;
  it('at most MAX_CHECKS checks for a wait of any length up to 30 days, plus a 7-day hold', () => {
    for (const seconds of [1, 60, 3600, 4 * 3600, 86_400, 7 * 86_400, 30 * 86_400]) {
      const interval = checkIntervalSeconds(seconds);
      expect(interval).toBeGreaterThanOrEqual(60);
      // Short waits are checked every minute; the longest, every 86 minutes.
      expect(interval).toBeLessThanOrEqual(5184);
      expect(Math.ceil(seconds / interval)).toBeLessThanOrEqual(MAX_CHECKS);
    }
    const holdChecks = MAX_HOLD_SECONDS / HOLD_INTERVAL_SECONDS;
    expect((MAX_CHECKS + holdChecks) * EVENTS_PER_CHECK).toBeLessThan(25_000 / 2);
  });
});

describe('the ASL', () => {
  const states = JSON.parse(readFileSync(ASL_PATH, 'utf8')).States as Record<string, Record<string, unknown>>;
  it('runs an A/B test as sample, wait loop, remainder', () => {
    expect(states.BeginSending?.Next).toBe('IsAbTest');
    expect(states.IsAbTest?.Choices).toEqual([{ Variable: '$.abTest', IsPresent: true, Next: 'SendSample' }]);
    expect(states.SendSample?.Next).toBe('PickWinner');
    expect(states.PickWinner?.Next).toBe('WinnerPicked');
    expect(states.WinnerPicked).toMatchObject({
      Choices: [{ Variable: '$.pick.state', StringEquals: 'send', Next: 'SendRemainder' }],
      Default: 'WaitForDecision',
    });
    expect(states.WaitForDecision).toMatchObject({ TimestampPath: '$.pick.nextCheck', Next: 'PickWinner' });
    expect(states.SendRemainder?.Next).toBe('FinaliseTest');
    const batchInput = (name: string) =>
      (
        (states[name] as { ItemBatcher: { BatchInput: Record<string, string> } }).ItemBatcher
          .BatchInput as Record<string, string>
      )['variant.$'];
    expect(batchInput('SendSample')).toBe('$.batch.variant');
    expect(batchInput('SendRemainder')).toBe('$.pick.variant');
    for (const name of ['SendSample', 'PickWinner', 'SendRemainder', 'FinaliseTest'])
      expect(states[name]?.Catch, name).toEqual([
        { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'RecordFailure' },
      ]);
  });
});

describe('the test spec', () => {
  const base = { variants: [{ subject: 'a' }, { subject: 'b' }], sample: 0.2, metric: 'clicks' };
  it('takes durations as people write them', () => {
    expect(durationSeconds('4h')).toBe(14_400);
    expect(durationSeconds('1h30m')).toBe(5400);
    expect(durationSeconds('2d')).toBe(172_800);
    expect(durationSeconds('90s')).toBe(90);
    expect(durationSeconds('h')).toBeUndefined();
    expect(durationSeconds('4 hours')).toBeUndefined();
  });
  it('defaults to 95% confidence and variant A as the fallback', () => {
    expect(AbTestSpecSchema.parse({ ...base, decideAfter: '4h' })).toMatchObject({
      confidence: 0.95,
      fallback: 'A',
    });
  });
  it.each([
    [{ ...base, decideAfter: '31d' }, 'at most 30d'],
    [{ ...base, variants: Array(6).fill({ subject: 'x' }), decideAfter: '1h' }, 'at most 5 variants'],
    [{ ...base, variants: [{ subject: 'a' }, { templateVersion: 2 }], decideAfter: '1h' }, 'needs'],
    [
      { ...base, variants: [{ subject: 'a' }, { subject: 'b', html: 'x' }], decideAfter: '1h' },
      'Unrecognized',
    ],
    [{ ...base, sample: 0, decideAfter: '1h' }, 'above 0'],
    [{ ...base }, 'exactly one of decideAt'],
  ])('refuses %j', (abTest, message) => {
    const result = CampaignRequestSchema.safeParse({
      templateId: 't',
      recipientsKey: 'k',
      from: 'a@b.example',
      abTest,
    });
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toContain(message);
  });
});

describe('per-variant engagement', () => {
  it("sums sample recipients' first opens and clicks per variant, and leaves the remainder and untested campaigns out", async () => {
    const test = { variants: [{}, {}], sample: 0.5 };
    const keys = Array.from({ length: 200 }, (_, i) => `p${i}@example.com`);
    // What the outcome store decided: each recipient's first open (all of them) and first click (every third).
    const firsts = keys.map((key, i) => ({ key, uniqueOpen: 1, ...(i % 3 === 0 ? { uniqueClick: 1 } : {}) }));
    // Later opens of the same people: not first ones, so they add nothing.
    const repeats = keys.map((key) => ({ key, open: 1 }));
    // Written by batches onto random shards: the source sums the items of every shard.
    const items: Record<string, unknown>[] = [];
    for (let i = 0; i < firsts.length; i += 37) {
      for (const [sk, sums] of variantCounts('camp', test, [...firsts.slice(i, i + 37), ...repeats]))
        items.push({ pk: `camp#s${i % 4}`, sk, ...sums });
    }
    // The campaign's other counter items (totals, buckets, links) are not variants.
    items.push({ sk: 'total', uniqueOpen: 999, uniqueClick: 999 }, { sk: 'm#2026-12-01T10:00', open: 5 });
    expect(variantCounts('camp', undefined, firsts).size).toBe(0);

    const variantOf = (key: string) => sampleVariant('camp', key, 0.5, 2);
    const expected = (v: string, clicked: boolean) =>
      firsts.filter((f) => variantOf(f.key) === v && (!clicked || f.uniqueClick)).length;
    const source = analyticsEngagementSource(
      async (id) => (id === 'camp' ? items : []),
      async () => ({ abTest: { sent: { A: 10, B: 12 } } }) as never,
    );
    const got = await source.variantEngagement('camp', ['A', 'B']);
    expect(got).toEqual([
      { variant: 'A', sent: 10, uniqueOpens: expected('A', false), uniqueClicks: expected('A', true) },
      { variant: 'B', sent: 12, uniqueOpens: expected('B', false), uniqueClicks: expected('B', true) },
    ]);
    expect(got[0]?.uniqueOpens).toBeGreaterThan(20);
    expect((got[0]?.uniqueOpens ?? 0) + (got[1]?.uniqueOpens ?? 0)).toBeLessThan(keys.length);
  });
});

describe('the CLI options', () => {
  it('reads variants, samples and the defaults', () => {
    expect(parseVariant('Hello {{ name }}')).toEqual([{ subject: 'Hello {{ name }}' }]);
    expect(parseVariant('template=promo-b@3 subject=Sale, 20% off')).toEqual([
      { templateId: 'promo-b', templateVersion: 3, subject: 'Sale, 20% off' },
    ]);
    expect(parseVariant('template=promo-b')).toEqual([{ templateId: 'promo-b' }]);
    expect(() => parseVariant('template=x nonsense')).toThrow(/only subject/);
    expect(parseSample('20%')).toBe(0.2);
    expect(parseSample('0.05')).toBe(0.05);
    expect(() => parseSample('120%')).toThrow(/sample size/);
    expect(abTestRequest({ variant: [{ subject: 'a' }, { subject: 'b' }] })).toEqual({
      variants: [{ subject: 'a' }, { subject: 'b' }],
      sample: 0.2,
      metric: 'clicks',
      decideAfter: '4h',
    });
  });
});
