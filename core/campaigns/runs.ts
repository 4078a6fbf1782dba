/**
 * Runs of a campaign after its first: resume, resend of failed rows, the local engine's restart pickup,
 * and the on-demand report of a campaign whose execution was stopped. core/campaigns/service.ts exports these for
 * the API and the CLI.
 *
 * A new run is a new execution, `executionName(id, n)`, over the same prepared file (same rows, same row
 * numbers). The ledger decides who is mailed: a row SES accepted in any earlier run is reported as sent
 * with its message id and never sent again; a row SES rejected for good is reported failed again without
 * asking SES; a row recorded as a retryable failure (or, when resuming, a row never tried) is sent. Every
 * batch of an older run stops at its next gate check once the new run is recorded (core/sending/send-batch.ts).
 */

import { ConfigError, IllegalTransitionError } from '../errors.ts';
import { finaliseCampaign } from '../workflow/finalise.ts';
import { type CampaignServiceDeps, executionName } from './deps.ts';
import { type CampaignStatus, emptyCounts, isFinal } from './status.ts';
import type { CampaignRecord } from './store.ts';

/** Statuses a campaign can be resumed or have its failed rows resent from. */
export const RESTARTABLE: CampaignStatus[] = ['cancelled', 'failed', 'completed_with_failures'];
/** Statuses of a campaign whose execution should be running: after a local engine restart, it is not. */
export const INTERRUPTIBLE: CampaignStatus[] = ['pending', 'scheduled', 'sending'];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function startRun(
  id: string,
  mode: 'all' | 'failed',
  deps: CampaignServiceDeps,
): Promise<CampaignRecord> {
  const campaign = await deps.campaigns.get(id);
  if (!RESTARTABLE.includes(campaign.status)) {
    throw new IllegalTransitionError(
      `Campaign ${id} is ${campaign.status}; only a cancelled, failed or completed_with_failures campaign can be ${mode === 'all' ? 'resumed' : 'resent'}.`,
      { details: { campaignId: id, status: campaign.status, expected: RESTARTABLE } },
    );
  }
  if (mode === 'failed' && campaign.totals && campaign.totals.failed === 0) {
    throw new IllegalTransitionError(`Campaign ${id} has no failed rows to resend.`, {
      details: { campaignId: id, totals: campaign.totals },
    });
  }
  // A stopped execution may still be winding down (StopExecution returns at once on AWS): stop it for good.
  if (campaign.executionArn) {
    const status = await deps.orchestrator.status(campaign.executionArn).catch(() => undefined);
    if (status === 'RUNNING') await deps.orchestrator.stop(campaign.executionArn, 'replaced by a new run');
  }
  const run = (campaign.executions ?? 1) + 1;
  const sentBefore = campaign.totals?.sent ?? campaign.progress?.sent ?? 0;
  const remove: (keyof CampaignRecord)[] = [
    'totals',
    'reportKey',
    'finishedAt',
    'statusReason',
    'rateNote',
    'estimatedSeconds',
    'startedLateBySeconds',
  ];
  // Stopped before anything was sent (e.g. the recipients file was refused or replaced): read the file
  // again, so a corrected upload under the same key is what the new run sends.
  if (!campaign.startedAt) remove.push('check', 'prepared');
  const updated = await deps.campaigns.transition(
    id,
    'pending',
    { executions: run, runMode: mode, progress: { ...emptyCounts(), sent: sentBefore } },
    RESTARTABLE,
    remove,
  );
  const { executionArn } = await deps.orchestrator.start(executionName(id, run), { campaignId: id });
  await deps.campaigns.patch(id, { executionArn });
  deps.logger?.info(mode === 'all' ? 'campaign resumed' : 'campaign failed rows resent', {
    campaignId: id,
    run,
    from: campaign.status,
    sentBefore,
  });
  return { ...updated, executionArn };
}

