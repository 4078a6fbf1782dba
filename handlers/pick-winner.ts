import type { AppDeps } from '../core/app.ts';
import { pickWinner } from '../core/workflow/ab-test.ts';
import { lambdaHandler, type TaskHandler } from './runtime.ts';

export const createHandler =
  (deps: AppDeps): TaskHandler =>
  (event) =>
    pickWinner(event, { ...deps.workflow, variantEngagement: deps.engagement.variantEngagement });

export const handler = lambdaHandler('pick-winner', createHandler);
