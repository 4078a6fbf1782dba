/** `sixback campaigns`, `status`, `cancel`, `resume`, `resend-failed`, `report`. */
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import {
  isFinal,
  RECIPIENT_STATE_TONE,
  RECIPIENT_STATES,
  type RecipientState,
} from '../../core/campaigns/status.ts';
import { type CampaignView, progressSummary } from '../../core/campaigns/view.ts';
import { describeAlarm, describeEvents, describeRates } from '../../core/compliance/health.ts';
import type { JobView } from '../../core/jobs/jobs.ts';
import type { ApiClient } from '../client.ts';
import { type CommonOptions, clientFor, run, withConnection } from '../command.ts';
import { CliError, EXIT } from '../exit.ts';
import { waitForJob } from '../jobs.ts';
import {
  colour,
  duration,
  isTty,
  positiveInt,
  positiveNumber,
  printJson,
  progressBar,
  table,
} from '../output.ts';
import { describeAbTest } from './ab-test-view.ts';

const path = (id: string, rest = '') => `/v1/campaigns/${encodeURIComponent(id)}${rest}`;

/** `latest` stands for the newest campaign, so a quick start can be pasted without copying an id. */
async function campaignId(client: ApiClient, id: string): Promise<string> {
  if (id !== 'latest') return id;
  const page = await client.json<{ items: CampaignView[] }>('GET', '/v1/campaigns?limit=1');
  const newest = page.items[0];
  if (!newest) throw new CliError('There is no campaign yet, so no latest one.', EXIT.failed);
  return newest.id;
}

const TONE_COLOUR = { ok: 'green', skipped: 'dim', problem: 'red', untried: 'cyan' } as const;
/** A state's count in its colour (on a terminal); a zero count stays plain. */
const stateColour = (state: RecipientState, text: string, count: number) =>
  count > 0 ? colour(TONE_COLOUR[RECIPIENT_STATE_TONE[state]], text) : text;

/** 0 when the campaign reached everyone, 1 when it ended any other way. */
export const exitCodeFor = (view: CampaignView) => (view.status === 'completed' ? EXIT.ok : EXIT.failed);

export function describeCampaign(view: CampaignView): string {
  const p = view.progress;
  const rows: [string, string][] = [
    ['campaign', `${view.id} (${view.name})`],
    ['status', `${view.status}${view.statusReason ? ` — ${view.statusReason}` : ''}`],
    ['template', `${view.templateId} v${view.templateVersion}`],
    ['from', view.from],
    ['recipients', view.recipientsKey],
  ];
  if (view.schedule.sendAt) {
    rows.push([
      'send at',
      `${view.schedule.sendAt}${view.schedule.sendAtLocal ? ` (${view.schedule.sendAtLocal} ${view.schedule.timeZone})` : ''}`,
    ]);
  }
  if (view.startedAt) rows.push(['started', view.startedAt]);
  if (view.finishedAt) rows.push(['finished', view.finishedAt]);
  rows.push([
    'progress',
    `${progressBar(p.done, p.total)} ${p.done}/${p.total ?? '?'} decided${p.percent !== null ? ` (${p.percent}%)` : ''}`,
  ]);
  rows.push(['', progressSummary(view)]);
  rows.push(['', RECIPIENT_STATES.map((s) => stateColour(s, `${s} ${p.counts[s]}`, p.counts[s])).join(', ')]);
  rows.push(['rate', `${p.ratePerSecond ?? '-'} /s so far, planned ${p.plannedRate} /s`]);
  if (p.expectedFinishAt && !isFinal(view.status)) rows.push(['expected end', p.expectedFinishAt]);
  const d = view.deliverability;
  if (d) {
    rows.push(['events', describeEvents(d.events) || 'none yet']);
    rows.push(['health', `${d.status === 'alarm' ? colour('red', 'ALARM') : 'ok'}: ${describeRates(d)}`]);
    for (const alarm of d.alarms)
      rows.push(['', colour('red', `${describeAlarm(alarm)} (raised ${alarm.raisedAt})`)]);
  }
  if (view.executionUrl) rows.push(['execution', view.executionUrl]);
  if (view.reportAvailable) rows.push(['report', `sixback report ${view.id}`]);
  return view.abTest ? `${table(rows)}\n${describeAbTest(view.abTest)}` : table(rows);
}

