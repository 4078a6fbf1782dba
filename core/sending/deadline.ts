/**
 * How long one attempt of a batch may send. A batch runs in an EXPRESS child execution, which has 300 s
 * in total, retries and their pauses included. An attempt that planned for a fixed 180 s from its own start
 * would, on a retry, outlive the child: the child times out (States.Timeout) while its Lambda is still
 * sending. So every attempt gets what is left of the child's life (from `$$.Execution.StartTime` of the
 * child, passed in by the ASL as `childStartedAt`), less a reserve for the work after the deadline (sends
 * in flight, the last ledger writes, progress, the response), and never more than the per-attempt cap,
 * which keeps each attempt under the Task's TimeoutSeconds and the function's timeout.
 */
import { AWS_LIMITS } from '../aws/limits.ts';
import { BatchOutOfTimeError } from '../errors.ts';

export interface ChildTimeBudget {
  /** The child execution's whole life (AWS: 300 s). */
  childMs: number;
  /** The most one attempt sends for (180 s of 300). */
  attemptMs: number;
  /** Kept free at the end of the child for what an attempt does after its deadline (30 s of 300). */
  reserveMs: number;
  /** An attempt that would get less than this fails at once instead of starting (5 s of 300). */
  minAttemptMs: number;
}

/** The budget for a child of this lifetime; proportions fixed so tests can shrink it whole. */
export function childTimeBudget(childMs: number = AWS_LIMITS.expressExecutionMs): ChildTimeBudget {
  return {
    childMs,
    attemptMs: Math.round(childMs * 0.6),
    reserveMs: Math.round(childMs * 0.1),
    minAttemptMs: Math.round(childMs / 60),
  };
}

/**
 * The deadline (ms from now) for an attempt of a batch whose child started at `childStartedAt`. Without a
 * start time (an older state machine, a direct call) the attempt gets the per-attempt cap. Throws
 * BatchOutOfTimeError when too little is left to be worth starting: the child then fails at once with
 * that name instead of timing out later with a Lambda still running.
 */
export function attemptDeadlineMs(
  childStartedAt: string | undefined,
  nowMs: number,
  budget: ChildTimeBudget = childTimeBudget(),
): number {
  if (childStartedAt === undefined) return budget.attemptMs;
  const started = Date.parse(childStartedAt);
  if (Number.isNaN(started)) return budget.attemptMs;
  const left = started + budget.childMs - budget.reserveMs - nowMs;
  if (left < budget.minAttemptMs) {
    throw new BatchOutOfTimeError(
      `The batch's child execution has ${Math.max(0, Math.round((started + budget.childMs - nowMs) / 1000))} s ` +
        `of its ${budget.childMs / 1000} s left, too little for another attempt; its unsent rows are resolved ` +
        'by Finalise and can be resent',
    );
  }
  return Math.min(budget.attemptMs, left);
}

/**
 * What is wrong with a SendBatch function timeout, or undefined: it must outlast one attempt (the
 * per-attempt cap plus the reserve the attempt finishes in), stay under the ASL Task's TimeoutSeconds (so
 * an attempt Step Functions gives up on has already stopped, and its retry never overlaps it), and that
 * Task timeout must fit the EXPRESS child's life.
 */
export function sendBatchTimeoutProblem(
  timeoutSeconds: number,
  taskTimeoutSeconds: number,
  budget: ChildTimeBudget = childTimeBudget(),
): string | undefined {
  const attemptSeconds = (budget.attemptMs + budget.reserveMs) / 1000;
  const childSeconds = budget.childMs / 1000;
  if (taskTimeoutSeconds > childSeconds)
    return `the ASL SendBatch TimeoutSeconds (${taskTimeoutSeconds}) is longer than an EXPRESS child's ${childSeconds} s`;
  if (timeoutSeconds < attemptSeconds)
    return (
      `must be at least ${attemptSeconds}: a batch sends for up to ${budget.attemptMs / 1000} s per attempt and ` +
      `takes up to ${budget.reserveMs / 1000} s more to finish what is in flight; a shorter timeout kills it mid-batch`
    );
  if (timeoutSeconds >= taskTimeoutSeconds)
    return (
      `must be under ${taskTimeoutSeconds}, the ASL SendBatch TimeoutSeconds, so an attempt has stopped before ` +
      'Step Functions retries it'
    );
  return undefined;
}
