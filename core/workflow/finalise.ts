/** The Finalise step: read the Distributed Map's results, write the per-recipient report, set the final status. */

import { PassThrough, type Readable } from 'node:stream';
import { Upload } from '@aws-sdk/lib-storage';
import { reportVariant } from '../abtest/assign.ts';
import { type CampaignStatus, emptyCounts, type RecipientCounts, totalOf } from '../campaigns/status.ts';
import type { CampaignRecord } from '../campaigns/store.ts';
import { keys } from '../config.ts';
import { UnaccountedRowsError } from '../errors.ts';
import { type LogAttributes, loggedStep } from '../logging.ts';
import { readCsvRecords } from '../recipients/csv.ts';
import { addressKey } from '../recipients/email-address.ts';
import { preparedKeyOf } from '../recipients/prepared-file.ts';
import { decodeText } from '../recipients/scanner.ts';
import { FinaliseEventSchema, parseWith, type RowOutcome, SendBatchResultSchema } from '../schemas.ts';
import { isSentEntry, type LedgerEntry } from '../sending/ledger.ts';
import { objectBody, type WorkflowDeps } from './deps.ts';

export interface FinaliseResult {
  campaignId: string;
  status: CampaignStatus;
  totals: RecipientCounts & { rows: number };
  reportKey?: string;
}

/** The run number in an execution name made by executionName(): `<id>` is run 1, `<id>-run<n>` run n. */
export function runOfExecution(name: string): number {
  const match = /-run(\d+)$/.exec(name);
  return match ? Number(match[1]) : 1;
}

/** Reads what a Lambda or the local engine put in an error's Cause: {"errorMessage": ...} or plain text. */
export function describeCause(error: { Error: string; Cause?: string | undefined }): string {
  const cause = error.Cause ?? '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: string };
    if (parsed.errorMessage) return `${error.Error}: ${parsed.errorMessage}`;
  } catch {
    // Not JSON: a plain message.
  }
  return cause ? `${error.Error}: ${cause}` : error.Error;
}

export interface ResultEntry {
  Status?: string;
  Output?: unknown;
}

/** A result line is the child's output (COMPACT) or an execution record holding it as a string (NONE). */
export function childOutput(entry: ResultEntry): unknown {
  if (entry.Status !== undefined && 'Output' in entry) {
    return typeof entry.Output === 'string' ? JSON.parse(entry.Output) : entry.Output;
  }
  return entry;
}

/** A line's text without the CR of a CRLF ending. */
const lineText = (line: Buffer) =>
  line.toString('utf8', 0, line.length > 0 && line[line.length - 1] === 13 ? line.length - 1 : line.length);

/**
 * A body's lines, split at line feeds in its bytes and each decoded once (a line feed is never part of a
 * longer UTF-8 sequence); the last one without a line feed too. Not readline: a result line is a whole
 * batch's outcomes (about 100 KB), and readline, which builds lines by joining decoded chunks, took twice
 * as long as JSON.parse of the lines it gave, per row of every campaign's Finalise.
 */
export async function* bodyLines(body: AsyncIterable<Buffer | string>): AsyncGenerator<string> {
  let carry: Buffer[] = [];
  for await (const chunk of body) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let from = 0;
    for (let at = bytes.indexOf(10); at !== -1; at = bytes.indexOf(10, from)) {
      const piece = bytes.subarray(from, at);
      from = at + 1;
      if (carry.length === 0) yield lineText(piece);
      else {
        carry.push(piece);
        const line = Buffer.concat(carry);
        carry = [];
        yield lineText(line);
      }
    }
    if (from < bytes.length) carry.push(bytes.subarray(from));
  }
  if (carry.length > 0) yield lineText(Buffer.concat(carry));
}

