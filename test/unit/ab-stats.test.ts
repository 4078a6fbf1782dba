import { describe, expect, it } from 'vitest';
import { decideWinner, normalUpperTail, twoProportionZ } from '../../core/abtest/stats.ts';
import { seeded } from '../support/seeded.ts';

describe('normal tail', () => {
  // Reference values: scipy.stats.norm.sf, and the familiar critical values 1.645 / 1.960 / 2.576.
  it.each([
    [0, 0.5],
    [0.5, 0.3085375387259869],
    [1, 0.15865525393145707],
    [1.6448536, 0.05],
    [1.959964, 0.025],
    [2.5758293, 0.005],
    [3, 0.0013498980316300933],
    [-1, 0.8413447460685429],
  ])('P(Z > %f) = %f', (z, p) => {
    expect(normalUpperTail(z)).toBeCloseTo(p, 6);
  });

  it('is a decreasing function between 0 and 1', () => {
    const random = seeded(16);
    for (let n = 0; n < 2000; n++) {
      const z = random.next() * 16 - 8;
      const a = normalUpperTail(z);
      const b = normalUpperTail(z + 0.001 + random.next() * 2);
      expect(a).toBeGreaterThanOrEqual(0);
      expect(a).toBeLessThanOrEqual(1);
      expect(b).toBeLessThanOrEqual(a);
      // Symmetry of the normal distribution: P(Z > z) + P(Z > -z) = 1.
      expect(a + normalUpperTail(-z)).toBeCloseTo(1, 6);
    }
  });
});

describe('two-proportion z-test', () => {
  // By hand for the first: pooled p = 110/200 = 0.55, SE = sqrt(0.55 * 0.45 * (1/100 + 1/100)) = 0.070356,
  // z = (0.60 - 0.50) / 0.070356 = 1.4213. The others: the same formula, checked with scipy.stats.norm.sf.
  it.each([
    [60, 100, 50, 100, 1.4213381090374024, 0.07760924484234205],
    [120, 1000, 90, 1000, 2.1882658846227234, 0.014325120199224236],
    [200, 1000, 150, 1000, 2.9424494316825, 0.0016281348142060288],
    [45, 500, 30, 500, 1.8009006755629924, 0.03585926825421706],
  ])('%i/%i vs %i/%i: z %f, p %f', (x1, n1, x2, n2, z, p) => {
    const result = twoProportionZ(x1, n1, x2, n2);
    expect(result.z).toBeCloseTo(z, 9);
    expect(result.pValue).toBeCloseTo(p, 6);
  });

  it('is antisymmetric: swapping the groups negates z', () => {
    const random = seeded(1616);
    for (let n = 0; n < 2000; n++) {
      const n1 = 1 + random.int(5000);
      const n2 = 1 + random.int(5000);
      const x1 = random.int(n1 + 1);
      const x2 = random.int(n2 + 1);
      const a = twoProportionZ(x1, n1, x2, n2);
      const b = twoProportionZ(x2, n2, x1, n1);
      expect(Math.abs(a.z + b.z)).toBeLessThan(1e-9);
      expect(Math.abs(a.pValue + b.pValue - 1)).toBeLessThan(1e-6);
    }
  });
});

describe('decideWinner', () => {
  it('calls a winner only when it beats every other variant past the corrected threshold', () => {
    // 200/1000 vs 150/1000: p = 0.00163 < 0.05; two variants means one comparison, no correction.
    const two = decideWinner([
      { variant: 'A', sent: 1000, successes: 150 },
      { variant: 'B', sent: 1000, successes: 200 },
    ]);
    expect(two.winner).toBe('B');
    expect(two.alphaPerComparison).toBeCloseTo(0.05, 12);
    expect(two.comparisons).toHaveLength(1);
    expect(two.comparisons[0]?.pValue).toBeCloseTo(0.0016281348142060288, 6);
    expect(two.variants.map((v) => v.rate)).toEqual([0.15, 0.2]);
  });

  it('applies Bonferroni: p = 0.0143 wins alone but not among five variants (threshold 0.05 / 4 = 0.0125)', () => {
    const pair = [
      { variant: 'A', sent: 1000, successes: 120 },
      { variant: 'B', sent: 1000, successes: 90 },
    ];
    expect(decideWinner(pair).winner).toBe('A');
    const five = decideWinner([
      ...pair,
      { variant: 'C', sent: 1000, successes: 60 },
      { variant: 'D', sent: 1000, successes: 50 },
      { variant: 'E', sent: 1000, successes: 40 },
    ]);
    expect(five.alphaPerComparison).toBeCloseTo(0.05 / 4, 12);
    expect(five.best).toBe('A');
    expect(five.winner).toBeUndefined();
    expect(five.reason).toContain('does not beat B');
    // Against C, D and E alone A is far ahead: it is the closest rival that decides.
    expect(five.comparisons.filter((c) => c.significant).map((c) => c.against)).toEqual(['C', 'D', 'E']);
  });

  it('a higher confidence needs stronger evidence', () => {
    const counts = [
      { variant: 'A', sent: 500, successes: 45 },
      { variant: 'B', sent: 500, successes: 30 },
    ];
    // p = 0.0359: significant at 95%, not at 99%.
    expect(decideWinner(counts, 0.95).winner).toBe('A');
    expect(decideWinner(counts, 0.99).winner).toBeUndefined();
  });

  it('a tie has no winner', () => {
    const result = decideWinner([
      { variant: 'A', sent: 400, successes: 100 },
      { variant: 'B', sent: 400, successes: 100 },
      { variant: 'C', sent: 400, successes: 20 },
    ]);
    expect(result.winner).toBeUndefined();
    expect(result.best).toBeUndefined();
    expect(result.reason).toContain('shared by A and B');
  });

  it('refuses to test a sample too small for the normal approximation', () => {
    const result = decideWinner([
      { variant: 'A', sent: 10, successes: 9 },
      { variant: 'B', sent: 10, successes: 0 },
    ]);
    expect(result.winner).toBeUndefined();
    expect(result.reason).toContain('too small');
  });

  it('never calls a winner that is not the variant with the highest rate', () => {
    const random = seeded(2026);
    let winners = 0;
    for (let n = 0; n < 3000; n++) {
      const confidence = random.pick([0.9, 0.95, 0.99]);
      const counts = Array.from({ length: 2 + random.int(4) }, (_, i) => {
        const sent = random.int(3000);
        return { variant: 'ABCDE'[i] as string, sent, successes: random.int(sent + 1) };
      });
      const result = decideWinner(counts, confidence);
      if (result.winner === undefined) continue;
      winners++;
      const winner = result.variants.find((v) => v.variant === result.winner);
      expect(winner).toBeDefined();
      for (const v of result.variants) if (v !== winner) expect(v.rate).toBeLessThan(winner?.rate ?? 0);
      expect(result.comparisons).toHaveLength(counts.length - 1);
      for (const c of result.comparisons)
        expect(c.pValue).toBeLessThan((1 - confidence) / (counts.length - 1));
    }
    // Random rates differ a lot: most draws do have a winner, so the checks above ran.
    expect(winners).toBeGreaterThan(1000);
  });
});
