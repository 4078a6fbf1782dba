/** How `sixback status` shows an A/B test; its own module so the campaign and A/B commands can both use it. */
import type { AbTestView } from '../../core/campaigns/view.ts';
import { table } from '../output.ts';

const pct = (rate: number) => `${(rate * 100).toFixed(1)}%`;

/** The test's lines for `sixback status`. */
export function describeAbTest(test: AbTestView): string {
  const rows: [string, string][] = [
    [
      'A/B test',
      `${test.phase}; ${test.metric}, sample ${pct(test.sample)}, ${pct(test.confidence)} confidence, fallback ${test.fallback === 'A' ? 'variant A' : 'hold for a pick'}`,
    ],
  ];
  if (test.decisionDue) rows.push(['decision due', test.decisionDue]);
  for (const v of test.variants) {
    const counted = test.result?.variants.find((r) => r.variant === v.name);
    const what =
      v.subject !== undefined ? `subject "${v.subject}"` : `template ${v.templateId} v${v.templateVersion}`;
    rows.push([
      `variant ${v.name}`,
      `${what}; sent ${v.sent ?? '-'}${counted ? `, ${counted.successes} ${test.metric} (${pct(counted.rate)})` : ''}`,
    ]);
  }
  if (test.result && !test.decision) rows.push(['test', test.result.reason]);
  if (test.decision)
    rows.push(['decision', `${test.decision.variant} (${test.decision.by}): ${test.decision.reason}`]);
  return table(rows);
}