export async function* resultEntries(body: Readable): AsyncGenerator<ResultEntry> {
  const lines = bodyLines(body);
  let first = true;
  let buffered: string[] | undefined;
  for await (const line of lines) {
    if (first && line.trimStart().startsWith('[')) buffered = [];
    first = false;
    if (buffered) buffered.push(line);
    else if (line.trim() !== '') yield JSON.parse(line) as ResultEntry;
  }
  // ResultWriter's JSON output type: one array per file.
  if (buffered) for (const entry of JSON.parse(buffered.join('\n')) as ResultEntry[]) yield entry;
}

const REPORT_HEADER = 'row,email,state,message_id,reason\n';
/** An A/B test's report says which variant each recipient got (or would have: '' for rows never sent). */
const AB_REPORT_HEADER = 'row,email,state,message_id,reason,variant\n';
const csvCell = (value: string | number | undefined) => {
  const text = value === undefined ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
};
const reportLine = (o: RowOutcome) =>
  `${o.row},${csvCell(o.email)},${o.state},${csvCell(o.messageId)},${csvCell(o.reason)}\n`;

/**
 * Ends a campaign: totals from the Map's result files, one report line per row, and the final status.
 * Every prepared row is accounted for: rows that no batch reported (a batch that failed for good, or a
 * campaign stopped midway) are looked up in the ledger and reported as sent or failed, never dropped.
 */
export function finaliseCampaign(input: unknown, deps: WorkflowDeps): Promise<FinaliseResult> {
  return loggedStep(deps.logger, 'Finalise', async (fields) => {
    const result = await finalise(input, deps, fields);
    Object.assign(fields, { status: result.status, ...result.totals });
    return result;
  });
}

