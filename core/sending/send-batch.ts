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
import type { SuppressionList } from '../compliance/suppression.ts';
import { CampaignStoppedError, SesThrottledError, SesTransientError, ValidationError } from '../errors.ts';
import { type LogAttributes, type Logger, SILENT_LOGGER } from '../logging.ts';
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
import {
  type CompiledTemplate,
  type CompiledTemplateCache,
  compileTemplate,
  RenderError,
  type RenderedEmail,
  renderTemplate,
} from '../templates/render.ts';
import type { EmailSender, OutgoingEmail } from './email-sender.ts';
import type { CampaignGate } from './gate.ts';
import type { LatencyFloor } from './in-flight-window.ts';
import { isSentEntry, type Ledger, leaseKey } from './ledger.ts';
import { CampaignRateBudget } from './rate-budget.ts';
import { runWorkerLoop, type SendItem } from './worker-loop.ts';

/** A batch stops itself after this long (then fails as retryable): under the ASL Task's 240 s timeout and
 * the SendBatch Lambda's own timeout, so a slow batch is never killed mid-group. */
export const BATCH_DEADLINE_MS = 180_000;
/** Keys per ledger and suppression lookup (DynamoDB's BatchGetItem takes 100). */
const LOOKUP_GROUP = 100;

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
  campaignGate?: CampaignGate;
  /** Ends the whole campaign as failed with this reason (SES paused or suspended the account). */
  stopCampaign?: (campaignId: string, reason: string) => Promise<void>;
  gateIntervalMs?: number;
  /** How long a batch's lease lasts without renewal (renewed every third of it while the batch runs). */
  leaseTtlMs?: number;
  /** A group of ledger entries is written at the latest this long after its first entry (default 200). */
  ledgerFlushMs?: number;
  /** A batch stops sending after this long and fails as retryable (default 180 s, under the Task's 240 s). */
  deadlineMs?: number;
  /** When the attempt began (on the `now` clock), so `deadlineMs` includes its lookups; default: when sending starts. */
  attemptStartedAt?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => number;
  /** Compiled templates by id@version, shared by the batches of this process (built once in core/app.ts). */
  templateCache: CompiledTemplateCache;
  /** Rates throttled batches ended at, shared by the batches of this process. */
  learntRates: LearntRates;
  /** The fastest SES answers of this process (its batches' in-flight windows; core/sending/in-flight-window.ts). */
  latencyFloor?: LatencyFloor;
  /**
   * Whether the children share the campaign's rate through the ledger's slot counter (rate-budget.ts;
   * SIXBACK_SHARED_RATE, off by default): false keeps every child to its equal share.
   */
  sharedRate?: boolean;
  /** One line per batch (core/logging.ts); silent when absent. */
  logger?: Logger;
}

/**
 * The rate each campaign's last batch in this process ended at, when throttling had slowed it: the next
 * batch starts there and creeps up, instead of hitting SES at full speed again. One per process (built in
 * core/app.ts), shared by every batch it runs.
 */
export class LearntRates {
  private readonly rates = new Map<string, number>();
  constructor(private readonly capacity = 256) {}

  get(campaignId: string): number | undefined {
    return this.rates.get(campaignId);
  }

  /** A batch ended at `rate`, with `target` its share: remember the rate only when it is lower. */
  ended(campaignId: string, rate: number, target: number): void {
    if (rate < target) this.rates.set(campaignId, rate);
    else this.rates.delete(campaignId);
    if (this.rates.size > this.capacity) this.rates.clear();
  }
}

