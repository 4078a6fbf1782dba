/**
 * What people see of a campaign: the record, its schedule in UTC and in the user's zone, and live
 * progress with the rate so far and an expected finish. The API answers with this; the CLI and the web
 * console draw it.
 */

import { deliverabilityView } from '../compliance/health.ts';
import { formatInZone } from './schedule.ts';
import { isFinal, RECIPIENT_STATE_LABEL, RECIPIENT_STATES, type RecipientCounts, totalOf } from './status.ts';
import type { AbTestRecord, CampaignRecord } from './store.ts';

export interface CampaignProgress {
  /** Rows by terminal state so far (exact totals once the campaign has finished). */
  counts: RecipientCounts;
  /** Rows that reached a terminal state. */
  done: number;
  /** Rows in the file, once it has been checked. */
  total: number | null;
  percent: number | null;
  /** Rows decided per second since sending began, or over the whole send once it ended (null before). */
  ratePerSecond: number | null;
  /** The configured send rate, emails per second. */
  plannedRate: number;
  expectedFinishAt: string | null;
}

export interface CampaignView {
  id: string;
  name: string;
  status: CampaignRecord['status'];
  statusReason: string | null;
  templateId: string;
  templateVersion: number;
  recipientsKey: string;
  from: string;
  createdAt: string;
  schedule: {
    /** When sending was asked to start, UTC; null for "now". */
    sendAt: string | null;
    /** The same instant in the user's zone, with its offset. */
    sendAtLocal: string | null;
    timeZone: string | null;
  };
  startedAt: string | null;
  finishedAt: string | null;
  progress: CampaignProgress;
  check: CampaignRecord['check'] | null;
  executionArn: string | null;
  /** Step Functions console page of the current execution; null on the local stack. */
  executionUrl: string | null;
  reportAvailable: boolean;
  /** SES events counted for the campaign, its complaint and bounce rates, and any alarms raised. */
  deliverability: ReturnType<typeof deliverabilityView>;
  /** The A/B test: its settings, where it is, the counts and test at the decision, and the decision. */
  abTest: AbTestView | null;
}

export interface AbTestView {
  phase: AbTestRecord['phase'];
  metric: AbTestRecord['metric'];
  sample: number;
  confidence: number;
  fallback: 'A' | 'hold';
  variants: (AbTestRecord['variants'][number] & { assigned: number | null; sent: number | null })[];
  remainder: number | null;
  sampleSentAt: string | null;
  decisionDue: string | null;
  result: AbTestRecord['result'] | null;
  decision: AbTestRecord['decision'] | null;
}

export function abTestView(record: CampaignRecord): AbTestView | null {
  const test = record.abTest;
  const spec = record.spec.abTest;
  if (!test || !spec) return null;
  return {
    phase: test.phase,
    metric: test.metric,
    sample: spec.sample,
    confidence: spec.confidence,
    fallback: spec.fallback,
    variants: test.variants.map((v) => ({
      ...v,
      assigned: test.assigned?.[v.name] ?? null,
      sent: test.sent?.[v.name] ?? null,
    })),
    remainder: test.remainder ?? null,
    sampleSentAt: test.sampleSentAt ?? null,
    decisionDue: test.decisionDue ?? null,
    result: test.result ?? null,
    decision: test.decision ?? null,
  };
}

/** The latest instant a Date can hold (ms since the epoch); past it toISOString throws. */
const MAX_DATE_MS = 8.64e15;

/** `rowsLeft` at `perSecond` after `fromMs`, or null when that is no instant (a zero or absurd rate). */
function finishAt(fromMs: number, rowsLeft: number, perSecond: number): string | null {
  if (!(perSecond > 0)) return null;
  const ms = fromMs + (rowsLeft / perSecond) * 1000;
  return Number.isFinite(ms) && ms <= MAX_DATE_MS ? new Date(ms).toISOString() : null;
}

