/**
 * The sender: one batch of prepared rows in, one outcome per row out. Per-recipient problems (invalid
 * data, a rejected message) become outcomes; systemic ones (throttling that outlasts the local retries,
 * SES paused) fail the batch with a named error so the state machine's Retry or Catch takes over. The
 * ledger makes a retried batch skip every row SES already accepted.
 *
 * Guarantees this file is responsible for (docs/guarantees.md):
 * - nobody already in the ledger is sent to again; accepted sends reach the ledger in groups, each group
 *   written within `ledgerFlushMs`, and no send starts while `maxInFlight + 2 x ledgerGroupSize` sends are
 *   in flight or unrecorded: that bounds what a crash can leave unrecorded (the duplicate window);
 * - a campaign that was stopped (cancelled, failed, SES paused, or superseded by a newer run) stops sending
 *   within `gateIntervalMs`: every batch checks the campaign before it starts and while it sends;
 * - a batch never outlives `deadlineMs`: it stops, records what it sent and fails as retryable, so a
 *   timeout-driven retry never overlaps a still-running attempt.
 */

import { randomUUID } from 'node:crypto';
import { emptyCounts, type RecipientCounts } from '../campaigns/status.ts';
import type { CampaignGateView } from '../campaigns/store.ts';
import type { SuppressionList } from '../compliance/suppression.ts';
import {
  CampaignStoppedError,
  SesSendingStoppedError,
  SesThrottledError,
  SesTransientError,
  type SixbackError,
} from '../errors.ts';
import { addressKey } from '../recipients/email-address.ts';
import { decodeText, setVariable, unpackVars } from '../recipients/scanner.ts';
import {
  type BatchContext,
  type PreparedRow,
  parseWith,
  type RowOutcome,
  SendBatchEventSchema,
  type SendBatchResult,
  type TemplateRecord,
} from '../schemas.ts';
import type { PartialPins, ResolvedPartials } from '../templates/partials.ts';
import { type CompiledTemplate, compileTemplate, RenderError, renderTemplate } from '../templates/render.ts';
import {
  type ClassifiedFailure,
  classifySendFailure,
  type EmailSender,
  type OutgoingEmail,
} from './email-sender.ts';
import { isSentEntry, type Ledger, type LedgerEntry, leaseKey } from './ledger.ts';
import { AdaptiveRateLimiter } from './rate-limiter.ts';

/** A batch stops itself after this long (then fails as retryable): under the ASL Task's 240 s timeout and
 * the SendBatch Lambda's own timeout, so a slow batch is never killed mid-group. */
export const BATCH_DEADLINE_MS = 180_000;

export interface SenderDeps {
  emails: EmailSender;
  loadTemplate: (id: string, version: number) => Promise<TemplateRecord>;
  /**
   * The template's partials at the campaign's pinned versions (TemplateStore.partials); needed only
   * when a campaign pinned any. Called once per compiled template, never per email.
   */
  loadPartials?: (template: TemplateRecord, pins: PartialPins) => Promise<ResolvedPartials>;
  ledger: Ledger;
  suppression: SuppressionList;
  /** Live progress counters; optional so tests and benchmarks can leave them out. */
  addProgress?: (campaignId: string, counts: Partial<RecipientCounts>) => Promise<void>;
  /**
   * While a batch sends, what SES accepted so far is added to the progress counters at most this often
   * (default 1000 ms; one small atomic ADD per batch per interval, never awaited by a send), so the bar,
   * the rate and the ETA move during a batch instead of in steps of a whole batch.
   */
  progressIntervalMs?: number;
  /** Headers and the unsubscribe_url variable for a recipient (the compliance module provides it). */
  recipientExtras?: (
    campaignId: string,
    key: string,
  ) => { unsubscribeUrl?: string; headers?: OutgoingEmail['headers'] };
  maxInFlight: number;
  /** Attempts per email before a retryable failure fails the whole batch. */
  attempts?: number;
  /** Rows SES accepted are written to the ledger in groups of this size. */
  ledgerGroupSize?: number;
  /**
   * Why this run of the campaign must stop sending (cancelled, failed, a newer run started), or undefined
   * to go on. Checked before a batch starts and every `gateIntervalMs` while it sends.
   */
  campaignGate?: (campaignId: string, run: number) => Promise<string | undefined>;
  /** Ends the whole campaign as failed with this reason (SES paused or suspended the account). */
  stopCampaign?: (campaignId: string, reason: string) => Promise<void>;
  gateIntervalMs?: number;
  /** How long a batch's lease lasts without renewal (renewed every third of it while the batch runs). */
  leaseTtlMs?: number;
  /** A group of ledger entries is written at the latest this long after its first entry (default 200). */
  ledgerFlushMs?: number;
  /** A batch stops sending after this long and fails as retryable (default 180 s, under the Task's 240 s). */
  deadlineMs?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => number;
}

