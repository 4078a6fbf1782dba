import type { AppDeps } from '../core/app.ts';
import { parseWith, SendBatchEventSchema } from '../core/schemas.ts';
import { attemptDeadlineMs, childTimeBudget } from '../core/sending/deadline.ts';
import { fitOutcomes } from '../core/sending/outcomes.ts';
import { sendBatch } from '../core/sending/send-batch.ts';
import { lambdaHandler, type TaskHandler } from './runtime.ts';

const TimingSchema = SendBatchEventSchema.pick({ childStartedAt: true });

export const createHandler = (deps: AppDeps): TaskHandler => {
  const budget = childTimeBudget(deps.config.childExecutionMs);
  const now = deps.sender.now ?? (() => performance.now());
  return async (event) => {
    const attemptStartedAt = now();
    // Only the start time is read here; sendBatch parses the whole event.
    const { childStartedAt } = parseWith(TimingSchema, event ?? {}, 'batch');
    const deadlineMs = Math.min(
      attemptDeadlineMs(childStartedAt, deps.clock().getTime(), budget),
      deps.sender.deadlineMs ?? Number.POSITIVE_INFINITY,
    );
    // The result is the child's output: it must fit the state payload limit whatever the reasons say.
    return fitOutcomes(await sendBatch(event, { ...deps.sender, deadlineMs, attemptStartedAt }));
  };
};

export const handler = lambdaHandler('send-batch', createHandler);