const RATE_WINDOW_MS = 5000;

/** Polls until the campaign is final; draws one bar on a terminal, one line per change otherwise. */
export async function watchCampaign(
  client: ApiClient,
  id: string,
  options: { json: boolean; intervalSeconds: number },
): Promise<CampaignView> {
  const tty = isTty() && !options.json;
  const samples: { done: number; at: number }[] = [];
  let lastLine = '';
  for (;;) {
    const view = await client.json<CampaignView>('GET', path(id), { retries: 3 });
    const now = Date.now();
    const p = view.progress;
    // The rate right now, over the last few seconds of polls (the API's rate is the average since the
    // start); one poll to the next would swing with every progress write.
    samples.push({ done: p.done, at: now });
    while (samples.length > 2 && now - (samples[1] as { at: number }).at >= RATE_WINDOW_MS) samples.shift();
    const first = samples[0] as { done: number; at: number };
    const current = now > first.at ? ((p.done - first.done) * 1000) / (now - first.at) : null;
    if (options.json) printJson(view);
    else {
      const remaining = p.total !== null && current ? (p.total - p.done) / current : null;
      const line = `${progressBar(p.done, p.total)} ${p.done}/${p.total ?? '?'} ${view.status}${
        current !== null && view.status === 'sending' ? `  ${Math.round(current)}/s` : ''
      }${remaining !== null && view.status === 'sending' ? `  ~${duration(remaining)} left` : ''}`;
      if (tty) process.stdout.write(`\r\x1b[2K${line}`);
      else if (line !== lastLine) console.log(line);
      lastLine = line;
    }
    if (isFinal(view.status)) {
      if (tty) process.stdout.write('\n');
      if (!options.json) console.log(describeCampaign(view));
      return view;
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalSeconds * 1000));
  }
}

