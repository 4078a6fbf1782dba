/**
 * The A/B decision rule: a one-sided two-proportion z-test of the best variant against each other one,
 * with a Bonferroni correction for the number of comparisons. A winner is called only when the best rate
 * beats every other variant's at the stated confidence; otherwise there is no winner and the campaign's
 * fallback applies. Pure functions of the counts, so the rule is testable against known values.
 */

export interface VariantCounts {
  variant: string;
  /** Recipients of the sample SES accepted for this variant. */
  sent: number;
  /** Recipients who opened (or clicked) at least once: the metric's unique count. */
  successes: number;
}

export interface Comparison {
  /** The variant the best one is compared with. */
  against: string;
  /** Difference of the rates (best minus other). */
  difference: number;
  z: number;
  /** One-sided p-value of "the best is no better than this one". */
  pValue: number;
  significant: boolean;
}

export interface TestResult {
  method: 'two-proportion z-test (one-sided, pooled), best vs each other, Bonferroni-corrected';
  confidence: number;
  /** 1 - confidence, split over the comparisons (Bonferroni). */
  alphaPerComparison: number;
  variants: (VariantCounts & { rate: number })[];
  /** The variant with the highest rate; undefined when the highest rate is shared or nothing was sent. */
  best: string | undefined;
  comparisons: Comparison[];
  winner: string | undefined;
  /** Why there is (or is not) a winner, in words a person can check against the numbers. */
  reason: string;
}

/**
 * Fewest successes and failures each variant needs (under the pooled rate) before the normal
 * approximation the z-test relies on is trusted: the usual textbook rule of thumb.
 */
export const MIN_EXPECTED = 5;

/**
 * The complementary error function, from Numerical Recipes' Chebyshev fit (fractional error below
 * 1.2e-7 everywhere), which is far below any confidence a person would state.
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** P(Z > z) for a standard normal Z. */
export const normalUpperTail = (z: number): number => 0.5 * erfc(z / Math.SQRT2);

/**
 * One-sided pooled two-proportion z statistic for "rate 1 is greater than rate 2", and its p-value.
 * With no variance at all (both rates 0 or both 1) there is no evidence either way: z 0, p 0.5.
 */
export function twoProportionZ(
  x1: number,
  n1: number,
  x2: number,
  n2: number,
): { z: number; pValue: number } {
  if (n1 <= 0 || n2 <= 0) return { z: 0, pValue: 0.5 };
  const pooled = (x1 + x2) / (n1 + n2);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  if (se === 0) return { z: 0, pValue: 0.5 };
  const z = (x1 / n1 - x2 / n2) / se;
  return { z, pValue: normalUpperTail(z) };
}

const pct = (rate: number) => `${(rate * 100).toFixed(1)}%`;

export function decideWinner(counts: VariantCounts[], confidence = 0.95): TestResult {
  const variants = counts.map((c) => ({ ...c, rate: c.sent > 0 ? c.successes / c.sent : 0 }));
  const comparisonsNeeded = Math.max(1, variants.length - 1);
  const alphaPerComparison = (1 - confidence) / comparisonsNeeded;
  const base = {
    method: 'two-proportion z-test (one-sided, pooled), best vs each other, Bonferroni-corrected' as const,
    confidence,
    alphaPerComparison,
    variants,
  };
  const sorted = [...variants].sort((a, b) => b.rate - a.rate);
  const [top, second] = sorted;
  if (!top || !second || top.sent === 0) {
    return {
      ...base,
      best: undefined,
      comparisons: [],
      winner: undefined,
      reason: 'nothing of the sample was sent, so there is nothing to compare',
    };
  }
  if (top.rate === second.rate) {
    return {
      ...base,
      best: undefined,
      comparisons: [],
      winner: undefined,
      reason: `the highest rate (${pct(top.rate)}) is shared by ${sorted
        .filter((v) => v.rate === top.rate)
        .map((v) => v.variant)
        .join(' and ')}`,
    };
  }
  const comparisons: Comparison[] = sorted.slice(1).map((other) => {
    const { z, pValue } = twoProportionZ(top.successes, top.sent, other.successes, other.sent);
    return {
      against: other.variant,
      difference: top.rate - other.rate,
      z,
      pValue,
      significant: pValue < alphaPerComparison,
    };
  });
  const pooled = variants.reduce((s, v) => s + v.successes, 0) / variants.reduce((s, v) => s + v.sent, 0);
  const small = variants.filter(
    (v) => v.sent * pooled < MIN_EXPECTED || v.sent * (1 - pooled) < MIN_EXPECTED,
  );
  const result = { ...base, best: top.variant, comparisons };
  if (small.length > 0) {
    return {
      ...result,
      winner: undefined,
      reason:
        `the sample is too small to test: ${small.map((v) => `${v.variant} (${v.sent} sent)`).join(', ')} ` +
        `would expect fewer than ${MIN_EXPECTED} recipients on one side at the pooled rate ${pct(pooled)}`,
    };
  }
  const weakest = comparisons.reduce((w, c) => (c.pValue > w.pValue ? c : w));
  if (!weakest.significant) {
    return {
      ...result,
      winner: undefined,
      reason:
        `${top.variant} has the highest rate (${pct(top.rate)}) but does not beat ${weakest.against} ` +
        `(${pct(top.rate - weakest.difference)}) at ${pct(confidence)} confidence: p = ${weakest.pValue.toPrecision(3)}, ` +
        `needed below ${alphaPerComparison.toPrecision(3)}`,
    };
  }
  return {
    ...result,
    winner: top.variant,
    reason:
      `${top.variant} (${pct(top.rate)}) beats ${comparisons.map((c) => `${c.against} (p = ${c.pValue.toPrecision(3)})`).join(', ')} ` +
      `at ${pct(confidence)} confidence (each p below ${alphaPerComparison.toPrecision(3)})`,
  };
}
