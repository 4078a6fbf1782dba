/** Campaigns, newest first, with status and progress; refreshes while any is still going. */

import { RECIPIENT_STATES } from '../../../core/campaigns/status.ts';
import { type CampaignView, client } from '../api.ts';
import {
  type Child,
  type Column,
  dataTable,
  formatNumber,
  formatTime,
  h,
  mount,
  statusBadge,
} from '../dom.ts';
import type { ScreenContext } from '../screen.ts';

const ACTIVE = new Set(['pending', 'scheduled', 'sending']);
const POLL_MS = 2000;

/** When it was (or will be) sent: the schedule, else when sending began; "now" only before it began. */
function sendTime(c: CampaignView): Node | string {
  if (c.schedule.sendAt) return formatTime(c.schedule.sendAt);
  if (c.startedAt) return formatTime(c.startedAt);
  if (ACTIVE.has(c.status)) return h('span', { class: 'muted' }, 'now');
  return h('span', { class: 'muted' }, 'never sent');
}

/** The progress cell: done of total, a bar of the recipients' states, and the failed and not sent. */
function progress(c: CampaignView): Child {
  const p = c.progress;
  return [
    p.total === null ? '–' : `${formatNumber(p.done)} / ${formatNumber(p.total)}`,
    p.total
      ? h(
          'div',
          { class: 'mini-bar', 'aria-hidden': 'true' },
          RECIPIENT_STATES.map((state) =>
            p.counts[state] > 0
              ? h('span', {
                  class: `seg ${state}`,
                  style: `width:${(p.counts[state] / (p.total as number)) * 100}%`,
                })
              : null,
          ),
        )
      : null,
    p.counts.failed > 0
      ? h('div', { class: 'small danger' }, `${formatNumber(p.counts.failed)} failed`)
      : null,
    p.counts.not_sent > 0
      ? h('div', { class: 'small not-sent' }, `${formatNumber(p.counts.not_sent)} not sent`)
      : null,
  ];
}

// Template and Created are hidden on phones (styles.css): the rest fits 390 px.
const COLUMNS: Column<CampaignView>[] = [
  {
    header: 'Campaign',
    cell: (c) => [
      h('a', { href: `#/campaigns/${encodeURIComponent(c.id)}` }, c.name || c.id),
      c.name && c.name !== c.id ? h('div', { class: 'muted mono small' }, c.id) : null,
    ],
  },
  { header: 'Status', cellProps: { 'data-testid': 'status' }, cell: (c) => statusBadge(c.status) },
  {
    header: 'Template',
    class: 'optional-column',
    cellProps: { class: 'mono small' },
    cell: (c) => `${c.templateId} v${c.templateVersion}`,
  },
  { header: 'Progress', cellProps: { class: 'num' }, cell: progress },
  { header: 'Send time', cellProps: { 'data-testid': 'send-time' }, cell: sendTime },
  { header: 'Created', class: 'optional-column', cell: (c) => formatTime(c.createdAt) },
];

export async function campaignsScreen({ root, setTitle, signal }: ScreenContext): Promise<void> {
  setTitle('Campaigns');
  const body = h('div', { 'aria-busy': 'true' }, h('p', null, 'Loading campaigns…'));
  const more = h('div');
  mount(
    root,
    h(
      'div',
      { class: 'page-head' },
      h('h1', null, 'Campaigns'),
      h('a', { href: '#/campaigns/new', class: 'button primary' }, 'New campaign'),
    ),
    body,
    more,
  );
  let extra: CampaignView[] = [];
  let nextCursor: string | null | undefined;

  const draw = (items: CampaignView[]) => {
    body.removeAttribute('aria-busy');
    if (items.length === 0) {
      mount(body, h('p', { class: 'empty' }, 'No campaigns yet.'));
      return;
    }
    mount(
      body,
      dataTable({
        props: { class: 'list' },
        caption: 'Campaigns, newest first',
        captionProps: { class: 'visually-hidden' },
        columns: COLUMNS,
        rows: items,
        rowProps: (c) => ({ 'data-campaign': c.id }),
      }),
    );
  };

  const load = async () => {
    const page = await client.listCampaigns();
    if (signal.aborted) return;
    if (nextCursor === undefined) nextCursor = page.cursor ?? null;
    const ids = new Set(page.items.map((c) => c.id));
    draw([...page.items, ...extra.filter((c) => !ids.has(c.id))]);
    drawMore();
    if (page.items.some((c) => ACTIVE.has(c.status))) {
      const timer = setTimeout(() => void load().catch(() => undefined), POLL_MS);
      signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
    }
  };
  const drawMore = () => {
    mount(
      more,
      nextCursor
        ? h(
            'button',
            {
              type: 'button',
              onclick: async () => {
                const page = await client.listCampaigns(nextCursor ?? undefined);
                extra = [...extra, ...page.items];
                nextCursor = page.cursor ?? null;
                await load();
              },
            },
            'Show older campaigns',
          )
        : null,
    );
  };
  await load();
}