/**
 * The rate each campaign's last batch in this process ended at, when throttling had slowed it: the next
 * batch starts there and creeps up, instead of hitting SES at full speed again.
 */
const learntRates = new Map<string, number>();

/**
 * The standard gate: stop when the campaign was cancelled or failed, or when a newer run of it started.
 * An unreadable or missing record does not stop sending (a gate that fails closed would turn a DynamoDB
 * hiccup into a failed batch); the state machine's own stop still applies.
 */
export async function campaignGate(
  campaigns: { find(id: string): Promise<CampaignGateView | undefined> },
  campaignId: string,
  run: number,
): Promise<string | undefined> {
  let campaign: CampaignGateView | undefined;
  try {
    campaign = await campaigns.find(campaignId);
  } catch {
    return undefined;
  }
  if (!campaign) return undefined;
  if (campaign.status === 'cancelled' || campaign.status === 'failed')
    return `the campaign is ${campaign.status}${campaign.statusReason ? ` (${campaign.statusReason})` : ''}`;
  if ((campaign.executions ?? 1) > run)
    return `run ${campaign.executions} of the campaign has replaced run ${run}`;
  return undefined;
}

const compiledCache = new Map<string, CompiledTemplate>();

async function compiledTemplate(deps: SenderDeps, ctx: BatchContext): Promise<CompiledTemplate> {
  const pins = ctx.partials ?? {};
  // Two campaigns may pin different partial versions under one template version: both are in the key.
  const key = `${ctx.templateId}@${ctx.templateVersion} ${JSON.stringify(Object.entries(pins).sort())}`;
  let compiled = compiledCache.get(key);
  if (!compiled) {
    const template = await deps.loadTemplate(ctx.templateId, ctx.templateVersion);
    let partials: ResolvedPartials | undefined;
    if (Object.keys(pins).length > 0) {
      if (!deps.loadPartials) throw new Error('this campaign pins partials but the sender cannot load them');
      partials = await deps.loadPartials(template, pins);
    }
    compiled = compileTemplate(template, partials);
    if (compiledCache.size > 64) compiledCache.clear();
    compiledCache.set(key, compiled);
  }
  return compiled;
}

interface Candidate {
  index: number;
  row: PreparedRow;
  email: string;
  key: string;
}

const parseBatch = (event: unknown) => parseWith(SendBatchEventSchema, event, 'batch');

/**
 * One recipient's template variables: campaign data, overridden by the row's columns, overridden by the
 * variables sixback fills in itself. Built by assignment into the row's freshly parsed object rather than
 * by spreading three objects into a new one, which cost more than rendering the template.
 */
function recipientVariables(
  ctx: BatchContext,
  candidate: Candidate,
  unsubscribeUrl: string | undefined,
): Record<string, unknown> {
  const variables: Record<string, unknown> = unpackVars(candidate.row.vars, ctx.columns);
  for (const name in ctx.data) {
    if (!Object.hasOwn(variables, name)) setVariable(variables, name, ctx.data[name]);
  }
  variables.email = candidate.email;
  variables.campaign_id = ctx.campaignId;
  if (unsubscribeUrl) variables.unsubscribe_url = unsubscribeUrl;
  return variables;
}

