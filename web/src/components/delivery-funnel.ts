/**
 * The delivery funnel: sent -> delivered -> opened -> clicked, each step's recipients as a bar against
 * those sent, with the API's rate and (for opens and clicks) the events beside the unique recipients; and
 * beside it what left the funnel: bounced (hard, soft), complained, unsubscribed, rejected, delayed.
 * SES does not mark machine opens (Apple Mail Privacy Protection and the like), so the page says that
 * plainly, with the API's own notes, instead of showing a number it does not have.
 */
import type { CampaignStats } from '../../../core/compliance/stats.ts';
import { card, formatNumber, h } from '../dom.ts';
import { formatRate, funnelSteps } from './chart-math.ts';

export function deliveryFunnel(stats: CampaignStats): HTMLElement {
  const steps = funnelSteps(stats);
  const c = stats.counts;
  const r = stats.rates;
  const aside: [string, string, number, string | null][] = [
    ['bounced-hard', 'Hard bounces', c.bounced.hard, `${formatRate(r.hardBounce)} of sent`],
    ['bounced-soft', 'Soft bounces', c.bounced.soft, `${formatRate(r.softBounce)} of sent`],
    ['complained', 'Complaints', c.complained, `${formatRate(r.complaint)} of sent`],
    ['unsubscribed', 'Unsubscribed', c.unsubscribed, `${formatRate(r.unsubscribe)} of delivered`],
    ['rejected', 'Rejected by SES', c.rejected, null],
    ['delayed', 'Delivery delays (events)', c.delayed, null],
  ];
  return card(
    { id: 'funnel-title', title: 'Delivery funnel', wide: true, testId: 'funnel' },
    h(
      'div',
      { class: 'funnel-layout' },
      h(
        'ol',
        { class: 'funnel' },
        steps.map((step) =>
          h(
            'li',
            { 'data-step': step.key },
            h(
              'div',
              { class: 'funnel-head' },
              h('span', { class: 'funnel-label' }, step.label, step.total === null ? '' : ' (unique)'),
              h(
                'span',
                { class: 'funnel-count', 'data-testid': `funnel-${step.key}` },
                formatNumber(step.count),
              ),
              step.rate === null
                ? null
                : h(
                    'span',
                    { class: 'funnel-rate', 'data-testid': `funnel-${step.key}-rate` },
                    `${formatRate(step.rate)} ${step.rateOf}`,
                  ),
            ),
            h(
              'div',
              { class: 'funnel-bar', 'aria-hidden': 'true' },
              h('span', { class: `fill ${step.key}`, style: `width:${(step.share * 100).toFixed(2)}%` }),
            ),
            step.total === null
              ? null
              : h(
                  'p',
                  { class: 'small muted', 'data-testid': `funnel-${step.key}-total` },
                  `${formatNumber(step.total)} ${step.key === 'opened' ? 'opens' : 'clicks'} in all`,
                  step.key === 'clicked' ? `; ${formatRate(r.clickToOpen)} of openers clicked` : '',
                ),
          ),
        ),
      ),
      h(
        'dl',
        { class: 'stats funnel-aside' },
        aside.map(([key, label, n, rate]) =>
          h(
            'div',
            { class: `stat${n > 0 && key !== 'delayed' ? ' warn' : ''}`, 'data-testid': `aside-${key}` },
            h('dt', null, label),
            h('dd', null, formatNumber(n), rate ? h('span', { class: 'muted small' }, ` ${rate}`) : null),
          ),
        ),
      ),
    ),
    h(
      'p',
      { class: 'small muted', 'data-testid': 'machine-opens' },
      h('strong', null, 'About opens: '),
      stats.notes.join(' '),
    ),
  );
}
