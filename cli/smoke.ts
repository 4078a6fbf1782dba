/**
 * `sixback smoke`: proves a deployment end to end through its public HTTP API only, so the same code runs
 * against a deployed stack (SigV4) and against `sixback dev` (bearer token). It mails the SES mailbox
 * simulator, waits for SES's events to come back (configuration set -> EventBridge -> SQS -> ses-events
 * on AWS; the local SES's events locally), and checks what each address must produce, plus the RFC 8058
 * unsubscribe link. Every check says what to fix when it fails.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isFinal } from '../core/campaigns/status.ts';
import type { CampaignView } from '../core/campaigns/view.ts';
import type { ApiClient } from './client.ts';
import { uploadFile } from './commands/upload.ts';
import { CliError } from './exit.ts';

export const SIMULATOR = 'simulator.amazonses.com';
export const SMOKE_TEMPLATE_ID = 'sixback-smoke';

export interface SmokeCheck {
  name: string;
  ok: boolean;
  /** What was seen, for people. */
  detail: string;
  /** What to do about it; null when the check passed. */
  fix: string | null;
}

export interface SmokeResult {
  ok: boolean;
  campaignId: string | null;
  runLabel: string;
  addresses: Record<Mailbox, string>;
  checks: SmokeCheck[];
  seconds: number;
}

type Mailbox = 'success' | 'bounce' | 'complaint' | 'suppressionlist';
const MAILBOXES: Mailbox[] = ['success', 'bounce', 'complaint', 'suppressionlist'];

export interface SmokeOptions {
  from: string;
  /** How long to wait for the campaign and its events, in seconds. */
  timeoutSeconds: number;
  /** Keep the simulator addresses on the suppression list afterwards (default: taken off). */
  keep?: boolean;
}

export interface SmokeDeps {
  client: ApiClient;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Unauthenticated requests to the public unsubscribe link. */
  fetch: typeof fetch;
  progress?: (line: string) => void;
}

interface SuppressionEntry {
  email: string;
  reason: string;
  source?: string;
}

const TEMPLATE = {
  subject: 'sixback smoke test',
  html: '<p>This is a sixback smoke test to the SES mailbox simulator.</p><p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
  text: 'This is a sixback smoke test to the SES mailbox simulator.\nUnsubscribe: {{ unsubscribe_url }}',
};

/** Simulator addresses with a label unique to this run, so runs never see each other's suppressions. */
export function smokeAddresses(runLabel: string): Record<Mailbox, string> {
  return Object.fromEntries(MAILBOXES.map((m) => [m, `${m}+${runLabel}@${SIMULATOR}`])) as Record<
    Mailbox,
    string
  >;
}

async function suppressionOf(client: ApiClient, email: string): Promise<SuppressionEntry | null> {
  try {
    return await client.json<SuppressionEntry>('GET', `/v1/suppression/${encodeURIComponent(email)}`);
  } catch (error) {
    if (error instanceof CliError && error.code === 'not_found') return null;
    throw error;
  }
}

const EVENTS_FIX =
  'SES events are not reaching sixback. On AWS: check the configuration set has an EventBridge event destination, the rule targets the events queue, the ses-events function has no errors (CloudWatch logs) and its dead-letter queue is empty; `sixback doctor` checks the configuration set. Locally: the local SES publishes events only for its configuration set (SIXBACK_CONFIGURATION_SET).';