async function finalise(input: unknown, deps: WorkflowDeps, fields: LogAttributes): Promise<FinaliseResult> {
  const event = parseWith(FinaliseEventSchema, input, 'finalise input');
  fields.campaignId = event.campaignId;
  const campaign = await deps.campaigns.get(event.campaignId);
  fields.run = event.execution ? runOfExecution(event.execution) : (campaign.executions ?? 1);
  // The error the execution failed with, as the state machine passed it on.
  if (event.error) fields.executionError = describeCause(event.error);
  if (event.execution && runOfExecution(event.execution) !== (campaign.executions ?? 1)) {
    // A newer run (resume, resend, restart) owns the campaign now: this run's outcome is not its outcome.
    fields.supersededBy = campaign.executions;
    return { campaignId: campaign.id, status: campaign.status, totals: { ...emptyCounts(), rows: 0 } };
  }
  // Stopped while its execution ran (cancelled, or failed by a batch that found SES paused): the report
  // and totals are still written, the status stays.
  const stopped = campaign.status === 'cancelled' || campaign.status === 'failed';
  const rows = campaign.check ? campaign.check.rows : 0;
  if (!campaign.check || campaign.check.fatal) {
    // Failed before any row could be prepared (the file was refused as a whole, or the step itself
    // failed): nothing was sent. The report says so in one line for the file as a whole (row 0, as in the
    // check's problems), since the file's rows are not known.
    const reason =
      campaign.statusReason ?? (event.error ? describeCause(event.error) : 'the recipients were never read');
    const reportKey = keys.report(campaign.id);
    await new Upload({
      client: deps.s3,
      params: {
        Bucket: deps.bucket,
        Key: reportKey,
        Body: `${REPORT_HEADER}0,,not_sent,,${csvCell(`nothing was sent: ${reason}`)}\n`,
        ContentType: 'text/csv; charset=utf-8',
      },
    }).done();
    const totals = { ...emptyCounts(), rows: 0 };
    const done = await failCampaign(deps, campaign, reason, totals, reportKey);
    return { campaignId: campaign.id, status: done.status, totals, reportKey };
  }

  const reportKey = keys.report(campaign.id);
  const report = new PassThrough();
  const upload = new Upload({
    client: deps.s3,
    params: { Bucket: deps.bucket, Key: reportKey, Body: report, ContentType: 'text/csv; charset=utf-8' },
  }).done();
  const write = async (text: string) => {
    if (!report.write(text)) await new Promise((resolve) => report.once('drain', resolve));
  };

  const counts = emptyCounts();
  const seen = new Uint8Array(rows);
  let reported = 0;
  const line = campaign.abTest
    ? (o: RowOutcome) => `${reportLine(o).slice(0, -1)},${reportVariant(campaign, o.email, o.state)}\n`
    : reportLine;
  /** The report line of a row's first outcome ('' for a row already reported or out of range). */
  const record = (outcome: RowOutcome): string => {
    if (outcome.i >= rows || seen[outcome.i]) return '';
    seen[outcome.i] = 1;
    reported++;
    counts[outcome.state]++;
    if (deps.onProgress && (reported % 1000 === 0 || reported === rows)) deps.onProgress(reported, rows);
    return line(outcome);
  };

  try {
    await write(campaign.abTest ? AB_REPORT_HEADER : REPORT_HEADER);
    // An A/B test's two Maps (sample, then remainder) each wrote their own results.
    for (const mapResult of [event.sampleResult, event.mapResult]) {
      if (!mapResult) continue;
      const manifestBody = await objectBody(
        deps.s3,
        mapResult.ResultWriterDetails.Bucket,
        mapResult.ResultWriterDetails.Key,
        'Map result manifest',
      );
      const manifest = JSON.parse(await streamToString(manifestBody)) as {
        ResultFiles?: Record<string, { Key: string }[]>;
      };
      for (const file of manifest.ResultFiles?.SUCCEEDED ?? []) {
        const body = await objectBody(
          deps.s3,
          mapResult.ResultWriterDetails.Bucket,
          file.Key,
          'Map result file',
        );
        for await (const entry of resultEntries(body)) {
          const output = childOutput(entry);
          // One write per batch result, not per row: a million awaited writes cost seconds.
          let lines = '';
          for (const outcome of parseWith(SendBatchResultSchema, output, 'batch result').outcomes)
            lines += record(outcome);
          await write(lines);
        }
      }
    }
    if (reported < rows) {
      // A campaign stopped midway says why in its status; the execution's own error is only the echo.
      const why = stopped
        ? (campaign.statusReason ?? `the campaign is ${campaign.status}`)
        : event.error
          ? describeCause(event.error)
          : 'its batch failed after every retry';
      // Rows a cancel cut short were never tried: they end `not_sent`, not as failures a resend should
      // retry. So do the rows of a campaign stopped before it started sending (its file or quota was
      // refused). Rows of a batch that failed after every retry were tried: they are retryable failures.
      const tried = campaign.status !== 'cancelled' && campaign.startedAt !== undefined;
      fields.unreported = rows - reported;
      for await (const outcome of unreportedRows(campaign, seen, why, tried, deps))
        await write(record(outcome));
    }
    report.end();
    await upload;
  } catch (error) {
    report.destroy(error as Error);
    await upload.catch(() => undefined);
    throw error;
  }

  const totals = { ...counts, rows };
  if (totalOf(counts) !== rows) {
    const problem = new UnaccountedRowsError(`Only ${totalOf(counts)} of ${rows} rows have an outcome.`);
    const failed = await failCampaign(deps, campaign, problem.message, totals, reportKey);
    return { campaignId: campaign.id, status: failed.status, totals, reportKey };
  }
  if (event.error || stopped) {
    const reason = event.error ? describeCause(event.error) : (campaign.statusReason ?? campaign.status);
    const failed = await failCampaign(deps, campaign, reason, totals, reportKey);
    return { campaignId: campaign.id, status: failed.status, totals, reportKey };
  }
  // Rows never tried (a resend of failed rows skips the rest) mean the campaign did not reach everyone.
  const status: CampaignStatus =
    counts.failed > 0 || counts.not_sent > 0 ? 'completed_with_failures' : 'completed';
  await deps.campaigns.transition(campaign.id, status, {
    totals,
    progress: counts,
    reportKey,
    finishedAt: deps.clock().toISOString(),
  });
  return { campaignId: campaign.id, status, totals, reportKey };
}