export function register(program: Command): void {
  withConnection(
    program
      .command('campaigns')
      .description('List campaigns, newest first.')
      .option('--limit <n>', 'how many', positiveInt, 20)
      .option('--cursor <cursor>', 'continue from a previous page (printed at the end)')
      .addHelpText('after', '\nExamples:\n  sixback campaigns\n  sixback campaigns --limit 100 --json'),
  ).action(
    run(async (options: CommonOptions & { limit: number; cursor?: string }) => {
      const query = new URLSearchParams({
        limit: String(options.limit),
        ...(options.cursor ? { cursor: options.cursor } : {}),
      });
      const page = await clientFor(options).json<{ items: CampaignView[]; cursor: string | null }>(
        'GET',
        `/v1/campaigns?${query}`,
      );
      if (options.json) return printJson(page);
      if (page.items.length === 0) return console.log('no campaigns yet');
      console.log(
        table(
          page.items.map((c) => [
            c.id,
            c.status,
            `${c.progress.done}/${c.progress.total ?? '?'}`,
            c.templateId,
            // When it was (or will be) sent; "not sent" for one that never began.
            c.schedule.sendAt ?? c.startedAt ?? (isFinal(c.status) ? 'not sent' : 'now'),
            c.name,
          ]),
          ['ID', 'STATUS', 'DONE', 'TEMPLATE', 'SEND TIME (UTC)', 'NAME'],
        ),
      );
      if (page.cursor) console.log(`\nmore: sixback campaigns --cursor ${page.cursor}`);
    }),
  );

  withConnection(
    program
      .command('status <id>')
      .description(
        'Show a campaign with live progress; --watch follows it to the end ("latest": the newest).',
      )
      .option(
        '-w, --watch',
        'follow until the campaign ends; exit 0 if it reached everyone, 1 otherwise',
        false,
      )
      .option('--interval <seconds>', 'seconds between polls with --watch', positiveNumber, 1)
      .addHelpText(
        'after',
        '\nWith --watch --json, prints one JSON object per poll; the last line is the final state.\n\nExamples:\n  sixback status c1a2b3\n  sixback status c1a2b3 --watch\n  sixback status c1a2b3 --watch --json | tail -n 1',
      ),
  ).action(
    run(async (given: string, options: CommonOptions & { watch: boolean; interval: number }) => {
      const client = clientFor(options);
      const id = await campaignId(client, given);
      if (options.watch)
        return exitCodeFor(
          await watchCampaign(client, id, { json: Boolean(options.json), intervalSeconds: options.interval }),
        );
      const view = await client.json<CampaignView>('GET', path(id));
      if (options.json) printJson(view);
      else console.log(describeCampaign(view));
      return EXIT.ok;
    }),
  );

  const actions = [
    ['cancel', '/cancel', 'Cancel a campaign that is pending, scheduled or sending.'],
    [
      'resume',
      '/resume',
      'Resume a campaign that failed, was cancelled or ended with failures: rows already sent are not sent again.',
    ],
    ['resend-failed', '/resend-failed', 'Send again to the rows that failed, and only those.'],
  ] as const;
  for (const [name, suffix, description] of actions) {
    withConnection(
      program
        .command(`${name} <id>`)
        .description(description)
        .option('-w, --watch', 'then follow it to the end, like status --watch', false)
        .addHelpText('after', `\nExamples:\n  sixback ${name} c1a2b3\n  sixback ${name} c1a2b3 --json`),
    ).action(
      run(async (given: string, options: CommonOptions & { watch: boolean }) => {
        const client = clientFor(options);
        const id = await campaignId(client, given);
        const { job, ...view } = await client.json<CampaignView & { job?: JobView }>(
          'POST',
          path(id, suffix),
        );
        // A cancel answers at once; its report is written by a job: wait for it, showing progress.
        if (job) await waitForJob(client, job, { what: 'writing the report', quiet: Boolean(options.json) });
        if (options.json) printJson(view);
        else console.log(`campaign ${view.id} is now ${view.status}`);
        if (options.watch && !isFinal(view.status)) {
          return exitCodeFor(
            await watchCampaign(client, id, { json: Boolean(options.json), intervalSeconds: 1 }),
          );
        }
        return EXIT.ok;
      }),
    );
  }

  withConnection(
    program
      .command('report <id>')
      .description('Download the per-recipient report (CSV: row, email, state, reason, message id).')
      .option('-o, --out <file>', 'where to write it ("-" for stdout)', '')
      .option('--url', 'print a link valid for 15 minutes instead of downloading', false)
      .addHelpText(
        'after',
        '\nExamples:\n  sixback report c1a2b3            # writes c1a2b3-report.csv\n  sixback report c1a2b3 --out - | grep failed\n  sixback report c1a2b3 --url',
      ),
  ).action(
    run(async (given: string, options: CommonOptions & { out: string; url: boolean }) => {
      const client = clientFor(options);
      const id = await campaignId(client, given);
      type Link = { url: string; expiresAt: string };
      let link = await client.json<Link | { job: JobView }>('GET', path(id, '/report'));
      if ('job' in link) {
        // A stopped campaign's report is written on demand (202 with a job): wait, then ask again.
        await waitForJob(client, link.job, { what: 'writing the report', quiet: Boolean(options.json) });
        link = await client.json<Link>('GET', path(id, '/report'));
      }
      if (!('url' in link)) throw new CliError('The API gave no report link.', EXIT.server);
      if (options.url) {
        if (options.json) printJson(link);
        else console.log(link.url);
        return;
      }
      const response = await fetch(link.url).catch((error: Error) => {
        throw new CliError(`Cannot download the report: ${error.message}`, EXIT.server);
      });
      if (!response.ok || !response.body)
        throw new CliError(`Cannot download the report: HTTP ${response.status}`, EXIT.server);
      const out = options.out || `${id}-report.csv`;
      const body = Readable.fromWeb(response.body as never);
      if (out === '-') await pipeline(body, process.stdout, { end: false });
      else {
        await pipeline(body, createWriteStream(out));
        if (options.json) printJson({ campaignId: id, file: out });
        else console.log(`report written to ${out}`);
      }
    }),
  );
}
