/**
 * The local Step Functions: the campaign ASL file run by aws-local-stepfunctions, with every Lambda Task
 * mapped to the same handler factory the deployed functions use, and each Distributed Map run by the
 * adapter. It implements the same Orchestrator interface as the Step Functions client, so the campaign
 * service cannot tell the two apart.
 */
import './polyfill.ts';
import type { S3Client } from '@aws-sdk/client-s3';
import { StateMachine } from 'aws-local-stepfunctions';
import type { Logger } from '../core/logging.ts';
import type { ExecutionInput } from '../core/schemas.ts';
import type { ExecutionStatus, Orchestrator } from '../core/workflow/orchestrator.ts';
import type { JsonTaskHandler, TaskHandler } from '../handlers/runtime.ts';
import {
  ADAPTER_RESOURCE,
  LOCAL_ACCOUNT,
  LOCAL_REGION,
  loadDefinition,
  localFunctionArn,
  type MachineDefinition,
  rewriteDistributedMaps,
  rewriteWaits,
  type StateDefinition,
  WAIT_GOES_ON,
  WAIT_RESOURCE,
  WAIT_SLICE_MS,
} from './asl.ts';
import {
  knownJsonBytes,
  measuredJson,
  parsedJson,
  runDistributedMap,
  validateDistributedMap,
} from './distributed-map.ts';
import { compilePath } from './jsonpath.ts';
import {
  DEFAULT_LOCAL_LIMITS,
  dataLimitExceeded,
  type EngineEvent,
  executionTimedOut,
  expressTimedOut,
  historyEventsOf,
  historyFull,
  type LocalLimits,
  responseTooLarge,
  StatesError,
  TerminalStatesError,
  unwrapExecutionError,
} from './limits.ts';
import { atTime, sleepUntil } from './timers.ts';

export const LOCAL_STATE_MACHINE_NAME = 'sixback-campaign';

export interface LocalExecution {
  executionArn: string;
  name: string;
  input: unknown;
  status: ExecutionStatus;
  startDate: Date;
  stopDate?: Date;
  output?: unknown;
  error?: { Error: string; Cause: string };
  done: Promise<LocalExecution>;
}

export interface LocalEngineOptions {
  /** Handlers by the ASL substitution name of their function ARN (PrepareFunctionArn, ...). */
  handlers: Record<string, TaskHandler>;
  s3: S3Client;
  /** Sets named Wait states' time (milliseconds from the state's start), for tests; a real run waits for real. */
  waitTimeOverrides?: Record<string, number>;
  /** Shortens named states' Retry pauses (milliseconds), for tests. */
  retryIntervalOverrides?: Record<string, number | number[]>;
  aslPath?: string;
  /** AWS's limits (local/limits.ts); tests set smaller ones to show each failure quickly. */
  limits?: Partial<LocalLimits>;
  /** A line per execution started and ended (core/logging.ts), as Step Functions' history would show. */
  logger?: Logger;
}

