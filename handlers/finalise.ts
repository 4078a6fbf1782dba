import type { AppDeps } from '../core/app.ts';
import { finaliseCampaign } from '../core/workflow/finalise.ts';
import { lambdaHandler, type TaskHandler } from './runtime.ts';

export const createHandler =
  (deps: AppDeps): TaskHandler =>
  (event) =>
    finaliseCampaign(event, deps.workflow);

export const handler = lambdaHandler('finalise', createHandler);
