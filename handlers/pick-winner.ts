import type { AppDeps } from '../core/app.ts';
import { pickWinner } from '../core/workflow/ab-test.ts';
import { runtimeDeps, type TaskHandler } from './runtime.ts';

export const createHandler =
  (deps: AppDeps): TaskHandler =>
  (event) =>
    pickWinner(event, { ...deps.workflow, variantEngagement: deps.engagement.variantEngagement });

export const handler: TaskHandler = (event) => createHandler(runtimeDeps())(event);