/**
 * Starts a new run of a cancelled, failed or completed_with_failures campaign that sends every row not
 * sent yet, except rows SES rejected for good. Returns the campaign, now pending.
 */
export function resumeCampaign(id: string, deps: CampaignServiceDeps): Promise<CampaignRecord> {
  return startRun(id, 'all', deps);
}

/**
 * Starts a new run that sends only the rows an earlier run recorded as failed for a retryable cause
 * (throttling or an outage that outlasted every retry, a paused account). Rows never tried (cut short by a
 * cancel) and rows SES rejected for good are not sent. Returns the campaign, now pending.
 */
export function resendFailedCampaign(id: string, deps: CampaignServiceDeps): Promise<CampaignRecord> {
  return startRun(id, 'failed', deps);
}

export interface ReportOptions {
  /** The execution (run) the report is for: if a newer run started meanwhile, nothing is written. */
  execution?: string;
  /** Rows written to the report so far, of all rows (a job's progress). */
  onProgress?: (done: number, total: number) => void;
}

/**
 * The per-recipient report of a campaign that ended, building it if its execution never got to write it
 * (cancelled, or stopped by a failure before the finaliser ran): from the prepared file and the ledger,
 * one line per row. Returns the campaign with its reportKey and totals. For a million rows this takes
 * minutes: the API runs it as a job (core/jobs/jobs.ts).
 */
export async function reportCampaign(
  id: string,
  deps: CampaignServiceDeps,
  options: ReportOptions = {},
): Promise<CampaignRecord> {
  const campaign = await deps.campaigns.get(id);
  if (campaign.reportKey) return campaign;
  if (!isFinal(campaign.status)) {
    throw new IllegalTransitionError(
      `Campaign ${id} is ${campaign.status}: its report is written when it ends.`,
      { details: { campaignId: id, status: campaign.status } },
    );
  }
  if (!deps.ledger) throw new ConfigError('reportCampaign needs the ledger in its dependencies');
  await finaliseCampaign(
    { campaignId: id, ...(options.execution ? { execution: options.execution } : {}) },
    {
      s3: deps.s3,
      bucket: deps.bucket,
      campaigns: deps.campaigns,
      templates: deps.templates,
      ledger: deps.ledger,
      clock: deps.clock,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    },
  );
  return deps.campaigns.get(id);
}

/**
 * After cancelCampaign stopped the execution: let batches still running notice (their gate check) and
 * record what they sent, then write the report.
 */
export async function reportAfterStop(
  id: string,
  deps: CampaignServiceDeps,
  options: ReportOptions = {},
): Promise<CampaignRecord> {
  if (deps.settleMs === undefined || deps.settleMs > 0) await sleep(deps.settleMs ?? 1500);
  return reportCampaign(id, deps, options);
}

/**
 * The local engine's restart pickup: every campaign whose execution should be running (pending, scheduled
 * or sending) gets a new run. A sending campaign resumes through the ledger; a scheduled one waits for its
 * time, or starts at once if that passed while the engine was down (and its status says how late).
 */
export async function restartInterruptedCampaigns(deps: CampaignServiceDeps): Promise<CampaignRecord[]> {
  const restarted: CampaignRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await deps.campaigns.list(100, cursor);
    for (const campaign of page.items) {
      if (!INTERRUPTIBLE.includes(campaign.status)) continue;
      const run = (campaign.executions ?? 1) + 1;
      await deps.campaigns.patch(campaign.id, { executions: run });
      const { executionArn } = await deps.orchestrator.start(executionName(campaign.id, run), {
        campaignId: campaign.id,
      });
      await deps.campaigns.patch(campaign.id, { executionArn });
      deps.logger?.info('campaign restarted after the engine stopped', {
        campaignId: campaign.id,
        run,
        status: campaign.status,
      });
      restarted.push({ ...campaign, executions: run, executionArn });
    }
    cursor = page.cursor;
  } while (cursor);
  return restarted;
}
