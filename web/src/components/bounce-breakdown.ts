/**
 * Bounces by SES's type and sub-type (Permanent/General, Transient/MailboxFull...): hard (Permanent)
 * ones first, each with the recipients it counts (under their first hard or first soft bounce, so the
 * hard rows add up to the hard bounce count) and its bounce events.
 */
import type { CampaignStats } from '../../../core/compliance/stats.ts';
import { formatNumber, h } from '../dom.ts';
import { formatRate } from './chart-math.ts';

export function bounceBreakdown(stats: Pick<CampaignStats, 'bounces' | 'counts' | 'rates'>): HTMLElement {
  const { hard, soft } = stats.counts.bounced;
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'bounces-title', 'data-testid': 'bounce-breakdown' },
    h('h2', { id: 'bounces-title' }, 'Bounces'),
    h(
      'p',
      null,
      `${formatNumber(hard)} hard (${formatRate(stats.rates.hardBounce)} of sent), ${formatNumber(soft)} soft (${formatRate(stats.rates.softBounce)}). `,
      h(
        'span',
        { class: 'small muted' },
        'Hard bounces are suppressed at once; soft ones (a full mailbox, a server busy) may deliver later.',
      ),
    ),
    stats.bounces.length === 0
      ? h('p', { class: 'muted' }, 'No bounces.')
      : h(
          'table',
          { class: 'list compact' },
          h(
            'thead',
            null,
            h(
              'tr',
              null,
              h('th', { scope: 'col' }, 'Kind'),
              h('th', { scope: 'col' }, 'Type'),
              h('th', { scope: 'col' }, 'Sub-type'),
              h('th', { scope: 'col', class: 'num' }, 'Recipients'),
              h('th', { scope: 'col', class: 'num' }, 'Events'),
            ),
          ),
          h(
            'tbody',
            null,
            stats.bounces.map((b) =>
              h(
                'tr',
                { 'data-kind': b.hard ? 'hard' : 'soft' },
                h('td', null, b.hard ? 'hard' : 'soft'),
                h('td', { 'data-column': 'type' }, b.type),
                h('td', { 'data-column': 'subType' }, b.subType || '–'),
                h('td', { class: 'num', 'data-column': 'unique' }, formatNumber(b.unique)),
                h('td', { class: 'num', 'data-column': 'total' }, formatNumber(b.total)),
              ),
            ),
          ),
        ),
  );
}
