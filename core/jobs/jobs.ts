/**
 * Jobs: what an API request starts and a client polls, because it can take longer than API Gateway's
 * 29 s (a cancelled campaign's report reads the whole prepared file and looks up unreported rows 100 at a
 * time: about 10,000 BatchGetItem calls for a million rows). The request stores a job and hands its id to
 * a launcher: on AWS an asynchronous invocation of the Jobs function (handlers/jobs.ts), locally the
 * background of the same process. `runJob` does the work, records progress as it goes, and ends the job
 * as succeeded (with its result) or failed (with the error's code and message).
 */
import type { Readable } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { z } from 'zod';
import type { AppDeps } from '../app.ts';
import { type CampaignServiceDeps, executionName } from '../campaigns/deps.ts';
import { reportAfterStop, reportCampaign } from '../campaigns/runs.ts';
import {
  dynamoSuppressionWriter,
  importSuppressionCsv,
  type SuppressionWriter,
} from '../compliance/suppression-import.ts';
import { RecipientsFileError, SixbackError } from '../errors.ts';
import { elapsed, type Logger, SILENT_LOGGER } from '../logging.ts';
import type { JobRecord, JobStore } from './store.ts';

const campaignId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);

/** The parameters of each kind of job, as stored on the job and read back by the runner. */
export const JobInputSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('report'),
    campaignId,
    /** The run whose report this is: a newer run (resume, resend) makes the job a no-op. */
    run: z.number().int().positive(),
    /** Started by a cancel: first let the batches still running notice and record what they sent. */
    afterStop: z.boolean().default(false),
  }),
  z.object({
    type: z.literal('suppression-import'),
    key: z.string().min(1).max(1024),
    name: z.string().min(1).max(200).optional(),
    reason: z.enum(['manual', 'unsubscribe', 'bounce', 'complaint']).default('manual'),
  }),
]);
export type JobInput = z.input<typeof JobInputSchema>;

export const JOB_ID = /^j-[A-Za-z0-9_-]{1,100}$/;
/** The asynchronous invocation of the Jobs function. */
export const JobInvocationSchema = z.object({ jobId: z.string().regex(JOB_ID) });
/**
 * What the schedule rule sends the Jobs function every minute (infra/constructs/functions.ts): a sweep,
 * not a stored job (the local stack runs the same sweep on a timer: local/stack.ts).
 */
export const ScheduledSweepSchema = z.object({ sweep: z.literal('unsubscribe-outbox') });
export const JobsFunctionEventSchema = z.union([JobInvocationSchema, ScheduledSweepSchema]);

/** Starts a stored job somewhere other than the request that created it. */
export type JobLauncher = (jobId: string) => Promise<void>;

export interface JobDeps {
  jobs: JobStore;
  campaigns: CampaignServiceDeps;
  suppressionWriter: SuppressionWriter;
  clock: () => Date;
  launch: JobLauncher;
  /** Progress is written at most this often (default 1 s). */
  progressIntervalMs?: number;
  /** Where an unexpected failure is reported; default: the logger's error line. */
  log?: (message: string, error: unknown) => void;
  /** A line per job run (core/logging.ts); silent when absent. */
  logger?: Logger;
}

/** An unexpected failure of a job, with its cause (the job record only says "internal"). */
function jobFailed(deps: JobDeps, jobId: string, error: unknown): void {
  if (deps.log) deps.log(`job ${jobId} failed:`, error);
  else (deps.logger ?? SILENT_LOGGER).error('job failed', { jobId, error });
}

/** The report job of a campaign run: one id per run, so a cancel and a GET /report share it. */
export const reportJobId = (id: string, run: number) => `j-report-${id}-r${run}`;

/**
 * Stores the job and launches it. A job whose id exists already is joined (returned as it is) unless it
 * failed, in which case it is started again.
 */
export async function startJob(input: JobInput, deps: JobDeps, id?: string): Promise<JobRecord> {
  const parsed = JobInputSchema.parse(input);
  const now = deps.clock().toISOString();
  const record: JobRecord = {
    id:
      id ??
      `j-${parsed.type}-${now.replace(/\D/g, '').slice(0, 14)}-${Math.random().toString(36).slice(2, 10)}`,
    kind: 'job',
    type: parsed.type,
    status: 'running',
    subject: parsed.type === 'report' ? parsed.campaignId : parsed.key,
    input: parsed,
    requestedAt: now,
    updatedAt: now,
  };
  if (!(await deps.jobs.create(record))) {
    const existing = await deps.jobs.get(record.id);
    if (existing.status !== 'failed' || !(await deps.jobs.restart(record))) return existing;
  }
  await deps.launch(record.id);
  return record;
}

