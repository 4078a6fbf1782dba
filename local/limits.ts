/**
 * The limits AWS enforces that aws-local-stepfunctions does not, enforced by the local engine with AWS's
 * error names: an EXPRESS child's 5 minutes (States.Timeout), 256 KiB per state payload and per child
 * input and output (States.DataLimitExceeded, which no Catch of States.ALL catches), Lambda's 6 MB
 * synchronous response (Function.ResponseSizeTooLarge), a Standard execution's 25,000 history events
 * (States.Runtime) and its one year (States.Timeout). Defaults are AWS's; tests shrink them to show each failure quickly.
 */
import {
  AWS_LIMIT_ERRORS,
  AWS_LIMITS,
  executionTimeoutCause,
  historyLimitCause,
  lambdaResponseTooLargeMessage,
} from '../core/aws/limits.ts';

export interface LocalLimits {
  expressExecutionMs: number;
  statePayloadBytes: number;
  lambdaResponseBytes: number;
  standardHistoryEvents: number;
  /** A Standard execution's whole life (its TimeoutSeconds, when shorter, applies instead). */
  standardExecutionMs: number;
}

export const DEFAULT_LOCAL_LIMITS: LocalLimits = {
  expressExecutionMs: AWS_LIMITS.expressExecutionMs,
  statePayloadBytes: AWS_LIMITS.statePayloadBytes,
  lambdaResponseBytes: AWS_LIMITS.lambdaResponseBytes,
  standardHistoryEvents: AWS_LIMITS.standardHistoryEvents,
  standardExecutionMs: AWS_LIMITS.standardExecutionMs,
};

/** An error with a Step Functions name (`States.*`), matched by Retry and Catch like any other. */
export class StatesError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/**
 * A terminal error: no Retry and no Catch applies to it (the engine reads these two flags), as AWS treats
 * States.DataLimitExceeded and States.Runtime.
 */
export class TerminalStatesError extends StatesError {
  get isRetryable(): boolean {
    return false;
  }
  get isCatchable(): boolean {
    return false;
  }
}

export const dataLimitExceeded = (what: string, bytes: number, limit: number) =>
  new TerminalStatesError(
    AWS_LIMIT_ERRORS.dataLimit,
    `${what} is ${bytes} bytes, over the state payload limit of ${limit} bytes`,
  );

export const expressTimedOut = (limitMs: number) =>
  new StatesError(
    AWS_LIMIT_ERRORS.timeout,
    `The EXPRESS child execution ran longer than ${limitMs / 1000} s, retries included`,
  );

/** The execution outlived its time: it ends TIMED_OUT, with no Catch run (AWS runs none either). */
export const executionTimedOut = (limitMs: number) =>
  new TerminalStatesError(AWS_LIMIT_ERRORS.timeout, executionTimeoutCause(limitMs));

export const historyFull = (limit: number) =>
  new TerminalStatesError(AWS_LIMIT_ERRORS.runtime, historyLimitCause(limit));

/** What Lambda reports for a response over its synchronous limit: a function error, so Retry/Catch see it. */
export function responseTooLarge(limit: number): Error {
  const error = new Error(lambdaResponseTooLargeMessage(limit));
  error.name = AWS_LIMIT_ERRORS.lambdaResponseTooLarge;
  (error as Error & { cause: string }).cause = JSON.stringify({
    errorType: error.name,
    errorMessage: error.message,
  });
  return error;
}

/** The engine wraps a failure in its own ExecutionError; AWS reports the state's error itself. */
export function unwrapExecutionError(error: unknown): Error & { cause?: unknown } {
  const e = error as Error & { cause?: unknown };
  if (e?.name === 'ExecutionError' && e.cause instanceof Error) return e.cause as Error & { cause?: unknown };
  return e;
}

/** One event of aws-local-stepfunctions' event log (the fields the counter reads). */
export interface EngineEvent {
  type: string;
  state?: { name: string; type: string; input?: unknown; output?: unknown };
}

/** What a Task of the engine's definition stands for: a Distributed Map or a Wait state run by the engine. */
export type RewrittenKind = 'map' | 'wait' | undefined;

/**
 * How many events AWS writes to a Standard execution's history for one engine event. A Lambda Task is
 * TaskStateEntered, LambdaFunctionScheduled, LambdaFunctionStarted, then LambdaFunctionSucceeded and
 * TaskStateExited (a failed attempt: LambdaFunctionFailed; a retry: Scheduled and Started again); a
 * Distributed Map is MapStateEntered, MapRunStarted, MapRunSucceeded (or MapRunFailed), MapStateExited,
 * its children having histories of their own; other states are Entered and Exited, and so is a Wait
 * however many slices the engine waits it in (local/asl.ts rewriteWaits).
 */
export function historyEventsOf(event: EngineEvent, kindOf: (stateName: string) => RewrittenKind): number {
  const state = event.state;
  const rewritten = state && state.type === 'Task' ? kindOf(state.name) : undefined;
  const kind = !state
    ? 'none'
    : state.type !== 'Task' || rewritten === 'wait'
      ? 'other'
      : rewritten === 'map'
        ? 'map'
        : 'task';
  switch (event.type) {
    case 'StateEntered':
      return kind === 'task' ? 3 : kind === 'map' ? 2 : 1;
    case 'StateExited':
      return kind === 'task' || kind === 'map' ? 2 : 1;
    case 'StateFailed':
      return kind === 'task' || kind === 'map' ? 1 : 0;
    case 'StateRetried':
      return kind === 'task' ? 2 : kind === 'map' ? 1 : 0;
    case 'StateCaught':
      return 0;
    default:
      // ExecutionStarted, ExecutionSucceeded, ExecutionFailed, ExecutionAborted, and the events of inline
      // Map iterations and Parallel branches, one each.
      return 1;
  }
}