async function compiledTemplate(
  deps: SenderDeps,
  ctx: BatchContext,
  templateId: string,
  version: number,
  subject?: string,
): Promise<CompiledTemplate> {
  const pins = ctx.partials ?? {};
  // Two campaigns may pin different partial versions under one template version: both are in the key;
  // an A/B variant's subject too.
  const key = `${templateId}@${version} ${JSON.stringify(Object.entries(pins).sort())}${subject === undefined ? '' : ` #${subject}`}`;
  // The batches that start together in a process (a Map's first round) share one load and compile.
  return deps.templateCache.getOrMake(key, async () => {
    const loaded = await deps.loadTemplate(templateId, version);
    const template = subject === undefined ? loaded : { ...loaded, subject };
    let partials: ResolvedPartials | undefined;
    if (Object.keys(pins).length > 0) {
      if (!deps.loadPartials) throw new Error('this campaign pins partials but the sender cannot load them');
      partials = await deps.loadPartials(template, pins);
    }
    return compileTemplate(template, partials);
  });
}

/**
 * The compiled template of each variant the batch's rows name ('' for the campaign's own template), once
 * per batch: an A/B test's sample mixes variants in one batch.
 */
async function batchTemplates(
  deps: SenderDeps,
  ctx: BatchContext,
  variants: Iterable<string>,
): Promise<Map<string, CompiledTemplate>> {
  const templates = new Map<string, CompiledTemplate>();
  for (const name of new Set(variants)) {
    if (name === '') {
      templates.set(name, await compiledTemplate(deps, ctx, ctx.templateId, ctx.templateVersion));
      continue;
    }
    const ref = ctx.variants.find((v) => v.name === name);
    if (!ref)
      throw new ValidationError(`Invalid batch: variant ${name} is not one of the campaign's variants`);
    templates.set(name, await compiledTemplate(deps, ctx, ref.templateId, ref.templateVersion, ref.subject));
  }
  return templates;
}

