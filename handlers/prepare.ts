import type { AppDeps } from '../core/app.ts';
import { prepareCampaign } from '../core/workflow/prepare.ts';
import { lambdaHandler, type TaskHandler } from './runtime.ts';

export const createHandler =
  (deps: AppDeps): TaskHandler =>
  (event) =>
    prepareCampaign(event, deps.workflow);

export const handler = lambdaHandler('prepare', createHandler);