/** Runs the smoke test. Throws only when the API cannot be used at all (auth, network). */
export async function runSmoke(options: SmokeOptions, deps: SmokeDeps): Promise<SmokeResult> {
  const started = deps.now();
  const deadline = started + options.timeoutSeconds * 1000;
  const say = deps.progress ?? (() => undefined);
  const runLabel = `smoke${randomBytes(4).toString('hex')}`;
  const addresses = smokeAddresses(runLabel);
  const checks: SmokeCheck[] = [];
  const done = (campaignId: string | null): SmokeResult => ({
    ok: checks.every((c) => c.ok),
    campaignId,
    runLabel,
    addresses,
    checks,
    seconds: Math.round((deps.now() - started) / 100) / 10,
  });
  const { client } = deps;

  await client.json('GET', '/v1/health');
  checks.push({ name: 'API reachable and authorised', ok: true, detail: client.target.url, fix: null });

  // 1. The campaign: a template with the unsubscribe link, a four-row CSV, sent now.
  await client.json('PUT', `/v1/templates/${SMOKE_TEMPLATE_ID}`, { body: TEMPLATE });
  const dir = mkdtempSync(join(tmpdir(), 'sixback-smoke-'));
  let view: CampaignView;
  try {
    const csv = join(dir, 'smoke.csv');
    writeFileSync(csv, `email\n${MAILBOXES.map((m) => addresses[m]).join('\n')}\n`);
    const upload = await uploadFile(client, csv);
    view = await client.json<CampaignView>('POST', '/v1/campaigns', {
      body: {
        templateId: SMOKE_TEMPLATE_ID,
        recipientsKey: upload.key,
        from: options.from,
        name: `sixback smoke ${runLabel}`,
        rate: 1,
      },
      headers: { 'idempotency-key': `smoke-${runLabel}` },
      retries: 3,
    });
  } catch (error) {
    if (error instanceof CliError && error.exitCode !== 3 && error.exitCode !== 4) {
      checks.push({
        name: 'campaign created',
        ok: false,
        detail: error.message,
        fix: `The API refused the smoke campaign. Is --from ${options.from} a verified SES identity listed in senderIdentities (SIXBACK_SENDER_IDENTITIES)?`,
      });
      return done(null);
    }
    throw error;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  say(`campaign ${view.id} started (${MAILBOXES.length} recipients at the SES mailbox simulator)`);

  // 2. Wait for it to finish.
  while (!isFinal(view.status) && deps.now() < deadline) {
    await deps.sleep(1000);
    view = await client.json<CampaignView>('GET', `/v1/campaigns/${view.id}`);
  }
  const sent = view.progress.counts.sent ?? 0;
  const finished = view.status === 'completed' && sent === MAILBOXES.length;
  checks.push({
    name: 'campaign sent to all 4 simulator addresses',
    ok: finished,
    detail: `status ${view.status}${view.statusReason ? ` (${view.statusReason})` : ''}, sent ${sent} of ${MAILBOXES.length}`,
    fix: finished
      ? null
      : isFinal(view.status)
        ? `Look at the campaign (sixback status ${view.id}) and its report: a failed row names SES's error (an unverified From identity, a sandboxed account, a paused account). In the Step Functions console, the execution ${view.id} shows the failing step.`
        : `The campaign did not finish in ${options.timeoutSeconds} s: is the state machine running (Step Functions console, execution ${view.id})? Raise --timeout for a slow first start.`,
  });
  if (!isFinal(view.status)) return done(view.id);

  // 3. Wait for SES's events: two deliveries (success, complaint), two bounces (bounce,
  // suppressionlist), one complaint, and the three suppressions they cause.
  const want = { delivery: 2, bounce: 2, complaint: 1 };
  const expectedSuppression: [Mailbox, string][] = [
    ['bounce', 'bounce'],
    ['complaint', 'complaint'],
    ['suppressionlist', 'bounce'],
  ];
  let events = view.deliverability.events;
  let entries = new Map<Mailbox, SuppressionEntry | null>();
  const eventsIn = () =>
    events.delivery >= want.delivery && events.bounce >= want.bounce && events.complaint >= want.complaint;
  const suppressedAll = () => expectedSuppression.every(([m]) => entries.get(m));
  for (;;) {
    events = view.deliverability.events;
    entries = new Map(
      await Promise.all(
        expectedSuppression.map(async ([m]) => [m, await suppressionOf(client, addresses[m])] as const),
      ),
    );
    if ((eventsIn() && suppressedAll()) || deps.now() >= deadline) break;
    await deps.sleep(1000);
    view = await client.json<CampaignView>('GET', `/v1/campaigns/${view.id}`);
  }
  const waited = `after ${Math.round((deps.now() - started) / 1000)} s`;
  const count = (name: keyof typeof want) => `${events[name]} of ${want[name]} ${name} events`;
  const successSuppressed = await suppressionOf(client, addresses.success);
  const deliveredOk = events.delivery >= want.delivery && !successSuppressed;
  checks.push({
    name: 'success@: delivered',
    ok: deliveredOk,
    detail: `${count('delivery')} ${waited}${successSuppressed ? `; but suppressed (${successSuppressed.reason})` : ''}`,
    fix: deliveredOk
      ? null
      : events.delivery >= want.delivery
        ? 'A delivered address must not be suppressed: look at the suppression entry source.'
        : EVENTS_FIX,
  });
  for (const [mailbox, reason] of expectedSuppression) {
    const entry = entries.get(mailbox);
    const eventName = mailbox === 'complaint' ? 'complaint' : 'bounce';
    const arrived = events[eventName] >= want[eventName];
    const ok = arrived && entry?.reason === reason;
    checks.push({
      name: `${mailbox}@: ${mailbox === 'complaint' ? 'complained' : 'bounced'} and suppressed`,
      ok,
      detail: `${count(eventName)}; suppression: ${entry ? `${entry.reason} (${entry.source ?? 'no source'})` : 'none'}`,
      fix: ok
        ? null
        : !arrived
          ? EVENTS_FIX
          : `The ${eventName} was counted but ${entry ? `recorded as "${entry.reason}", not "${reason}"` : 'the address was not suppressed'}: check the ses-events function's logs and its write access to the suppression table.`,
    });
  }

  // 4. RFC 8058: the link a GET opens must not unsubscribe (link scanners follow GETs); a POST must.
  const link = await client.json<{ url: string }>('POST', `/v1/campaigns/${view.id}/unsubscribe-link`, {
    body: { email: addresses.success },
  });
  let get: { status: number; suppressed: boolean } | { error: string };
  try {
    const response = await deps.fetch(link.url, { method: 'GET', redirect: 'manual' });
    await response.arrayBuffer();
    get = { status: response.status, suppressed: Boolean(await suppressionOf(client, addresses.success)) };
  } catch (error) {
    get = { error: (error as Error).message };
  }
  const linkFix = `The unsubscribe link ${new URL(link.url).origin}/u/... cannot be reached: its base is publicBaseUrl (SIXBACK_PUBLIC_BASE_URL, -c publicBaseUrl), which must be this API's public address (or a domain routed to it), with the /u/ routes public.`;
  const getOk = 'status' in get && get.status === 200 && !get.suppressed;
  checks.push({
    name: 'unsubscribe link: GET does not unsubscribe',
    ok: getOk,
    detail:
      'error' in get
        ? get.error
        : `HTTP ${get.status}${get.suppressed ? ', and the address was suppressed' : ''}`,
    fix: getOk
      ? null
      : 'error' in get || get.status !== 200
        ? linkFix
        : 'A GET must only show a confirmation page: mail scanners follow every link, and would unsubscribe everyone.',
  });
  let post: { status: number; entry: SuppressionEntry | null } | { error: string };
  try {
    const response = await deps.fetch(link.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
      redirect: 'manual',
    });
    await response.arrayBuffer();
    post = { status: response.status, entry: await suppressionOf(client, addresses.success) };
  } catch (error) {
    post = { error: (error as Error).message };
  }
  const postOk = 'status' in post && post.status === 200 && post.entry?.reason === 'unsubscribe';
  checks.push({
    name: 'unsubscribe link: one-click POST unsubscribes',
    ok: postOk,
    detail:
      'error' in post
        ? post.error
        : `HTTP ${post.status}; suppression: ${post.entry ? post.entry.reason : 'none'}`,
    fix: postOk
      ? null
      : 'error' in post || post.status !== 200
        ? linkFix
        : 'The POST answered but did not suppress the address as "unsubscribe": check the API function can write the suppression table.',
  });

  // The simulator addresses are test addresses: leave no trace on the suppression list unless asked.
  if (!options.keep) {
    for (const mailbox of MAILBOXES) {
      try {
        await client.fetch('DELETE', `/v1/suppression/${encodeURIComponent(addresses[mailbox])}`);
      } catch (error) {
        if (!(error instanceof CliError && error.code === 'not_found')) throw error;
      }
    }
  }
  return done(view.id);
}