export function campaignProgress(record: CampaignRecord, now: Date): CampaignProgress {
  const counts = { ...record.progress };
  if (record.totals) for (const state of RECIPIENT_STATES) counts[state] = record.totals[state];
  for (const state of RECIPIENT_STATES) counts[state] ??= 0;
  const done = totalOf(counts);
  const total = record.totals?.rows ?? record.check?.rows ?? null;
  const percent = total ? Math.min(100, Math.round((done / total) * 1000) / 10) : null;
  let ratePerSecond: number | null = null;
  let expectedFinishAt: string | null = null;
  const undecidedTest = record.abTest !== undefined && record.abTest.decision === undefined;
  if (record.status === 'sending' && record.startedAt) {
    const elapsed = (now.getTime() - Date.parse(record.startedAt)) / 1000;
    // Projected from the unrounded rate: a slow one (an A/B sample of a few rows read minutes into its
    // wait) rounds to 0 for display, and dividing by that gave no date at all (a 500 on every read).
    const measured = elapsed > 0 && done > 0 ? done / elapsed : null;
    if (measured !== null) ratePerSecond = Math.round(measured * 10) / 10;
    if (total !== null) {
      const left = Math.max(0, total - done);
      if (undecidedTest) {
        // The rest waits for the decision, then goes at the planned rate; a test held for a manual pick
        // has no end until someone picks.
        const due = record.abTest?.phase === 'held' ? undefined : record.abTest?.decisionDue;
        expectedFinishAt =
          due === undefined ? null : finishAt(Math.max(Date.parse(due), now.getTime()), left, record.rate);
      } else {
        // Early on the measured rate is noise; the planned rate is the better guess until a few seconds in.
        const rate = measured !== null && elapsed >= 5 ? measured : record.rate;
        expectedFinishAt = finishAt(now.getTime(), left, rate);
      }
    }
  } else if (isFinal(record.status) && record.startedAt && record.finishedAt) {
    const elapsed = (Date.parse(record.finishedAt) - Date.parse(record.startedAt)) / 1000;
    if (elapsed > 0 && done > 0) ratePerSecond = Math.round((done / elapsed) * 10) / 10;
  } else if (!isFinal(record.status) && total !== null) {
    const start = record.sendAt ? Math.max(Date.parse(record.sendAt), now.getTime()) : now.getTime();
    expectedFinishAt = finishAt(start, total, record.rate);
  }
  return { counts, done, total, percent, ratePerSecond, plannedRate: record.rate, expectedFinishAt };
}

export function campaignView(
  record: CampaignRecord,
  options: { now: Date; consoleUrl?: (executionArn: string) => string | undefined },
): CampaignView {
  const timeZone = record.spec.timeZone ?? null;
  return {
    id: record.id,
    name: record.name,
    status: record.status,
    statusReason: record.statusReason ?? null,
    templateId: record.spec.templateId,
    templateVersion: record.templateVersion,
    recipientsKey: record.spec.recipientsKey,
    from: record.spec.from,
    createdAt: record.createdAt,
    schedule: {
      sendAt: record.sendAt ?? null,
      sendAtLocal: record.sendAt && timeZone ? formatInZone(record.sendAt, timeZone) : null,
      timeZone,
    },
    startedAt: record.startedAt ?? null,
    finishedAt: record.finishedAt ?? null,
    progress: campaignProgress(record, options.now),
    check: record.check ?? null,
    executionArn: record.executionArn ?? null,
    executionUrl: (record.executionArn && options.consoleUrl?.(record.executionArn)) || null,
    reportAvailable: record.reportKey !== undefined,
    deliverability: deliverabilityView(record),
    abTest: abTestView(record),
  };
}

/**
 * What the progress means, in one sentence for people: how many rows have an outcome, and which ones.
 * "50 of 50 done" alone reads as success for a cancelled campaign whose rows were never tried.
 */
export function progressSummary(
  view: Pick<CampaignView, 'status' | 'progress'>,
  formatNumber: (n: number) => string = (n) => n.toLocaleString('en-US'),
): string {
  const p = view.progress;
  if (p.total === null) return 'The recipients file has not been checked yet.';
  const parts = RECIPIENT_STATES.filter((state) => state === 'sent' || p.counts[state] > 0).map(
    (state) =>
      `${formatNumber(p.counts[state])} ${RECIPIENT_STATE_LABEL[state].toLowerCase()}${
        state === 'not_sent' ? ' (never tried)' : ''
      }`,
  );
  if (!isFinal(view.status)) {
    if (p.done === 0)
      return view.status === 'scheduled'
        ? `${formatNumber(p.total)} recipients, waiting for the send time.`
        : `${formatNumber(p.total)} recipients, none decided yet.`;
    return `${formatNumber(p.done)} of ${formatNumber(p.total)} recipients decided (${p.percent ?? 0}%): ${parts.join(', ')}.`;
  }
  return `${formatNumber(p.counts.sent)} of ${formatNumber(p.total)} recipients sent: ${parts.join(', ')}.`;
}