export async function sendBatch(event: unknown, deps: SenderDeps): Promise<SendBatchResult> {
  const batch = parseBatch(event);
  const { campaignId, run } = batch.BatchInput;
  const gateReason = deps.campaignGate ? await deps.campaignGate(campaignId, run) : undefined;
  if (gateReason) throw new CampaignStoppedError(`Not sending: ${gateReason}.`);
  if (!deps.ledger.claim) return sendLeased(batch, deps);
  // One attempt of a batch at a time: a second one (a retry while the first still runs) waits its turn.
  const lease = leaseKey(run, batch.Items[0]?.index ?? 0);
  const owner = randomUUID();
  const ttlMs = deps.leaseTtlMs ?? 60_000;
  if (!(await deps.ledger.claim(campaignId, lease, owner, ttlMs))) {
    throw new SesTransientError(
      'Another attempt of this batch is still sending; this one is retried once it has finished',
    );
  }
  const renew = setInterval(() => {
    deps.ledger.claim?.(campaignId, lease, owner, ttlMs).catch(() => undefined);
  }, ttlMs / 3);
  try {
    return await sendLeased(batch, deps);
  } finally {
    clearInterval(renew);
    await deps.ledger.release?.(campaignId, lease, owner).catch(() => undefined);
  }
}

async function sendLeased(batch: ReturnType<typeof parseBatch>, deps: SenderDeps): Promise<SendBatchResult> {
  const { BatchInput: ctx, Items } = batch;
  const attempts = deps.attempts ?? 4;
  const groupSize = deps.ledgerGroupSize ?? 25;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = deps.random ?? Math.random;
  const template = await compiledTemplate(deps, ctx);

  const outcomes: RowOutcome[] = [];
  /** Counts of outcomes decided by this attempt (rows found in the ledger were counted by an earlier one). */
  const fresh = emptyCounts();
  const settle = (outcome: RowOutcome, counted = true) => {
    outcomes.push(outcome);
    if (counted) fresh[outcome.state]++;
  };
  // Running progress from inside the batch: only `sent` (what SES accepted is final whatever happens to
  // the batch), written in the background at most once per interval; the rest is added when it ends.
  const progressIntervalMs = deps.progressIntervalMs ?? 1000;
  let progressSent = 0;
  let lastProgressAt = (deps.now ?? (() => performance.now()))();
  let progressWrite: Promise<void> | undefined;
  const reportRunningProgress = () => {
    if (!deps.addProgress || progressWrite) return;
    const pending = fresh.sent - progressSent;
    const at = now();
    if (pending <= 0 || at - lastProgressAt < progressIntervalMs) return;
    lastProgressAt = at;
    progressSent += pending;
    progressWrite = deps
      .addProgress(ctx.campaignId, { sent: pending })
      // A lost write is added again with the batch's final counts.
      .catch(() => {
        progressSent -= pending;
      })
      .finally(() => {
        progressWrite = undefined;
      });
  };

  const candidates: Candidate[] = [];
  for (const { index, row } of Items) {
    const email = decodeText(row.email);
    if (row.state === 'ok') candidates.push({ index, row, email, key: addressKey(email) });
    else settle({ i: index, row: row.row, email, state: row.state, reason: decodeText(row.note) });
  }

  const keys = candidates.map((c) => c.key);
  const [known, suppressed] = await Promise.all([
    deps.ledger.lookup(ctx.campaignId, keys),
    deps.suppression.lookup(keys),
  ]);
  const toSend: Candidate[] = [];
  for (const candidate of candidates) {
    const entry = known.get(candidate.key);
    const base = { i: candidate.index, row: candidate.row.row, email: candidate.email };
    if (entry && isSentEntry(entry)) settle({ ...base, state: 'sent', messageId: entry.messageId }, false);
    else if (entry && !entry.retryable)
      // SES refused this message for good in an earlier run: asking again would only be refused again.
      settle({ ...base, state: 'failed', reason: entry.reason ?? 'rejected by SES in an earlier run' });
    else if (suppressed.has(candidate.key))
      settle({ ...base, state: 'suppressed', reason: 'address is on the suppression list' });
    else if (!entry && ctx.mode === 'failed')
      settle({
        ...base,
        state: 'not_sent',
        reason: 'this run resent only rows that had failed; resume the campaign to send it',
      });
    else toSend.push(candidate);
  }

  const now = deps.now ?? (() => performance.now());
  const startedAt = now();
  const deadlineMs = deps.deadlineMs ?? BATCH_DEADLINE_MS;
  const gateIntervalMs = deps.gateIntervalMs ?? 500;
  const flushMs = deps.ledgerFlushMs ?? 200;
  let systemic: SixbackError | Error | undefined;
  // Waits for a rate slot in steps of at most gateIntervalMs, checking the gate between steps, so a slow
  // campaign (one email a minute) still stops within a gate interval of being cancelled.
  const pacedSleep = async (ms: number) => {
    const until = now() + ms;
    for (let step = 0; step <= Math.ceil(ms / gateIntervalMs); step++) {
      if (systemic) {
        // Stopping: release every sender waiting for a slot (each sees the stop and returns).
        limiter.close();
        return;
      }
      const left = until - now();
      if (left <= 0) return;
      await sleep(Math.min(left, gateIntervalMs));
      checkGate();
    }
  };
  const limiter = new AdaptiveRateLimiter(ctx.workerRate, {
    sleep: pacedSleep,
    now,
    ...(learntRates.has(ctx.campaignId) ? { initialRate: learntRates.get(ctx.campaignId) } : {}),
  });

  // Ledger writes: a group is written when full or flushMs after its first entry. `exposed`
  // counts the sends SES may have accepted that are not yet in the ledger (in flight, in a group, or in a
  // write not yet acknowledged); no send starts while it is at maxExposed. That is the bound on what a crash
  // at any instant can leave unrecorded, and so on the duplicates a resumed run can send.
  const maxExposed = deps.maxInFlight + 2 * groupSize;
  let exposed = 0;
  let group: LedgerEntry[] = [];
  // Group writes run in parallel: a slow ledger costs latency, not throughput (the exposure bound holds).
  const writes = new Set<Promise<void>>();
  let flushTimer: ReturnType<typeof setTimeout> | undefined;
  const writeGroup = async (entries: LedgerEntry[]) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await deps.ledger.record(ctx.campaignId, entries);
        return;
      } catch (error) {
        if (attempt >= 5) {
          // Sending on without recording would widen the window a crash leaves: stop the batch instead.
          systemic ??= error as Error;
          return;
        }
        await sleep(50 * 2 ** attempt);
      }
    }
  };
  const flush = () => {
    if (flushTimer) clearTimeout(flushTimer);
    flushTimer = undefined;
    if (group.length === 0) return;
    const entries = group;
    group = [];
    const sends = entries.filter((entry) => entry.state !== 'failed').length;
    const write: Promise<void> = writeGroup(entries).finally(() => {
      writes.delete(write);
      exposed -= sends;
    });
    writes.add(write);
  };
  const remember = (entry: LedgerEntry) => {
    group.push(entry);
    if (group.length >= groupSize) flush();
    else if (!flushTimer) flushTimer = setTimeout(flush, flushMs);
  };
  const drainLedger = async () => {
    if (writes.size === 0) flush();
    await (writes.size > 0 ? Promise.race(writes) : sleep(5));
  };

  // The gate: a check in the background every gateIntervalMs; workers look at its last answer.
  let lastGate = now();
  let gating = false;
  const checkGate = () => {
    if (!deps.campaignGate || gating || now() - lastGate < gateIntervalMs) return;
    gating = true;
    deps
      .campaignGate(ctx.campaignId, ctx.run)
      .then((reason) => {
        if (reason) systemic ??= new CampaignStoppedError(`Stopped sending: ${reason}.`);
      })
      .catch(() => undefined)
      .finally(() => {
        gating = false;
        lastGate = now();
      });
  };

  const sendOne = async (candidate: Candidate) => {
    const base = { i: candidate.index, row: candidate.row.row, email: candidate.email };
    const extras = deps.recipientExtras?.(ctx.campaignId, candidate.key);
    let message: OutgoingEmail;
    try {
      const rendered = renderTemplate(template, recipientVariables(ctx, candidate, extras?.unsubscribeUrl));
      message = {
        from: ctx.from,
        to: candidate.email,
        replyTo: ctx.replyTo,
        subject: rendered.subject,
        html: rendered.html,
        text: rendered.text,
        headers: extras?.headers ?? [],
        tags: [{ name: 'campaign', value: ctx.campaignId }],
        configurationSet: ctx.configurationSet || undefined,
      };
    } catch (error) {
      if (!(error instanceof RenderError)) throw error;
      settle({
        ...base,
        state: 'invalid',
        reason: `template could not be rendered for this row: ${error.message}`,
      });
      return;
    }
    let last: ClassifiedFailure | undefined;
    for (let attempt = 1; attempt <= attempts && !systemic; attempt++) {
      await limiter.acquire();
      // Checked and counted with no await in between, so concurrent workers cannot all pass at once.
      while (exposed >= maxExposed && !systemic) await drainLedger();
      if (systemic) return;
      let messageId: string;
      exposed++;
      try {
        ({ messageId } = await deps.emails.send(message));
      } catch (error) {
        // Not accepted: nothing to lose in a crash.
        exposed--;
        last = classifySendFailure(error);
        if (last.action === 'reject') {
          const reason = `${last.code}: ${last.message}`;
          settle({ ...base, state: 'failed', reason });
          remember({ key: candidate.key, row: candidate.row.row, state: 'failed', reason, retryable: false });
          return;
        }
        if (last.action === 'stop') {
          if (!systemic) {
            systemic = new SesSendingStoppedError(
              `SES refused to send for this account: ${last.code}: ${last.message}`,
            );
            // Every other batch of the campaign sees the failed status at its next gate check and stops.
            await deps.stopCampaign?.(ctx.campaignId, systemic.message).catch(() => undefined);
          }
          return;
        }
        if (last.throttled) limiter.throttled();
        // Full jitter keeps a crowd of throttled senders from retrying in lockstep.
        if (attempt < attempts) await sleep(random() * Math.min(2000, 50 * 2 ** attempt));
        continue;
      }
      limiter.succeeded();
      // A padded short row is sent with its note, so the report names it.
      const note = candidate.row.note ? { reason: decodeText(candidate.row.note) } : {};
      settle({ i: base.i, row: base.row, email: base.email, state: 'sent', messageId, ...note });
      remember({ key: candidate.key, messageId, row: candidate.row.row });
      reportRunningProgress();
      return;
    }
    if (!systemic && last) {
      systemic = last.throttled
        ? new SesThrottledError(`SES kept throttling after ${attempts} attempts: ${last.message}`)
        : new SesTransientError(`SES kept failing after ${attempts} attempts: ${last.code}: ${last.message}`);
    }
  };

  // A fixed pool of workers drains the queue, bounding the sends in flight.
  let next = 0;
  const worker = async () => {
    while (!systemic && next < toSend.length) {
      checkGate();
      if (now() - startedAt > deadlineMs) {
        systemic ??= new SesThrottledError(
          `The batch ran out of time at ${limiter.rate.toFixed(1)} emails/s; a retry sends its remaining rows`,
        );
        break;
      }
      const candidate = toSend[next++] as Candidate;
      await sendOne(candidate);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(deps.maxInFlight, toSend.length) }, worker));
    // Hold the Map slot until this worker's next send would have been due: the next batch in this slot
    // starts with a fresh limiter, and must not send sooner than the rate allows (it matters at low rates,
    // where a batch is a single email). Bounded by the deadline; slower paces are refused by the quota fit.
    if (!systemic && toSend.length > 0)
      await pacedSleep(Math.min(limiter.waitMs, Math.max(0, deadlineMs - (now() - startedAt))));
  } finally {
    limiter.close();
    flush();
    await Promise.all(writes);
    if (limiter.rate < ctx.workerRate) learntRates.set(ctx.campaignId, limiter.rate);
    else learntRates.delete(ctx.campaignId);
    if (learntRates.size > 256) learntRates.clear();
    if (deps.addProgress) {
      await progressWrite;
      // What the running progress has not added yet. A failing batch will be retried and its unsent rows
      // decided then: count only what SES accepted.
      const rest = { ...fresh, sent: fresh.sent - progressSent };
      await deps.addProgress(ctx.campaignId, systemic ? { sent: rest.sent } : rest);
    }
  }
  if (systemic) throw systemic;
  outcomes.sort((a, b) => a.i - b.i);
  return { campaignId: ctx.campaignId, outcomes };
}