/** Runs a stored job to its end; a job already ended is returned as it is. */
export async function runJob(jobId: string, deps: JobDeps): Promise<JobRecord> {
  const job = await deps.jobs.get(jobId);
  if (job.status !== 'running') return job;
  const input = JobInputSchema.parse(job.input);
  const intervalMs = deps.progressIntervalMs ?? 1000;
  let lastWrite = 0;
  let writing: Promise<void> = Promise.resolve();
  const progress = (done: number, total: number | undefined, unit: string) => {
    const now = Date.now();
    if (now - lastWrite < intervalMs && done !== total) return;
    lastWrite = now;
    writing = writing
      .then(() => deps.jobs.progress(jobId, { done, ...(total === undefined ? {} : { total }), unit }))
      .catch(() => undefined);
  };
  const startedAt = performance.now();
  try {
    const result =
      input.type === 'report'
        ? await runReport(input, deps, (done, total) => progress(done, total, 'rows'))
        : await runSuppressionImport(input, deps, (done) => progress(done, undefined, 'rows'));
    await writing;
    await deps.jobs.succeed(jobId, result);
    deps.logger?.info('job done', { jobId, type: input.type, durationMs: elapsed(startedAt) });
  } catch (error) {
    await writing;
    const known = error instanceof SixbackError;
    if (!known) jobFailed(deps, jobId, error);
    // A refusal the user can act on (its message is on the job): worth a line, not an alarm.
    else deps.logger?.warn('job refused', { jobId, type: input.type, error });
    await deps.jobs.fail(jobId, {
      code: known ? error.code : 'internal',
      message: known ? error.message : 'Internal error; see the log of the job.',
    });
  }
  return deps.jobs.get(jobId);
}

async function runReport(
  input: Extract<z.output<typeof JobInputSchema>, { type: 'report' }>,
  deps: JobDeps,
  onProgress: (done: number, total: number) => void,
): Promise<Record<string, unknown>> {
  const options = { execution: executionName(input.campaignId, input.run), onProgress };
  const campaign = input.afterStop
    ? await reportAfterStop(input.campaignId, deps.campaigns, options)
    : await reportCampaign(input.campaignId, deps.campaigns, options);
  return {
    campaignId: campaign.id,
    status: campaign.status,
    ...(campaign.reportKey ? { reportKey: campaign.reportKey } : {}),
    ...(campaign.totals ? { totals: campaign.totals } : {}),
  };
}

async function runSuppressionImport(
  input: Extract<z.output<typeof JobInputSchema>, { type: 'suppression-import' }>,
  deps: JobDeps,
  onProgress: (rows: number) => void,
): Promise<Record<string, unknown>> {
  const { s3, bucket } = deps.campaigns;
  let body: Readable;
  try {
    body = (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: input.key }))).Body as Readable;
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey')
      throw new RecipientsFileError(`No uploaded file "${input.key}". Upload the CSV first.`);
    throw error;
  }
  const result = await importSuppressionCsv(body, deps.suppressionWriter, {
    reason: input.reason,
    source: `import:${input.name ?? input.key}`,
    at: deps.clock(),
    onProgress,
  });
  return { ...result };
}

/**
 * The local launcher: runs each job in the background of this process, and can wait for all of them
 * (a stack that stops waits for its jobs first).
 */
export class BackgroundJobs {
  private readonly running = new Set<Promise<unknown>>();
  private deps: JobDeps | undefined;

  bind(deps: JobDeps): void {
    this.deps = deps;
  }

  readonly launch: JobLauncher = async (jobId) => {
    const deps = this.deps;
    if (!deps) throw new Error('BackgroundJobs.launch before bind');
    const run: Promise<unknown> = runJob(jobId, deps)
      .catch((error) => jobFailed(deps, jobId, error))
      .finally(() => this.running.delete(run));
    this.running.add(run);
  };

  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }
}

/** Job dependencies from the app's, with the given launcher (default: this process's background). */
export function createJobDeps(
  app: AppDeps,
  campaigns: CampaignServiceDeps,
  launch?: JobLauncher,
  log?: (message: string, error: unknown) => void,
): JobDeps {
  const background = launch ? undefined : new BackgroundJobs();
  const deps: JobDeps = {
    jobs: app.jobs,
    campaigns,
    suppressionWriter: dynamoSuppressionWriter(app.clients.ddb, app.config.tables.suppression),
    clock: app.clock,
    launch: launch ?? (background as BackgroundJobs).launch,
    ...(log ? { log } : {}),
    // Fakes of AppDeps in tests may carry no logger.
    ...(app.logger ? { logger: app.logger } : {}),
  };
  background?.bind(deps);
  return deps;
}

export type JobView = Omit<JobRecord, 'kind' | 'input'>;

/** A job as the API shows it. */
export function jobView(job: JobRecord): JobView {
  const { kind: _kind, input: _input, ...view } = job;
  return view;
}