interface Candidate {
  index: number;
  row: PreparedRow;
  email: string;
  key: string;
  /** The A/B test variant this row is sent ('' outside a test). */
  variant: string;
  /** The identity every outcome of this row starts from (batch index, CSV row, address), made once. */
  base: { i: number; row: number; email: string };
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

/**
 * One batch, and one log line for it: `SendBatch done` with the counts this attempt decided, the rate the
 * limiter ended at, the throttles and the duration; or `SendBatch failed` with the error and its causes
 * (a warning when the state machine retries it or the campaign was stopped, an error otherwise).
 */
export async function sendBatch(event: unknown, deps: SenderDeps): Promise<SendBatchResult> {
  const log = deps.logger ?? SILENT_LOGGER;
  const now = deps.now ?? (() => performance.now());
  const startedAt = deps.attemptStartedAt ?? now();
  const line: LogAttributes = { step: 'SendBatch' };
  try {
    const batch = parseBatch(event);
    const first = batch.Items[0];
    const last = batch.Items[batch.Items.length - 1];
    Object.assign(line, {
      campaignId: batch.BatchInput.campaignId,
      run: batch.BatchInput.run,
      // The Map numbers no batches: a batch is known by its rows' indexes in the prepared file.
      firstRow: first?.row.i ?? first?.index,
      lastRow: last?.row.i ?? last?.index,
      rows: batch.Items.length,
      ...(batch.BatchInput.variant ? { variant: batch.BatchInput.variant } : {}),
    });
    const result = await claimAndSend(batch, deps, line);
    log.info('SendBatch done', { ...line, durationMs: Math.round(now() - startedAt) });
    return result;
  } catch (error) {
    const expected =
      error instanceof SesThrottledError ||
      error instanceof SesTransientError ||
      error instanceof CampaignStoppedError;
    (expected ? log.warn : log.error).call(log, 'SendBatch failed', {
      ...line,
      durationMs: Math.round(now() - startedAt),
      error,
    });
    throw error;
  }
}

/** The batch's rows: those to consider sending, and the outcomes of rows Prepare already refused. */
interface BatchRows {
  candidates: Candidate[];
  refused: RowOutcome[];
}

function batchRows(batch: ReturnType<typeof parseBatch>): BatchRows {
  const { BatchInput: ctx, Items } = batch;
  const candidates: Candidate[] = [];
  const refused: RowOutcome[] = [];
  for (const item of Items) {
    const { row } = item;
    const index = row.i ?? item.index;
    const email = decodeText(row.email);
    if (row.state === 'ok')
      candidates.push({
        index,
        row,
        email,
        key: addressKey(email),
        variant: row.variant || ctx.variant,
        base: { i: index, row: row.row, email },
      });
    else refused.push({ i: index, row: row.row, email, state: row.state, reason: decodeText(row.note) });
  }
  return { candidates, refused };
}

/**
 * A batch's start: the gate's read of the campaign, the batch's lease and its templates (loaded and
 * compiled once per process) are asked for at once, not one after the other, since each is a round trip
 * or more before the first send and a Map slot sends nothing meanwhile. Nothing is sent, and the ledger
 * is not read, before the gate has said go and the lease is held: a retry must read what the attempt
 * before it recorded, and the lease orders the two. A stopped batch gives back a lease it got.
 */
async function claimAndSend(
  batch: ReturnType<typeof parseBatch>,
  deps: SenderDeps,
  line: LogAttributes,
): Promise<SendBatchResult> {
  const { campaignId, run } = batch.BatchInput;
  const gate = deps.campaignGate ? deps.campaignGate(campaignId, run) : undefined;
  // One attempt of a batch at a time: a second one (a retry while the first still runs) waits its turn.
  // The row's index in the whole prepared file: an A/B test's two Maps each number their items from 0.
  const lease = leaseKey(run, batch.Items[0]?.row.i ?? batch.Items[0]?.index ?? 0);
  const owner = randomUUID();
  const ttlMs = deps.leaseTtlMs ?? 60_000;
  const claim = deps.ledger.claim ? deps.ledger.claim(campaignId, lease, owner, ttlMs) : undefined;
  const rows = batchRows(batch);
  const templates = batchTemplates(
    deps,
    batch.BatchInput,
    rows.candidates.length > 0 ? rows.candidates.map((c) => c.variant) : [''],
  );
  // Awaited only once the batch may send; a batch stopped before then leaves it (the next batch uses it).
  templates.catch(() => undefined);
  const [gated, claimed] = await Promise.allSettled([gate, claim]);
  const held = claimed.status === 'fulfilled' && claimed.value === true;
  const release = () => deps.ledger.release?.(campaignId, lease, owner).catch(() => undefined);
  if (gated.status === 'rejected' || gated.value) {
    if (held) await release();
    if (gated.status === 'rejected') throw gated.reason;
    throw new CampaignStoppedError(`Not sending: ${gated.value}.`);
  }
  if (claimed.status === 'rejected') throw claimed.reason;
  if (!deps.ledger.claim) return sendLeased(batch, rows, templates, deps, line);
  if (!held) {
    throw new SesTransientError(
      'Another attempt of this batch is still sending; this one is retried once it has finished',
    );
  }
  const renew = setInterval(() => {
    deps.ledger.claim?.(campaignId, lease, owner, ttlMs).catch(() => undefined);
  }, ttlMs / 3);
  try {
    return await sendLeased(batch, rows, templates, deps, line);
  } finally {
    clearInterval(renew);
    await release();
  }
}

async function sendLeased(
  batch: ReturnType<typeof parseBatch>,
  rows: BatchRows,
  batchTemplates: Promise<Map<string, CompiledTemplate>>,
  deps: SenderDeps,
  line: LogAttributes,
): Promise<SendBatchResult> {
  const { BatchInput: ctx } = batch;
  const attempts = deps.attempts ?? 4;
  const groupSize = deps.ledgerGroupSize ?? 25;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = deps.random ?? Math.random;

  const outcomes: RowOutcome[] = [];
  /** Counts of outcomes decided by this attempt (rows found in the ledger were counted by an earlier one). */
  const fresh = emptyCounts();
  /** Rows an earlier attempt or run had sent (found in the ledger). */
  let alreadySent = 0;
  /** The first row SES refused: its reason tells an operator what went wrong with the rest. */
  let firstFailure: RowOutcome | undefined;
  const settle = (outcome: RowOutcome, counted = true) => {
    outcomes.push(outcome);
    if (counted) fresh[outcome.state]++;
    else alreadySent++;
    if (outcome.state === 'failed' && !firstFailure) firstFailure = outcome;
  };
  // The batch's log line carries these counts whether it ends well or not (read when it is written).
  const counts = () => ({
    sent: fresh.sent,
    failed: fresh.failed,
    skipped: alreadySent + fresh.suppressed + fresh.duplicate + fresh.invalid + fresh.not_sent,
    alreadySent,
    suppressed: fresh.suppressed,
    duplicate: fresh.duplicate,
    invalid: fresh.invalid,
    notSent: fresh.not_sent,
    // The logger hashes the address (core/logging.ts); the row number finds it in the report.
    ...(firstFailure
      ? { firstFailure: { row: firstFailure.row, email: firstFailure.email, reason: firstFailure.reason } }
      : {}),
  });

  for (const outcome of rows.refused) settle(outcome);
  const { candidates } = rows;
  // In groups of BatchGetItem's 100 keys, all at once: one round trip before the first send instead of one
  // per hundred rows, since a Map slot sends nothing while its next batch reads (a switch of batches).
  const groups: string[][] = [];
  for (let i = 0; i < candidates.length; i += LOOKUP_GROUP)
    groups.push(candidates.slice(i, i + LOOKUP_GROUP).map((c) => c.key));
  const [templates, knownGroups, suppressedGroups] = await Promise.all([
    batchTemplates,
    Promise.all(groups.map((group) => deps.ledger.lookup(ctx.campaignId, group))),
    Promise.all(groups.map((group) => deps.suppression.lookup(group))),
  ]);
  const known = new Map(knownGroups.flatMap((group) => [...group]));
  const suppressed = new Set(suppressedGroups.flatMap((group) => [...group]));
  const toSend: Candidate[] = [];
  for (const candidate of candidates) {
    const entry = known.get(candidate.key);
    const base = candidate.base;
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
  // Running progress from inside the batch: only `sent` (what SES accepted is final whatever happens to
  // the batch), written in the background at most once per interval; the rest is added when it ends.
  const progressIntervalMs = deps.progressIntervalMs ?? 1000;
  let progressSent = 0;
  let lastProgressAt = now();
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
  const messages = new BatchMessages(templates, ctx, deps);
  const items: SendItem[] = toSend.map((candidate) => new BatchItem(candidate, messages));
  let systemic: Error | undefined;
  const ledger = deps.ledger;
  const budget =
    ctx.campaignRate && ledger.claimRateChunk && deps.sharedRate === true && items.length > 0
      ? new CampaignRateBudget({
          store: {
            claim: (...args) => (ledger.claimRateChunk as NonNullable<Ledger['claimRateChunk']>)(...args),
          },
          campaignId: ctx.campaignId,
          run: ctx.run,
          rate: ctx.campaignRate,
          children: Math.max(1, Math.round(ctx.campaignRate / ctx.workerRate)),
          // Slots on the epoch clock, the same in every child (a test's clock when it gives one).
          now: deps.now ?? Date.now,
          sleep,
        })
      : undefined;
  try {
    const result = await runWorkerLoop(items, {
      budget,
      campaignId: ctx.campaignId,
      run: ctx.run,
      emails: deps.emails,
      ledger: deps.ledger,
      maxInFlight: deps.maxInFlight,
      attempts,
      groupSize,
      flushMs: deps.ledgerFlushMs ?? 200,
      gate: deps.campaignGate,
      gateIntervalMs: deps.gateIntervalMs ?? 500,
      stopCampaign: deps.stopCampaign,
      deadlineMs: deps.deadlineMs ?? BATCH_DEADLINE_MS,
      ...(deps.attemptStartedAt !== undefined ? { startedAt: deps.attemptStartedAt } : {}),
      workerRate: ctx.workerRate,
      initialRate: deps.learntRates.get(ctx.campaignId),
      ...(deps.latencyFloor ? { latencyFloor: deps.latencyFloor } : {}),
      sleep,
      random,
      now,
      settle: (outcome) => {
        settle(outcome);
        if (outcome.state === 'sent') reportRunningProgress();
      },
    });
    systemic = result.systemic;
    deps.learntRates.ended(ctx.campaignId, result.rate, result.target);
    Object.assign(line, {
      rate: Math.round(result.rate * 100) / 100,
      targetRate: Math.round(result.target * 100) / 100,
      throttles: result.throttles,
      peakInFlight: result.peakInFlight,
    });
  } finally {
    Object.assign(line, counts(), { toSend: items.length });
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

/**
 * What every message of the batch shares, made once per batch: the compiled template of each variant and
 * the SES tags (the campaign, and the variant in an A/B test).
 */
class BatchMessages {
  private readonly tags = new Map<string, NonNullable<OutgoingEmail['tags']>>();

  constructor(
    private readonly templates: Map<string, CompiledTemplate>,
    private readonly ctx: BatchContext,
    private readonly deps: SenderDeps,
  ) {}

  /** One recipient's message, or why the template cannot be rendered for this row. */
  build(candidate: Candidate): OutgoingEmail | { invalid: string } {
    const { ctx, deps } = this;
    const template = this.templates.get(candidate.variant) as CompiledTemplate;
    const extras = deps.recipientExtras?.(ctx.campaignId, candidate.key);
    try {
      const rendered = renderTemplate(template, recipientVariables(ctx, candidate, extras?.unsubscribeUrl));
      // The message is the rendered email with its envelope added, not a second object forwarding html and
      // text: an object literal with getters costs about a microsecond to make, and the render result
      // already reads them when first needed (the thin transport writes the pre-encoded pieces instead).
      // The render result is this email's own (renderTemplate makes a new one per call).
      const email = rendered as RenderedEmail & Partial<OutgoingEmail>;
      email.from = ctx.from;
      email.to = candidate.email;
      email.replyTo = ctx.replyTo;
      email.headers = extras?.headers ?? [];
      email.tags = this.tagsOf(candidate.variant);
      email.configurationSet = ctx.configurationSet || undefined;
      email.json = rendered.json;
      return email as OutgoingEmail;
    } catch (error) {
      if (!(error instanceof RenderError)) throw error;
      return { invalid: `template could not be rendered for this row: ${error.message}` };
    }
  }

  /**
   * The tags of a variant's messages: one array for all of them, frozen with its tags, so no sender can
   * change them for the others and the thin transport may keep their JSON (ses-transport.ts tagsJson).
   */
  private tagsOf(variant: string): NonNullable<OutgoingEmail['tags']> {
    let tags = this.tags.get(variant);
    if (tags === undefined) {
      tags = Object.freeze(
        (variant
          ? [
              { name: 'campaign', value: this.ctx.campaignId },
              { name: 'variant', value: variant },
            ]
          : [{ name: 'campaign', value: this.ctx.campaignId }]
        ).map((tag) => Object.freeze(tag)),
      );
      this.tags.set(variant, tags);
    }
    return tags;
  }
}

/** One row to send: its message is built when the worker loop gets to it (a method, no closure per row). */
class BatchItem implements SendItem {
  readonly base: SendItem['base'];
  readonly key: string;
  /** A padded short row is sent with its note, so the report names it. */
  readonly note: string | undefined;

  constructor(
    private readonly candidate: Candidate,
    private readonly messages: BatchMessages,
  ) {
    this.base = candidate.base;
    this.key = candidate.key;
    this.note = candidate.row.note ? decodeText(candidate.row.note) : undefined;
  }

  message(): OutgoingEmail | { invalid: string } {
    return this.messages.build(this.candidate);
  }
}
