/**
 * Clicks per link, as the API counts them (busiest first): the link's address as text (a tracked link is
 * the original address SES redirected to), recipients who clicked it, and all its clicks.
 */
import type { CampaignStats } from '../../../core/compliance/stats.ts';
import { card, dataTable, h } from '../dom.ts';

export function linkClicks(stats: Pick<CampaignStats, 'links'>): HTMLElement {
  return card(
    { id: 'links-title', title: 'Clicks per link', testId: 'link-clicks' },
    stats.links.length === 0
      ? h('p', { class: 'muted' }, 'No clicks yet.')
      : dataTable({
          props: { class: 'list compact' },
          columns: [
            {
              header: 'Link',
              cellProps: { class: 'mono small break', 'data-column': 'url' },
              cell: (link) => link.url,
            },
            { header: 'Unique clicks', count: (link) => link.unique, cellProps: { 'data-column': 'unique' } },
            { header: 'Total clicks', count: (link) => link.total, cellProps: { 'data-column': 'total' } },
          ],
          rows: stats.links,
        }),
  );
}
