/**
 * Clicks per link, as the API counts them (busiest first): the link's address as text (a tracked link is
 * the original address SES redirected to), recipients who clicked it, and all its clicks.
 */
import type { CampaignStats } from '../../../core/compliance/stats.ts';
import { formatNumber, h } from '../dom.ts';

export function linkClicks(stats: Pick<CampaignStats, 'links'>): HTMLElement {
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'links-title', 'data-testid': 'link-clicks' },
    h('h2', { id: 'links-title' }, 'Clicks per link'),
    stats.links.length === 0
      ? h('p', { class: 'muted' }, 'No clicks yet.')
      : h(
          'table',
          { class: 'list compact' },
          h(
            'thead',
            null,
            h(
              'tr',
              null,
              h('th', { scope: 'col' }, 'Link'),
              h('th', { scope: 'col', class: 'num' }, 'Unique clicks'),
              h('th', { scope: 'col', class: 'num' }, 'Total clicks'),
            ),
          ),
          h(
            'tbody',
            null,
            stats.links.map((link) =>
              h(
                'tr',
                null,
                h('td', { class: 'mono small break', 'data-column': 'url' }, link.url),
                h('td', { class: 'num', 'data-column': 'unique' }, formatNumber(link.unique)),
                h('td', { class: 'num', 'data-column': 'total' }, formatNumber(link.total)),
              ),
            ),
          ),
        ),
  );
}
