/**
 * Bounces by SES's type and sub-type (Permanent/General, Transient/MailboxFull...): hard (Permanent)
 * ones first, each with the recipients it counts (under their first hard or first soft bounce, so the
 * hard rows add up to the hard bounce count) and its bounce events.
 */
import type { CampaignStats } from '../../../core/compliance/stats.ts';
import { card, dataTable, formatNumber, h } from '../dom.ts';
import { formatRate } from './chart-math.ts';

export function bounceBreakdown(stats: Pick<CampaignStats, 'bounces' | 'counts' | 'rates'>): HTMLElement {
  const { hard, soft } = stats.counts.bounced;
  return card(
    { id: 'bounces-title', title: 'Bounces', testId: 'bounce-breakdown' },
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
      : dataTable({
          props: { class: 'list compact' },
          columns: [
            { header: 'Kind', cell: (b) => (b.hard ? 'hard' : 'soft') },
            { header: 'Type', cellProps: { 'data-column': 'type' }, cell: (b) => b.type },
            { header: 'Sub-type', cellProps: { 'data-column': 'subType' }, cell: (b) => b.subType || '–' },
            { header: 'Recipients', count: (b) => b.unique, cellProps: { 'data-column': 'unique' } },
            { header: 'Events', count: (b) => b.total, cellProps: { 'data-column': 'total' } },
          ],
          rows: stats.bounces,
          rowProps: (b) => ({ 'data-kind': b.hard ? 'hard' : 'soft' }),
        }),
  );
}