const toKebab = (name: string) =>
  name
    .replace(/FunctionArn$/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .toLowerCase();

/**
 * What a Lambda invocation looks like to Step Functions: JSON in, JSON out, errors as {errorType,
 * errorMessage}; a response over Lambda's synchronous limit fails as Lambda reports it, and one over the
 * state payload limit as Step Functions does.
 */
function asLambda(handler: JsonTaskHandler, limits: LocalLimits): (input: unknown) => Promise<unknown> {
  const json = handler.json;
  return async (input) => {
    const request = JSON.stringify(input ?? null);
    const requestBytes = Buffer.byteLength(request);
    if (requestBytes > limits.statePayloadBytes)
      throw dataLimitExceeded("The task's input", requestBytes, limits.statePayloadBytes);
    let output: unknown;
    // The handler that takes JSON text gets the request's text and answers with its result's.
    let answered: string | undefined;
    try {
      if (json) answered = await json(request);
      else output = await handler(JSON.parse(request));
    } catch (error) {
      const e = error as Error;
      const failure = new Error(e?.message ?? String(error));
      failure.name = e?.name ?? 'Error';
      // The engine reports `cause` as the Cause; Lambda's Cause is this JSON document.
      (failure as Error & { cause: string }).cause = JSON.stringify({
        errorType: failure.name,
        errorMessage: failure.message,
      });
      throw failure;
    }
    const text = answered ?? JSON.stringify(output ?? null);
    const bytes = Buffer.byteLength(text);
    if (bytes > limits.lambdaResponseBytes) throw responseTooLarge(limits.lambdaResponseBytes);
    if (bytes > limits.statePayloadBytes)
      throw dataLimitExceeded("The task's result", bytes, limits.statePayloadBytes);
    // Its text is kept with it: a Map child's output is measured and written to the result files as it.
    return parsedJson(text);
  };
}

/** The fields a Map child's one Task may have for its Items to pass the library as a placeholder. */
const PASS_THROUGH_FIELDS = new Set([
  'Type',
  'Resource',
  'Comment',
  'Parameters',
  'TimeoutSeconds',
  'HeartbeatSeconds',
  'Retry',
  'End',
]);
/** A reference path into the input that does not start with its Items ($.BatchInput, $.a.b). */
const PATH_BESIDE_ITEMS = /^\$\.(?!Items(?:$|\.))[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/;
/** A context path that does not reach the execution's input ($$.Execution.StartTime, $$.State.Name). */
const CONTEXT_BESIDE_INPUT =
  /^\$\$\.(?!Execution\.Input(?:$|\.))[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/**
 * Whether a Map child's definition only hands its input's Items, whole, to its one Task (the campaign's
 * SendBatch child: `"Items.$": "$.Items"` among Parameters that read nothing else of them). Then the
 * Items can go through aws-local-stepfunctions as a placeholder string, and the Task gets the very array
 * back: the library copies a child's input twice (its execution's and its state's input, cloneJSON), which
 * for 500 rows cost as much as the rest of the engine's work on the child. Anything that could see the
 * Items otherwise (a path into them, $ or $$.Execution.Input, an intrinsic, InputPath, ResultPath,
 * ResultSelector, OutputPath, a Catch, a second state) keeps them in the input.
 */
export function itemsPassThrough(definition: {
  StartAt: string;
  States: Record<string, StateDefinition>;
}): boolean {
  const states = Object.entries(definition.States);
  if (states.length !== 1) return false;
  const [name, state] = states[0] as [string, StateDefinition];
  if (name !== definition.StartAt || state.Type !== 'Task' || state.End !== true) return false;
  if (state.QueryLanguage !== undefined && state.QueryLanguage !== 'JSONPath') return false;
  if (Object.keys(state).some((field) => !PASS_THROUGH_FIELDS.has(field) && field !== 'QueryLanguage'))
    return false;
  const parameters = state.Parameters;
  if (!parameters || typeof parameters !== 'object' || Array.isArray(parameters)) return false;
  if ((parameters as Record<string, unknown>)['Items.$'] !== '$.Items') return false;
  const beside = (template: unknown, top: boolean): boolean => {
    if (Array.isArray(template)) return template.every((value) => beside(value, false));
    if (!template || typeof template !== 'object') return true;
    return Object.entries(template).every(([key, value]) => {
      if (top && key === 'Items.$') return true;
      if (!key.endsWith('.$')) return beside(value, false);
      return typeof value === 'string' && (PATH_BESIDE_ITEMS.test(value) || CONTEXT_BESIDE_INPUT.test(value));
    });
  };
  return beside(parameters, true);
}

/** The placeholder a Map child's Items are while they pass the library (a string no CSV batch holds). */
const ITEMS_PLACEHOLDER = '\u0000sixback-local-items:';
let placeholders = 0;

function taskStates(definition: { States: Record<string, StateDefinition> }): [string, StateDefinition][] {
  return Object.entries(definition.States).filter(([, state]) => state.Type === 'Task');
}

export class LocalEngine implements Orchestrator {
  readonly stateMachineArn =
    `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${LOCAL_STATE_MACHINE_NAME}`;
  readonly definition: MachineDefinition;
  readonly limits: LocalLimits;
  private readonly maps: Record<string, StateDefinition>;
  /** The Wait states, which the engine runs itself (local/asl.ts rewriteWaits). */
  private readonly waits: Record<string, StateDefinition>;
  /** The execution's time: the definition's TimeoutSeconds, else a Standard execution's year. */
  private readonly executionMs: number;
  private readonly machine: StateMachine;
  private readonly children = new Map<
    string,
    { machine: StateMachine; tasks: [string, StateDefinition][]; itemsPassThrough: boolean }
  >();
  private readonly byArn = new Map<string, (input: unknown) => Promise<unknown>>();
  private readonly executions = new Map<string, LocalExecution & { abort: () => void }>();
  /**
   * Task handlers still running, per execution. Aborting a run does not stop a handler already called
   * (neither does StopExecution on AWS); `stop` waits for them, so a stopped execution has really stopped.
   */
  private readonly running = new Map<string, Set<Promise<unknown>>>();

  private tracked(
    executionArn: string,
    handler: (input: unknown) => Promise<unknown>,
  ): (input: unknown) => Promise<unknown> {
    return (input) => {
      let set = this.running.get(executionArn);
      if (!set) {
        set = new Set();
        this.running.set(executionArn, set);
      }
      const promise = handler(input);
      const entry = promise.catch(() => undefined);
      set.add(entry);
      void entry.finally(() => set.delete(entry));
      return promise;
    };
  }

  constructor(private readonly options: LocalEngineOptions) {
    this.limits = { ...DEFAULT_LOCAL_LIMITS, ...options.limits };
    const names = new Map<string, string>();
    const raw = loadDefinition((name) => {
      if (!(name in options.handlers)) return undefined;
      const arn = localFunctionArn(toKebab(name));
      names.set(arn, name);
      return arn;
    }, options.aslPath);
    for (const [arn, name] of names)
      this.byArn.set(arn, asLambda(options.handlers[name] as TaskHandler, this.limits));
    const mapped = rewriteDistributedMaps(raw);
    const { definition, waits, timeoutSeconds } = rewriteWaits(mapped.definition);
    const maps = mapped.maps;
    this.definition = definition;
    this.maps = maps;
    this.waits = waits;
    this.executionMs = Math.min(
      this.limits.standardExecutionMs,
      timeoutSeconds !== undefined ? timeoutSeconds * 1000 : Number.POSITIVE_INFINITY,
    );
    this.machine = new StateMachine(definition as never);
    for (const [name, state] of Object.entries(maps)) {
      validateDistributedMap(name, state);
      const processor = state.ItemProcessor as { StartAt: string; States: Record<string, StateDefinition> };
      const childDefinition = { StartAt: processor.StartAt, States: processor.States };
      this.children.set(name, {
        machine: new StateMachine(childDefinition as never),
        tasks: taskStates(childDefinition),
        itemsPassThrough: itemsPassThrough(childDefinition),
      });
    }
  }

  /** Whether this Distributed Map's children get their Items through the library as a placeholder. */
  passesItemsThrough(mapState: string): boolean {
    return this.children.get(mapState)?.itemsPassThrough === true;
  }

  private handlerFor(resource: unknown): (input: unknown) => Promise<unknown> {
    const handler = this.byArn.get(String(resource));
    if (!handler) throw new Error(`No local handler for Task resource ${String(resource)}`);
    return handler;
  }

  executionArn(name: string): string {
    return `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:execution:${LOCAL_STATE_MACHINE_NAME}:${name}`;
  }

  async start(name: string, input: ExecutionInput): Promise<{ executionArn: string }> {
    const executionArn = this.executionArn(name);
    // Same name: the same execution, as StartExecution is idempotent for a running execution.
    if (this.executions.has(executionArn)) return { executionArn };
    const startDate = new Date();
    const controller = new AbortController();
    const context = {
      Execution: { Id: executionArn, Name: name, Input: input, StartTime: startDate.toISOString() },
      StateMachine: { Id: this.stateMachineArn, Name: LOCAL_STATE_MACHINE_NAME },
    };
    /** A limit the execution reached: it fails with this, whatever its Catch fields say. */
    let terminal: Error | undefined;
    /** When each Wait under way ends (its slices are Task attempts: the first one fixes the time). */
    const waitEnds = new Map<string, number>();
    const overrides: Record<string, (input: unknown) => Promise<unknown>> = {};
    for (const [stateName, state] of taskStates(this.definition)) {
      const call =
        state.Resource === ADAPTER_RESOURCE
          ? (mapInput: unknown) => this.runMap(stateName, mapInput, context, executionArn, controller.signal)
          : state.Resource === WAIT_RESOURCE
            ? (waitInput: unknown) => this.runWait(stateName, waitInput, context, waitEnds, controller.signal)
            : this.tracked(executionArn, this.handlerFor(state.Resource));
      // The limits are checked from the event log, a step behind the engine: let it catch up before a
      // Task starts, so nothing runs after the state that broke a limit (AWS would not start it). A Wait
      // runs nothing, and its next slice must start the moment the last one ends: it only checks.
      const waits = state.Resource === WAIT_RESOURCE;
      overrides[stateName] = async (taskInput) => {
        if (!waits) await new Promise((resolve) => setImmediate(resolve));
        if (terminal) throw terminal;
        return call(taskInput);
      };
    }
    const run = this.machine.run(input as never, {
      overrides: {
        taskResourceLocalHandlers: overrides as never,
        ...(this.options.retryIntervalOverrides
          ? { retryIntervalOverrides: this.options.retryIntervalOverrides }
          : {}),
      },
      context: context as never,
      noThrowOnAbort: true,
    });
    const execution = {
      executionArn,
      name,
      input,
      status: 'RUNNING' as ExecutionStatus,
      startDate,
      abort: () => {
        controller.abort();
        run.abort();
      },
    } as LocalExecution & { abort: () => void };
    const failWith = (error: Error) => {
      if (terminal || execution.status !== 'RUNNING') return;
      terminal = error;
      controller.abort();
      run.abort();
    };
    const watched = this.watch(run.eventLogs as AsyncIterable<EngineEvent>, failWith);
    // Past its time the execution times out (TIMED_OUT, States.Timeout), whatever state it is in.
    const timedOut = executionTimedOut(this.executionMs);
    const lifetime = atTime(startDate.getTime() + this.executionMs, () => failWith(timedOut));
    execution.done = run.result.then(
      async (output) => {
        lifetime.clear();
        await watched;
        if (terminal && execution.status === 'RUNNING') {
          execution.status = terminal === timedOut ? 'TIMED_OUT' : 'FAILED';
          execution.error = { Error: terminal.name, Cause: terminal.message };
        } else if (execution.status === 'RUNNING') {
          execution.status = output === null && controller.signal.aborted ? 'ABORTED' : 'SUCCEEDED';
          execution.output = output;
        }
        execution.stopDate = new Date();
        return execution;
      },
      async (raw: unknown) => {
        lifetime.clear();
        await watched;
        const error = terminal ?? unwrapExecutionError(raw);
        execution.status =
          controller.signal.aborted && !terminal ? 'ABORTED' : terminal === timedOut ? 'TIMED_OUT' : 'FAILED';
        execution.error = {
          Error: error.name,
          Cause: typeof error.cause === 'string' ? error.cause : error.message,
        };
        execution.stopDate = new Date();
        return execution;
      },
    );
    this.executions.set(executionArn, execution);
    const log = this.options.logger;
    log?.info('execution started', { execution: name });
    void execution.done.then((ended) => {
      const fields = {
        execution: name,
        status: ended.status,
        durationMs: (ended.stopDate ?? new Date()).getTime() - startDate.getTime(),
      };
      if (ended.status === 'FAILED' || ended.status === 'TIMED_OUT')
        log?.error('execution failed', { ...fields, error: ended.error?.Error, cause: ended.error?.Cause });
      else log?.info('execution ended', fields);
    });
    return { executionArn };
  }

  /**
   * Follows a Standard execution's events as AWS would write them to its history: every state's input and
   * output must fit the payload limit, and the history must stay under its event limit (the event that
   * would reach it is the ExecutionFailed event, with States.Runtime).
   */
  private async watch(events: AsyncIterable<EngineEvent>, fail: (error: Error) => void): Promise<void> {
    const { standardHistoryEvents: maxEvents, statePayloadBytes: maxBytes } = this.limits;
    const kindOf = (name: string) => (name in this.maps ? 'map' : name in this.waits ? 'wait' : undefined);
    let count = 0;
    for await (const event of events) {
      count += historyEventsOf(event, kindOf);
      const final = event.type.startsWith('Execution') && event.type !== 'ExecutionStarted';
      if (final) return;
      if (count >= maxEvents) {
        fail(historyFull(maxEvents));
        return;
      }
      const state = event.state;
      if (!state) continue;
      const payload =
        event.type === 'StateEntered'
          ? { what: `The input of state ${state.name}`, value: state.input }
          : event.type === 'StateExited'
            ? { what: `The output of state ${state.name}`, value: state.output }
            : undefined;
      if (!payload) continue;
      const bytes = Buffer.byteLength(JSON.stringify(payload.value ?? null));
      if (bytes > maxBytes) {
        fail(dataLimitExceeded(payload.what, bytes, maxBytes));
        return;
      }
    }
  }

  /**
   * One slice of a Wait state: until its end, or WAIT_SLICE_MS of it and then WAIT_GOES_ON, which the
   * state's Task retries at once. Its end is fixed by the first slice as Step Functions reads the fields:
   * Seconds or SecondsPath from the state's start, Timestamp or TimestampPath at that time (to the
   * millisecond, as the library did: AWS drops the milliseconds, which would start a send up to a second
   * before its sendAt); a test's waitTimeOverrides from the start too. Ends early only when the execution
   * does.
   */
  private async runWait(
    stateName: string,
    input: unknown,
    context: Record<string, unknown>,
    ends: Map<string, number>,
    signal: AbortSignal,
  ): Promise<unknown> {
    let end = ends.get(stateName);
    if (end === undefined) {
      end = waitEnd(
        this.waits[stateName] as StateDefinition,
        this.options.waitTimeOverrides?.[stateName],
        input,
        context,
      );
      ends.set(stateName, end);
    }
    const now = Date.now();
    if (end - now > WAIT_SLICE_MS) {
      await sleepUntil(now + WAIT_SLICE_MS, signal);
      throw new StatesError(WAIT_GOES_ON, `State ${stateName} waits on until ${new Date(end).toISOString()}`);
    }
    await sleepUntil(end, signal);
    ends.delete(stateName);
    return input;
  }

  private runMap(
    stateName: string,
    input: unknown,
    context: Record<string, unknown>,
    executionArn: string,
    signal: AbortSignal,
  ): Promise<unknown> {
    const child = this.children.get(stateName);
    if (!child) throw new Error(`No Distributed Map state ${stateName}`);
    const childOverrides = Object.fromEntries(
      child.tasks.map(([name, state]) => [name, this.tracked(executionArn, this.handlerFor(state.Resource))]),
    );
    return runDistributedMap(input, {
      stateName,
      state: this.maps[stateName] as StateDefinition,
      context,
      executionArn,
      s3: this.options.s3,
      signal,
      runChild: async (childInput) => {
        const { statePayloadBytes: maxBytes, expressExecutionMs } = this.limits;
        const inputBytes = knownJsonBytes(childInput) ?? Buffer.byteLength(measuredJson(childInput));
        if (inputBytes > maxBytes)
          throw dataLimitExceeded("The child execution's input", inputBytes, maxBytes);
        let libraryInput = childInput;
        let overrides = childOverrides;
        const items = (childInput as { Items?: unknown } | null)?.Items;
        if (child.itemsPassThrough && Array.isArray(items)) {
          // The Items pass the library as a placeholder; the Task's input gets the array back.
          const placeholder = `${ITEMS_PLACEHOLDER}${++placeholders}`;
          libraryInput = { ...(childInput as object), Items: placeholder };
          const restore = (taskInput: unknown) => {
            const fields = taskInput as Record<string, unknown> | null;
            return fields?.Items === placeholder ? { ...fields, Items: items } : taskInput;
          };
          overrides = Object.fromEntries(
            Object.entries(childOverrides).map(([name, handler]) => [
              name,
              (taskInput: unknown) => handler(restore(taskInput)),
            ]),
          );
        }
        const run = child.machine.run(libraryInput as never, {
          overrides: {
            taskResourceLocalHandlers: overrides as never,
            ...(this.options.retryIntervalOverrides
              ? { retryIntervalOverrides: this.options.retryIntervalOverrides }
              : {}),
          },
          noThrowOnAbort: true,
        });
        const onAbort = () => run.abort();
        signal.addEventListener('abort', onAbort, { once: true });
        // An EXPRESS child has its whole life, retries included; past it, AWS stops the child (its Lambda,
        // if one is running, goes on: so does the handler here).
        let timedOut = false;
        const timer = setTimeout(() => {
          timedOut = true;
          run.abort();
        }, expressExecutionMs);
        let output: unknown;
        try {
          output = await run.result;
        } catch (error) {
          throw unwrapExecutionError(error);
        } finally {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
        }
        if (timedOut) throw expressTimedOut(expressExecutionMs);
        const outputBytes = Buffer.byteLength(measuredJson(output));
        if (outputBytes > maxBytes)
          throw dataLimitExceeded("The child execution's output", outputBytes, maxBytes);
        return output;
      },
    });
  }

  async stop(executionArn: string, _cause: string): Promise<void> {
    const execution = this.executions.get(executionArn);
    if (execution?.status !== 'RUNNING') return;
    execution.status = 'ABORTED';
    execution.stopDate = new Date();
    execution.abort();
    await execution.done;
    await this.settled(executionArn);
  }

  /** Resolves when no task handler of the execution is running any more. */
  private async settled(executionArn: string): Promise<void> {
    for (let set = this.running.get(executionArn); set && set.size > 0; ) {
      await Promise.all([...set]);
    }
    this.running.delete(executionArn);
  }

  /** How many task handlers of the execution are running now (0 once `stop` has returned). */
  runningTasks(executionArn: string): number {
    return this.running.get(executionArn)?.size ?? 0;
  }

  async status(executionArn: string): Promise<ExecutionStatus> {
    const execution = this.executions.get(executionArn);
    if (!execution) throw new Error(`No execution ${executionArn}`);
    return execution.status;
  }

  consoleUrl(): undefined {
    return undefined;
  }

  /** Resolves when the execution has ended, whatever the outcome. */
  async wait(executionArn: string): Promise<LocalExecution> {
    const execution = this.executions.get(executionArn);
    if (!execution) throw new Error(`No execution ${executionArn}`);
    return execution.done;
  }

  list(): LocalExecution[] {
    return [...this.executions.values()];
  }

  /** Stops every running execution (used when the stack shuts down). */
  async stopAll(): Promise<void> {
    const running = [...this.executions.values()].filter((e) => e.status === 'RUNNING');
    for (const execution of running) execution.abort();
    await Promise.all(running.map((e) => e.done));
    await Promise.all(running.map((e) => this.settled(e.executionArn)));
  }
}

const RFC3339 =
  /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/;

/** When a Wait state that starts now ends, from its fields and its input, as Step Functions reads them. */
function waitEnd(
  state: StateDefinition,
  overrideMs: number | undefined,
  input: unknown,
  context: Record<string, unknown>,
): number {
  const now = Date.now();
  if (overrideMs !== undefined) return now + overrideMs;
  const read = (path: unknown) => compilePath(String(path))(input, context);
  const invalid = (what: string) =>
    new TerminalStatesError('States.Runtime', `The Wait state's ${what} is not valid`);
  if (state.Seconds !== undefined || state.SecondsPath !== undefined) {
    const seconds = state.Seconds !== undefined ? state.Seconds : read(state.SecondsPath);
    if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 0)
      throw invalid(`seconds (${JSON.stringify(seconds)})`);
    return now + seconds * 1000;
  }
  const timestamp = state.Timestamp !== undefined ? state.Timestamp : read(state.TimestampPath);
  if (typeof timestamp !== 'string' || !RFC3339.test(timestamp))
    throw invalid(`timestamp (${JSON.stringify(timestamp)})`);
  return Date.parse(timestamp);
}
