/**
 * The Jobs function: runs one job the API started (core/jobs/jobs.ts), invoked asynchronously with
 * {"jobId": ...}. Its timeout (15 minutes) is what API Gateway's 29 s could not give.
 */
import type { AppDeps } from '../core/app.ts';
import { createJobDeps, JobInvocationSchema, runJob } from '../core/jobs/jobs.ts';
import { parseWith } from '../core/schemas.ts';
import { awsCampaignServiceDeps } from './api.ts';
import { lambdaHandler, type TaskHandler } from './runtime.ts';

export const createHandler = (app: AppDeps): TaskHandler => {
  // This function is the launcher's target: a job it runs never launches another.
  const deps = createJobDeps(app, awsCampaignServiceDeps(app), async () => undefined);
  return async (event) => {
    const { jobId } = parseWith(JobInvocationSchema, event, 'job invocation');
    const job = await runJob(jobId, deps);
    return { jobId, status: job.status };
  };
};

export const handler = lambdaHandler('jobs', createHandler);
