/** `sixback stats <id>`: what happened after "sent" (delivered, bounced, opened, clicked...). */
import type { Command } from 'commander';
import type { CampaignStats, RecipientOutcomeView } from '../../core/compliance/stats.ts';
import { type CommonOptions, clientFor, run, withConnection } from '../command.ts';
import { printJson, table } from '../output.ts';

const percent = (fraction: number) => `${(Math.round(fraction * 1000) / 10).toFixed(1)}%`;

/**
 * The stats as a table for people: counts with their rates, the links, the bounces by type, the last points
 * of the series.
 */
export function describeStats(stats: CampaignStats, options: { points?: number } = {}): string {
  const c = stats.counts;
  const r = stats.rates;
  const lines = [
    table(
      [
        ['sent', stats.sent, ''],
        ['delivered', c.delivered, percent(r.delivery)],
        ['bounced (hard)', c.bounced.hard, percent(r.hardBounce)],
        ['bounced (soft)', c.bounced.soft, percent(r.softBounce)],
        ['complained', c.complained, percent(r.complaint)],
        ['opened (unique)', c.opened.unique, percent(r.open)],
        ['opens (total)', c.opened.total, ''],
        ['clicked (unique)', c.clicked.unique, percent(r.click)],
        ['clicks (total)', c.clicked.total, ''],
        ['click-to-open', '', percent(r.clickToOpen)],
        ['unsubscribed', c.unsubscribed, percent(r.unsubscribe)],
        ['rejected', c.rejected, ''],
        ['delayed', c.delayed, ''],
      ],
      [stats.campaignId, 'count', 'rate'],
    ),
  ];
  if (stats.links.length > 0) {
    lines.push(
      '',
      table(
        stats.links.map((l) => [l.url, l.unique, l.total]),
        ['link', 'unique', 'clicks'],
      ),
    );
  }
  if (stats.bounces.length > 0) {
    lines.push(
      '',
      table(
        stats.bounces.map((b) => [
          b.hard ? 'hard' : 'soft',
          `${b.type}/${b.subType || '-'}`,
          b.unique,
          b.total,
        ]),
        ['bounce', 'type/sub-type', 'recipients', 'events'],
      ),
    );
  }
  const shown = stats.series.points.slice(-(options.points ?? 12));
  if (shown.length > 0) {
    lines.push(
      '',
      table(
        shown.map((p) => [
          p.resolution === 'minute' ? p.start.slice(0, 16) : `${p.start.slice(0, 13)}h`,
          p.delivered,
          p.bouncedHard + p.bouncedSoft,
          p.complained,
          p.opened,
          p.clicked,
          p.unsubscribed,
        ]),
        ['time (UTC)', 'delivered', 'bounced', 'complained', 'opens', 'clicks', 'unsubscribed'],
      ),
    );
  }
  lines.push('', ...stats.notes);
  return lines.join('\n');
}

export function describeRecipient(view: RecipientOutcomeView): string {
  const o = view.outcome;
  const rows: [string, string | number][] = [
    ['recipient', view.email],
    [
      'send',
      view.send
        ? `${view.send.state}${view.send.messageId ? ` (${view.send.messageId})` : ''}`
        : 'never sent',
    ],
  ];
  if (o.deliveredAt) rows.push(['delivered', o.deliveredAt]);
  if (o.bounceType)
    rows.push(['bounce', `${o.bounceType}/${o.bounceSubType ?? '-'} ${o.bounceReason ?? ''}`.trim()]);
  if (o.complainedAt) rows.push(['complained', o.complainedAt]);
  if (o.opens > 0) rows.push(['opens', `${o.opens} (first ${o.firstOpenedAt})`]);
  if (o.clicks > 0) rows.push(['clicks', `${o.clicks}: ${o.linksClicked.join(' ')}`]);
  if (o.unsubscribedAt) rows.push(['unsubscribed', o.unsubscribedAt]);
  const timeline = view.timeline.map((e) => [e.at, e.type, e.detail ?? '']);
  return [table(rows), '', table(timeline, ['time (UTC)', 'event', 'detail'])].join('\n');
}

export function register(program: Command): void {
  withConnection(
    program
      .command('stats <id>')
      .description(
        'Delivered, bounced, complained, opened, clicked and unsubscribed: counts, rates, per link, over time.',
      )
      .option('--recipient <email>', "one recipient's outcome and timeline instead")
      .addHelpText(
        'after',
        '\nExamples:\n  sixback stats c1a2b3\n  sixback stats c1a2b3 --json | jq .rates\n  sixback stats c1a2b3 --recipient ann@example.com',
      ),
  ).action(
    run(async (id: string, options: CommonOptions & { recipient?: string }) => {
      const client = clientFor(options);
      const base = `/v1/campaigns/${encodeURIComponent(id)}`;
      if (options.recipient) {
        const view = await client.json<RecipientOutcomeView>(
          'GET',
          `${base}/recipients/${encodeURIComponent(options.recipient)}`,
        );
        if (options.json) printJson(view);
        else console.log(describeRecipient(view));
        return;
      }
      const stats = await client.json<CampaignStats>('GET', `${base}/stats`);
      if (options.json) printJson(stats);
      else console.log(describeStats(stats));
    }),
  );
}
