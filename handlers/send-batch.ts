import type { AppDeps } from '../core/app.ts';
import { parseWith, SendBatchEventSchema } from '../core/schemas.ts';
import { attemptDeadlineMs, childTimeBudget } from '../core/sending/deadline.ts';
import { sendBatch } from '../core/sending/send-batch.ts';
import { runtimeDeps, type TaskHandler } from './runtime.ts';

const TimingSchema = SendBatchEventSchema.pick({ childStartedAt: true });

export const createHandler = (deps: AppDeps): TaskHandler => {
  const budget = childTimeBudget(deps.config.childExecutionMs);
  return (event) => {
    // Only the start time is read here; sendBatch parses the whole event.
    const { childStartedAt } = parseWith(TimingSchema, event ?? {}, 'batch');
    const deadlineMs = Math.min(
      attemptDeadlineMs(childStartedAt, deps.clock().getTime(), budget),
      deps.sender.deadlineMs ?? Number.POSITIVE_INFINITY,
    );
    return sendBatch(event, { ...deps.sender, deadlineMs });
  };
};

export const handler: TaskHandler = (event) => createHandler(runtimeDeps())(event);
