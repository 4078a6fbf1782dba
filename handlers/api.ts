/**
 * The HTTP API on Lambda behind API Gateway (HTTP API, payload v2; REST API v1 events work too).
 * Authentication is API Gateway's IAM authorisation (SigV4) on every route but the public unsubscribe
 * endpoint: the app trusts it, and refuses any request whose context shows no IAM caller (see api/auth.ts).
 */
import { handle } from 'hono/aws-lambda';
import { createApi } from '../api/app.ts';
import type { ApiDeps } from '../api/types.ts';
import { type AppDeps, campaignServiceDeps } from '../core/app.ts';
import type { CampaignServiceDeps } from '../core/campaigns/deps.ts';
import { ConfigError } from '../core/errors.ts';
import { createJobDeps, runJob } from '../core/jobs/jobs.ts';
import { lambdaJobLauncher } from '../core/jobs/lambda-launcher.ts';
import { StepFunctionsOrchestrator } from '../core/workflow/orchestrator.ts';
import { lambdaHandler } from './runtime.ts';

/** The campaign service on AWS: runs are Step Functions executions of the deployed state machine. */
export function awsCampaignServiceDeps(deps: AppDeps): CampaignServiceDeps {
  const { config } = deps;
  if (!config.stateMachineArn) throw new ConfigError('SIXBACK_STATE_MACHINE_ARN is not set.');
  return campaignServiceDeps(
    deps,
    new StepFunctionsOrchestrator(deps.clients.sfn, config.stateMachineArn, config.region),
  );
}

export function createHandler(deps: ApiDeps) {
  return handle(createApi({ deps, auth: { kind: 'aws-iam' } }));
}

export const handler = lambdaHandler('api', (app: AppDeps) => {
  const campaigns = awsCampaignServiceDeps(app);
  // Long work (reports, imports of uploaded files) runs in the Jobs function, invoked asynchronously.
  // Without one configured it runs inside this request, as before (and may meet the 29 s limit).
  const jobsFunction = app.config.jobsFunction;
  const jobs = createJobDeps(
    app,
    campaigns,
    jobsFunction
      ? lambdaJobLauncher(app.config, jobsFunction)
      : async (jobId) => {
          await runJob(jobId, jobs);
        },
  );
  return createHandler({ app, campaigns, jobs });
});
