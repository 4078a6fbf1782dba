/** `sixback send`: check the recipients, confirm, start or schedule a campaign (or send a test). */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { formatInZone } from '../../core/campaigns/schedule.ts';
import type { CampaignView } from '../../core/campaigns/view.ts';
import type { ShortRowAction, TemplateRecord } from '../../core/schemas.ts';
import type { ApiClient } from '../client.ts';
import { type CommonOptions, clientFor, run, withConnection } from '../command.ts';
import { CliError, EXIT } from '../exit.ts';
import {
  collectList,
  collectVariable,
  confirm,
  duration,
  positiveInt,
  positiveNumber,
  printJson,
} from '../output.ts';
import { resolveAt } from '../when.ts';
import { type AbTestOptions, abTestRequest, addAbTestOptions } from './ab-test.ts';
import { describeCampaign, exitCodeFor, watchCampaign } from './campaigns.ts';
import { checkUpload, describeCheck, SHORT_ROWS_HELP, shortRowAction, uploadFile } from './upload.ts';

interface SendOptions extends CommonOptions, AbTestOptions {
  template: string;
  version?: number;
  recipients: string;
  from: string;
  replyTo?: string[];
  name?: string;
  data?: Record<string, string>;
  at?: string;
  tz?: string;
  rate?: number;
  emailColumn?: string;
  onInvalidRows?: 'skip' | 'abort';
  shortRows?: ShortRowAction;
  test?: string[];
  yes: boolean;
  watch: boolean;
  idempotencyKey?: string;
}

export const systemTimeZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone;

/** Edit distance, for "did you mean" on a mistyped template id. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        (previous[j] as number) + 1,
        (current[j - 1] as number) + 1,
        (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length] as number;
}

/** The closest id within a few edits (or one that contains the other), if any. */
export function nearestId(wanted: string, ids: string[]): string | undefined {
  const scored = ids
    .map((id) => ({ id, d: distance(wanted.toLowerCase(), id.toLowerCase()) }))
    .filter(
      ({ id, d }) =>
        d <= Math.max(2, Math.floor(wanted.length / 3)) || id.toLowerCase().includes(wanted.toLowerCase()),
    )
    .sort((a, b) => a.d - b.d);
  return scored[0]?.id;
}

async function findTemplate(client: ApiClient, id: string, version?: number): Promise<TemplateRecord> {
  try {
    return await client.json<TemplateRecord>(
      'GET',
      `/v1/templates/${encodeURIComponent(id)}${version ? `?version=${version}` : ''}`,
    );
  } catch (error) {
    if (!(error instanceof CliError) || error.code !== 'not_found' || version) throw error;
    const list = await client
      .json<{ items: { id: string }[] }>('GET', '/v1/templates')
      .catch(() => ({ items: [] }));
    const ids = list.items.map((t) => t.id);
    const near = nearestId(id, ids);
    throw new CliError(
      `No template "${id}".${near ? ` Did you mean "${near}"?` : ''} ${
        ids.length > 0
          ? `Templates: ${ids.slice(0, 10).join(', ')}${ids.length > 10 ? ', ...' : ''}.`
          : 'There are none yet: sixback templates put <id> --subject ... --html file.html'
      }`,
      EXIT.failed,
      error.details,
      error.code,
    );
  }
}

async function settled(client: ApiClient, view: CampaignView): Promise<CampaignView> {
  let current = view;
  const until = Date.now() + 15_000;
  while (current.status === 'pending' && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    current = await client.json<CampaignView>('GET', `/v1/campaigns/${encodeURIComponent(view.id)}`, {
      retries: 2,
    });
  }
  return current;
}

