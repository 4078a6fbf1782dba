/**
 * The Jobs function: runs one job the API started (core/jobs/jobs.ts), invoked asynchronously with
 * {"jobId": ...}. Its timeout (15 minutes) is what API Gateway's 29 s could not give. Every minute a
 * schedule rule also sends it {"sweep": "unsubscribe-outbox"}: the unsubscribes whose publication failed
 * are published then (core/compliance/unsubscribe.ts publishPendingUnsubscribes).
 */
import type { AppDeps } from '../core/app.ts';
import { publishPendingUnsubscribes } from '../core/compliance/unsubscribe.ts';
import { createJobDeps, JobsFunctionEventSchema, runJob } from '../core/jobs/jobs.ts';
import { parseWith } from '../core/schemas.ts';
import { awsCampaignServiceDeps } from './api.ts';
import { lambdaHandler, type TaskHandler } from './runtime.ts';

export const createHandler = (app: AppDeps): TaskHandler => {
  // This function is the launcher's target: a job it runs never launches another.
  const deps = createJobDeps(app, awsCampaignServiceDeps(app), async () => undefined);
  return async (event) => {
    const invocation = parseWith(JobsFunctionEventSchema, event, 'job invocation');
    if ('sweep' in invocation) return { sweep: invocation.sweep, ...(await sweepUnsubscribeOutbox(app)) };
    const job = await runJob(invocation.jobId, deps);
    return { jobId: invocation.jobId, status: job.status };
  };
};

/** The outbox sweep over the app's analytics store and event bus: what the schedule and the local timer run. */
export const sweepUnsubscribeOutbox = (app: AppDeps, options: { olderThanMs?: number } = {}) =>
  publishPendingUnsubscribes(
    {
      analytics: app.analytics,
      publish: (events) => app.publisher.publish(events),
      clock: app.clock,
      logger: app.logger,
    },
    options,
  );

export const handler = lambdaHandler('jobs', createHandler);
