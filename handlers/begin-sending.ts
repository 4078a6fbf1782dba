import type { AppDeps } from '../core/app.ts';
import { beginSending } from '../core/workflow/begin-sending.ts';
import { lambdaHandler, type TaskHandler } from './runtime.ts';

export const createHandler =
  (deps: AppDeps): TaskHandler =>
  (event) =>
    beginSending(event, deps.workflow);

export const handler = lambdaHandler('begin-sending', createHandler);
