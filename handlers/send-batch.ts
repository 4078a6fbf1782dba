import type { AppDeps } from '../core/app.ts';
import { sendBatch } from '../core/sending/send-batch.ts';
import { runtimeDeps, type TaskHandler } from './runtime.ts';

export const createHandler =
  (deps: AppDeps): TaskHandler =>
  (event) =>
    sendBatch(event, deps.sender);

export const handler: TaskHandler = (event) => createHandler(runtimeDeps())(event);
