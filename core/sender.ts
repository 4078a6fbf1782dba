/**
 * The sender: one batch of prepared rows in, one outcome per row out. Per-recipient problems (invalid
 * data, a rejected message) become outcomes; systemic ones (throttling that outlasts the local retries,
 * SES paused) fail the batch with a named error so the state machine's Retry or Catch takes over. The
 * ledger makes a retried batch skip every row SES already accepted.
 */

import { addressKey } from './email-address.ts';
import {
  type ClassifiedFailure,
  classifySendFailure,
  type EmailSender,
  type OutgoingEmail,
} from './email-sender.ts';
import { SesSendingStoppedError, SesThrottledError, SesTransientError, type SixbackError } from './errors.ts';
import type { Ledger, LedgerEntry } from './ledger.ts';
import { AdaptiveRateLimiter } from './rate-limiter.ts';
import { decodeText, unpackVars } from './recipients.ts';
import {
  type BatchContext,
  type PreparedRow,
  parseWith,
  type RowOutcome,
  SendBatchEventSchema,
  type SendBatchResult,
  type TemplateRecord,
} from './schemas.ts';
import { emptyCounts, type RecipientCounts } from './status.ts';
import type { SuppressionList } from './suppression.ts';
import { type CompiledTemplate, compileTemplate, RenderError, renderTemplate } from './template.ts';

export interface SenderDeps {
  emails: EmailSender;
  loadTemplate: (id: string, version: number) => Promise<TemplateRecord>;
  ledger: Ledger;
  suppression: SuppressionList;
  /** Live progress counters; optional so tests and benchmarks can leave them out. */
  addProgress?: (campaignId: string, counts: Partial<RecipientCounts>) => Promise<void>;
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
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

const compiledCache = new Map<string, CompiledTemplate>();

async function compiledTemplate(deps: SenderDeps, ctx: BatchContext): Promise<CompiledTemplate> {
  const key = `${ctx.templateId}@${ctx.templateVersion}`;
  let compiled = compiledCache.get(key);
  if (!compiled) {
    compiled = compileTemplate(await deps.loadTemplate(ctx.templateId, ctx.templateVersion));
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

export async function sendBatch(event: unknown, deps: SenderDeps): Promise<SendBatchResult> {
  const { BatchInput: ctx, Items } = parseWith(SendBatchEventSchema, event, 'batch');
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

  const candidates: Candidate[] = [];
  for (const { index, row } of Items) {
    const email = decodeText(row.email);
    if (row.state === 'ok') candidates.push({ index, row, email, key: addressKey(email) });
    else settle({ i: index, row: row.row, email, state: row.state, reason: decodeText(row.note) });
  }

  const keys = candidates.map((c) => c.key);
  const [alreadySent, suppressed] = await Promise.all([
    deps.ledger.lookup(ctx.campaignId, keys),
    deps.suppression.lookup(keys),
  ]);
  const toSend: Candidate[] = [];
  for (const candidate of candidates) {
    const entry = alreadySent.get(candidate.key);
    const base = { i: candidate.index, row: candidate.row.row, email: candidate.email };
    if (entry) settle({ ...base, state: 'sent', messageId: entry.messageId }, false);
    else if (suppressed.has(candidate.key))
      settle({ ...base, state: 'suppressed', reason: 'address is on the suppression list' });
    else toSend.push(candidate);
  }

  const limiter = new AdaptiveRateLimiter(ctx.workerRate);
  let group: LedgerEntry[] = [];
  const ledgerWrites: Promise<void>[] = [];
  const flush = () => {
    if (group.length === 0) return;
    ledgerWrites.push(deps.ledger.record(ctx.campaignId, group));
    group = [];
  };
  let systemic: SixbackError | undefined;

  const sendOne = async (candidate: Candidate) => {
    const base = { i: candidate.index, row: candidate.row.row, email: candidate.email };
    const extras = deps.recipientExtras?.(ctx.campaignId, candidate.key);
    let message: OutgoingEmail;
    try {
      const rendered = renderTemplate(template, {
        ...ctx.data,
        ...unpackVars(candidate.row.vars),
        email: candidate.email,
        campaign_id: ctx.campaignId,
        ...(extras?.unsubscribeUrl ? { unsubscribe_url: extras.unsubscribeUrl } : {}),
      });
      message = {
        from: ctx.from,
        to: candidate.email,
        replyTo: ctx.replyTo,
        subject: rendered.subject,
        html: rendered.html,
        text: rendered.text,
        headers: extras?.headers ?? [],
        tags: [{ name: 'campaign', value: ctx.campaignId }],
        configurationSet: ctx.configurationSet,
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
      if (systemic) return;
      try {
        const { messageId } = await deps.emails.send(message);
        limiter.succeeded();
        settle({ ...base, state: 'sent', messageId });
        group.push({ key: candidate.key, messageId, row: candidate.row.row });
        if (group.length >= groupSize) flush();
        return;
      } catch (error) {
        last = classifySendFailure(error);
        if (last.action === 'reject') {
          settle({ ...base, state: 'failed', reason: `${last.code}: ${last.message}` });
          return;
        }
        if (last.action === 'stop') {
          systemic ??= new SesSendingStoppedError(
            `SES refused to send for this account: ${last.code}: ${last.message}`,
          );
          return;
        }
        if (last.throttled) limiter.throttled();
        // Full jitter keeps a crowd of throttled senders from retrying in lockstep.
        if (attempt < attempts) await sleep(random() * Math.min(2000, 50 * 2 ** attempt));
      }
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
      const candidate = toSend[next++] as Candidate;
      await sendOne(candidate);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(deps.maxInFlight, toSend.length) }, worker));
  } finally {
    flush();
    await Promise.all(ledgerWrites);
    if (deps.addProgress) {
      // A failing batch will be retried and its unsent rows decided then: count only what SES accepted.
      await deps.addProgress(ctx.campaignId, systemic ? { sent: fresh.sent } : fresh);
    }
  }
  if (systemic) throw systemic;
  outcomes.sort((a, b) => a.i - b.i);
  return { campaignId: ctx.campaignId, outcomes };
}
