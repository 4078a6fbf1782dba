/**
 * What happened after "sent", on the campaign page: the delivery funnel, events over time, clicks per
 * link, the bounce breakdown (all from GET /v1/campaigns/:id/stats) and the recipient lookup. The stats
 * refresh every few seconds while the campaign is sending and for a short while after it ends (SES's
 * Delivery events trail the last sends by seconds), then stop; the Refresh button asks again at any time
 * (opens and clicks go on arriving for days). Leaving the page aborts the screen's signal, which stops the
 * refresh and drops any answer still on its way.
 */
import type { CampaignStats } from '../../../core/compliance/stats.ts';
import { api } from '../api.ts';
import { errorBox, h, mount } from '../dom.ts';
import { bounceBreakdown } from './bounce-breakdown.ts';
import { deliveryFunnel } from './delivery-funnel.ts';
import { eventsChart } from './events-chart.ts';
import { linkClicks } from './link-clicks.ts';
import { recipientLookup } from './recipient-lookup.ts';
import { refreshLoop } from './refresh.ts';
import './analytics.css';

export const fetchStats = (campaignId: string) =>
  api<CampaignStats>('GET', `/v1/campaigns/${encodeURIComponent(campaignId)}/stats`);

export const STATS_REFRESH_MS = 3000;
/** How long the stats keep refreshing after the campaign stopped changing. */
export const TRAILING_REFRESH_MS = 15_000;

export interface CampaignAnalytics {
  element: HTMLElement;
  /** Tells the panel whether the campaign is still sending (called on each campaign refresh). */
  setLive(live: boolean): void;
}

export function campaignAnalytics(
  campaignId: string,
  options: { signal: AbortSignal; live: boolean; timeZone?: string },
): CampaignAnalytics {
  const statsSlot = h('div', { class: 'analytics-stats' });
  const updated = h('span', { class: 'small muted', role: 'status', 'data-testid': 'stats-updated' });
  const errorSlot = h('div');
  let live = options.live;
  // A campaign that had ended before the page opened needs no trailing refresh: its events are in.
  let endedAt = live ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;

  const load = async () => {
    const stats = await fetchStats(campaignId);
    if (options.signal.aborted) return;
    mount(errorSlot);
    mount(
      statsSlot,
      deliveryFunnel(stats),
      eventsChart(stats, options.timeZone),
      h('div', { class: 'analytics-pair' }, linkClicks(stats), bounceBreakdown(stats)),
    );
    statsSlot.dataset.generatedAt = stats.generatedAt;
    updated.textContent = `Updated ${new Date(stats.generatedAt).toLocaleTimeString()}${
      live ? '; refreshing while the campaign sends' : ''
    }`;
  };
  const refresh = refreshLoop(load, {
    intervalMs: STATS_REFRESH_MS,
    signal: options.signal,
    keepGoing: () => live || Date.now() - endedAt < TRAILING_REFRESH_MS,
    onError: (error) => mount(errorSlot, errorBox(error)),
  });

  const element = h(
    'div',
    { class: 'campaign-analytics', 'data-testid': 'campaign-analytics' },
    h(
      'div',
      { class: 'toolbar' },
      h('h2', { class: 'section-title' }, 'After sending: delivery, opens and clicks'),
      h('button', { type: 'button', onclick: () => refresh.kick() }, 'Refresh'),
      updated,
    ),
    errorSlot,
    statsSlot,
    recipientLookup(campaignId, options.signal),
  );
  return {
    element,
    setLive(next) {
      if (next === live) return;
      live = next;
      endedAt = next ? Number.POSITIVE_INFINITY : Date.now();
      // Going live again (a resumed campaign): start refreshing; ending: one more now, then the trail.
      refresh.kick();
    },
  };
}
