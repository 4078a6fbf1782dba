/**
 * The A/B test on the campaign page: each variant's sent count and rate as a bar (live during the test,
 * from GET /v1/campaigns/:id/ab-test), the decision and its confidence, and a pick button per variant
 * while the test is undecided.
 */
import type { AbTestView } from '../../../core/campaigns/view.ts';
import { api } from '../api.ts';
import { card, formatNumber, formatTime, h } from '../dom.ts';

export interface AbTestStanding extends AbTestView {
  live: {
    variants: { variant: string; sent: number; uniqueOpens: number; uniqueClicks: number; rate: number }[];
    interim: { reason: string; winner?: string };
  } | null;
}

export const fetchAbTest = (id: string) =>
  api<AbTestStanding>('GET', `/v1/campaigns/${encodeURIComponent(id)}/ab-test`);
export const pickVariant = (id: string, variant: string) =>
  api<unknown>('POST', `/v1/campaigns/${encodeURIComponent(id)}/pick`, { variant });

const pct = (rate: number) => `${(rate * 100).toFixed(1)}%`;

export function abTestPanel(test: AbTestStanding, onPick: (variant: string) => void): HTMLElement {
  // At the decision the recorded counts; before it the live ones.
  const counted = test.result?.variants ?? [];
  const rows = test.variants.map((v) => {
    const atDecision = counted.find((c) => c.variant === v.name);
    const live = test.live?.variants.find((l) => l.variant === v.name);
    const sent = atDecision?.sent ?? live?.sent ?? v.sent ?? 0;
    const successes =
      atDecision?.successes ?? (live ? (test.metric === 'opens' ? live.uniqueOpens : live.uniqueClicks) : 0);
    return { v, sent, successes, rate: sent > 0 ? successes / sent : 0 };
  });
  const top = Math.max(0.0001, ...rows.map((r) => r.rate));
  const undecided = !test.decision && ['waiting', 'held', 'sample'].includes(test.phase);
  const winner = test.decision?.variant;
  return card(
    { id: 'ab-title', title: 'A/B test', wide: true, testId: 'ab-test' },
    h(
      'p',
      { class: 'small' },
      `Unique ${test.metric} on a ${pct(test.sample)} sample, ${pct(test.confidence)} confidence; ` +
        `${test.phase === 'held' ? 'held for a manual pick' : test.phase}` +
        `${test.decisionDue && !test.decision ? `; decides at ${formatTime(test.decisionDue)}` : ''}.`,
    ),
    h(
      'table',
      { class: 'ab-comparison' },
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          ['Variant', 'Subject / template', 'Sent', `Unique ${test.metric}`, 'Rate', ''].map((t) =>
            h('th', null, t),
          ),
        ),
      ),
      h(
        'tbody',
        null,
        rows.map((r) =>
          h(
            'tr',
            { 'data-variant': r.v.name, class: r.v.name === winner ? 'winner' : '' },
            h('th', { scope: 'row' }, `${r.v.name}${r.v.name === winner ? ' ✓' : ''}`),
            h('td', null, r.v.subject ?? `${r.v.templateId} v${r.v.templateVersion}`),
            h('td', { class: 'num' }, formatNumber(r.sent)),
            h('td', { class: 'num' }, formatNumber(r.successes)),
            h(
              'td',
              null,
              h(
                'span',
                { class: 'ab-bar', role: 'img', 'aria-label': `${pct(r.rate)}` },
                h('span', { style: `width:${Math.round((r.rate / top) * 100)}%` }),
              ),
              ` ${pct(r.rate)}`,
            ),
            h(
              'td',
              null,
              undecided
                ? h(
                    'button',
                    { type: 'button', onclick: () => onPick(r.v.name) },
                    `Send ${r.v.name} to the rest`,
                  )
                : null,
            ),
          ),
        ),
      ),
    ),
    test.decision
      ? h(
          'p',
          { class: 'ab-decision', 'data-testid': 'ab-decision' },
          h('strong', null, `Winner: ${test.decision.variant} (${test.decision.by}). `),
          test.decision.reason,
        )
      : test.live
        ? h(
            'p',
            { class: 'small muted', 'data-testid': 'ab-interim' },
            `So far: ${test.live.interim.reason}. Not the decision: it is taken once, at its time.`,
          )
        : null,
  );
}