function headline(view: CampaignView): string {
  if (view.status === 'scheduled')
    return `campaign ${view.id} scheduled for ${view.schedule.sendAtLocal ?? view.schedule.sendAt}${
      view.schedule.timeZone ? ` (${view.schedule.timeZone})` : ''
    }`;
  if (view.status === 'sending') return `campaign ${view.id} started`;
  if (view.status === 'pending') return `campaign ${view.id} created; its recipients are still being checked`;
  return `campaign ${view.id} is ${view.status.replaceAll('_', ' ')}`;
}

export function register(program: Command): void {
  withConnection(
    addAbTestOptions(
      program
        .command('send')
        .description('Start a campaign now or at a time; shows the recipients check and asks before sending.')
        .requiredOption('-t, --template <id>', 'template id')
        .option('--version <n>', 'template version (default: the latest)', positiveInt)
        .requiredOption('-r, --recipients <file|key>', 'a CSV file to upload, or the key of an uploaded one')
        .requiredOption('-f, --from <address>', 'From address (an identity verified in SES)')
        .option('--reply-to <address>', 'Reply-To address (repeatable)', collectList)
        .option('--name <name>', 'campaign name for people')
        .option('-d, --data <name=value>', 'a campaign-wide template variable (repeatable)', collectVariable)
        .option('--at <time>', 'send later: 2026-12-01T09:00+09:00, or 2026-12-01 09:00 with --tz')
        .option('--tz <zone>', "IANA zone of --at, e.g. Europe/Paris (default: this computer's zone)")
        .option('--rate <n>', "emails per second (default: the account's setting)", positiveNumber)
        .option('--email-column <name>', 'the CSV column with addresses')
        .option('--on-invalid-rows <what>', '"skip" invalid rows (default) or "abort" the whole campaign')
        .option('--short-rows <what>', SHORT_ROWS_HELP, shortRowAction)
        .option(
          '--test <addresses>',
          'send a test to these addresses (comma-separated, at most 5) instead of starting',
          collectList,
        )
        .option('-y, --yes', 'do not ask for confirmation (needed when not on a terminal)', false)
        .option(
          '-w, --watch',
          'follow the campaign to its end (exit 0 if it reached everyone, 1 otherwise)',
          false,
        )
        .option(
          '--idempotency-key <key>',
          'retrying with the same key never starts a second campaign (default: a new one)',
        )
        .addHelpText(
          'after',
          `
Examples:
  sixback send -t welcome -r recipients.csv -f news@example.com -d company=Acme
  sixback send -t welcome -r uploads/recipients/2026-11-25/3f2c...csv -f news@example.com --yes --watch
  sixback send -t welcome -r list.csv -f news@example.com --at "2026-12-01 09:00" --tz Asia/Seoul
  sixback send -t welcome -r list.csv -f news@example.com --test me@example.com,boss@example.com
  sixback send -t welcome -r list.csv -f news@example.com --variant "subject=Hi {{ first_name }}" \\
    --variant "subject=Your offer inside" --sample 20% --metric clicks --decide-after 4h`,
        ),
    ),
  ).action(
    run(async (options: SendOptions) => {
      const client = clientFor(options);
      const say = (line: string) => {
        if (!options.json) console.log(line);
      };
      const abTest = abTestRequest(options);
      if (options.onInvalidRows && !['skip', 'abort'].includes(options.onInvalidRows)) {
        throw new CliError('--on-invalid-rows is "skip" or "abort".', EXIT.usage);
      }
      // Refuse before uploading anything when nobody can answer the question.
      if (!options.yes && !options.test && !process.stdin.isTTY) {
        throw new CliError(
          'Not sent: not on a terminal to confirm; pass --yes to send without asking.',
          EXIT.usage,
        );
      }
      // The cheap checks first: the time and the template, before a large file is uploaded and read.
      const timeZone = options.at ? (options.tz ?? systemTimeZone()) : options.tz;
      const at = options.at ? resolveAt(options.at, timeZone as string, new Date()) : undefined;
      const template = await findTemplate(client, options.template, options.version);

      let key = options.recipients;
      if (existsSync(options.recipients)) {
        say(`uploading ${options.recipients} ...`);
        key = (await uploadFile(client, options.recipients)).key;
      } else if (!options.recipients.startsWith('uploads/')) {
        throw new CliError(
          `${options.recipients} is neither a file here nor the key of an upload (uploads/...).`,
          EXIT.usage,
        );
      }

      if (options.test) {
        const out = await client.json<{ sent: { to: string; messageId: string }[] }>(
          'POST',
          '/v1/campaigns/test',
          {
            body: {
              templateId: template.id,
              templateVersion: template.version,
              from: options.from,
              ...(options.replyTo ? { replyTo: options.replyTo } : {}),
              ...(options.data ? { data: options.data } : {}),
              recipientsKey: key,
              ...(options.emailColumn ? { emailColumn: options.emailColumn } : {}),
              to: options.test,
            },
          },
        );
        if (options.json) printJson(out);
        else for (const s of out.sent) console.log(`test sent to ${s.to} (${s.messageId})`);
        return EXIT.ok;
      }

      const check = await checkUpload(client, key, options.emailColumn, options.shortRows);
      if (!options.json) {
        console.log(`recipients ${key}`);
        for (const line of describeCheck(check)) console.log(line);
      }
      const rate = options.rate;
      const when = at
        ? `at ${formatInZone(at.instant, at.timeZone).slice(0, 16).replace('T', ' ')} (${at.timeZone})`
        : 'now';
      const question =
        `Send "${template.subject}" (template ${template.id} v${template.version}) from ${options.from} to ${check.valid} recipient${check.valid === 1 ? '' : 's'} ${when}` +
        `${rate ? `, at ${rate} emails/s (about ${duration(check.valid / rate)})` : ''}` +
        `${abTest ? `, as an A/B test of ${options.variant?.length} variants on ${Math.round((abTest.sample as number) * 100)}% of them` : ''}?`;
      if (!options.yes) {
        if (!process.stdin.isTTY)
          throw new CliError(
            'Not sent: not on a terminal to confirm; pass --yes to send without asking.',
            EXIT.usage,
          );
        if (!(await confirm(question))) throw new CliError('Not sent.', EXIT.usage);
      }

      const body = {
        templateId: template.id,
        templateVersion: template.version,
        recipientsKey: key,
        from: options.from,
        ...(options.replyTo ? { replyTo: options.replyTo } : {}),
        ...(options.name ? { name: options.name } : {}),
        ...(options.data ? { data: options.data } : {}),
        ...(at ? { sendAt: at.sendAt } : {}),
        ...(timeZone ? { timeZone } : {}),
        ...(rate ? { rate } : {}),
        ...(options.emailColumn ? { emailColumn: options.emailColumn } : {}),
        ...(options.onInvalidRows ? { onInvalidRows: options.onInvalidRows } : {}),
        ...(options.shortRows ? { shortRows: options.shortRows } : {}),
        ...(abTest ? { abTest } : {}),
      };
      // The same key on every retry: a lost answer never starts a second campaign.
      const idempotencyKey = options.idempotencyKey ?? `cli-${randomUUID()}`;
      const created = await client.json<CampaignView>('POST', '/v1/campaigns', {
        body,
        headers: { 'idempotency-key': idempotencyKey },
        retries: 3,
      });
      // A new campaign is `pending` while its execution checks the file; wait a moment for it to become
      // scheduled or sending, so the headline and the status line say the same thing.
      const view = options.watch ? created : await settled(client, created);
      if (options.json && !options.watch) printJson(view);
      else if (!options.json) {
        console.log(`\n${headline(view)}`);
        console.log(describeCampaign(view));
        if (!options.watch) console.log(`\nfollow it: sixback status ${view.id} --watch`);
      }
      if (options.watch)
        return exitCodeFor(
          await watchCampaign(client, view.id, { json: Boolean(options.json), intervalSeconds: 1 }),
        );
      return EXIT.ok;
    }),
  );
}