async function failCampaign(
  deps: WorkflowDeps,
  campaign: CampaignRecord,
  reason: string,
  totals: RecipientCounts & { rows: number },
  reportKey?: string,
): Promise<CampaignRecord> {
  const { rows: _rows, ...progress } = totals;
  // The status may have changed since the finaliser started (a batch found SES paused): read it again.
  const current = await deps.campaigns.get(campaign.id);
  // A newer run (resumed while this report was being written) owns the campaign: leave it alone.
  if ((current.executions ?? 1) !== (campaign.executions ?? 1)) return current;
  if (current.status === 'failed' || current.status === 'cancelled') {
    await deps.campaigns.patch(campaign.id, { totals, progress, ...(reportKey ? { reportKey } : {}) });
    return { ...current, totals, progress, ...(reportKey ? { reportKey } : {}) };
  }
  return deps.campaigns.transition(campaign.id, 'failed', {
    statusReason: reason,
    totals,
    progress,
    ...(reportKey ? { reportKey } : {}),
    finishedAt: deps.clock().toISOString(),
  });
}

/**
 * Rows of the prepared file that no batch reported, each resolved against the ledger: sent, failed for a
 * reason recorded earlier, or not sent for `why`. Rows of a run that `tried` to send them end `failed`
 * and are written to the ledger as retryable failures, which is what a resend of failed rows reads; rows
 * of a run that never tried (cancelled, or stopped before sending) end `not_sent`.
 */
async function* unreportedRows(
  campaign: CampaignRecord,
  seen: Uint8Array,
  why: string,
  tried: boolean,
  deps: WorkflowDeps,
): AsyncGenerator<RowOutcome> {
  const campaignId = campaign.id;
  const body = await objectBody(deps.s3, deps.bucket, preparedKeyOf(campaign), 'prepared recipients file');
  // The Map item index of a data row: the header is -1, the first data row 0.
  let index = -2;
  let pending: RowOutcome[] = [];
  const unsent = (o: RowOutcome) => o.state === 'failed' || o.state === 'not_sent';
  const resolve = async function* (): AsyncGenerator<RowOutcome> {
    const candidates = pending.filter(unsent);
    const known = await deps.ledger.lookup(
      campaignId,
      candidates.map((o) => addressKey(o.email)),
    );
    const failures: LedgerEntry[] = [];
    for (const outcome of pending) {
      const key = addressKey(outcome.email);
      const entry = unsent(outcome) ? known.get(key) : undefined;
      const base = { i: outcome.i, row: outcome.row, email: outcome.email };
      if (entry && isSentEntry(entry)) yield { ...base, state: 'sent', messageId: entry.messageId };
      else if (entry) yield { ...base, state: 'failed', reason: entry.reason ?? outcome.reason };
      else {
        if (outcome.state === 'failed')
          failures.push({ key, row: outcome.row, state: 'failed', reason: outcome.reason, retryable: true });
        yield outcome;
      }
    }
    if (failures.length > 0) await deps.ledger.record(campaignId, failures);
    pending = [];
  };
  for await (const record of readCsvRecords(body, { dialect: 'aws' })) {
    index++;
    if (index === -1 || seen[index]) continue;
    const [row, state, email, note] = record.fields as [string, string, string, string];
    const base = { i: index, row: Number(row), email: decodeText(email) };
    if (state === 'invalid' || state === 'duplicate')
      pending.push({ ...base, state, reason: decodeText(note) });
    else if (tried) pending.push({ ...base, state: 'failed', reason: `not sent: ${why}` });
    else pending.push({ ...base, state: 'not_sent', reason: `not sent: ${why}` });
    if (pending.length >= 100) yield* resolve();
  }
  yield* resolve();
}

async function streamToString(body: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}
