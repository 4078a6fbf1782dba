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
import type { TaskHandler } from '../handlers/runtime.ts';
import {
  ADAPTER_RESOURCE,
  LOCAL_ACCOUNT,
  LOCAL_REGION,
  loadDefinition,
  localFunctionArn,
  type MachineDefinition,
  rewriteDistributedMaps,
  type StateDefinition,
} from './asl.ts';
import { runDistributedMap, validateDistributedMap } from './distributed-map.ts';
import {
  DEFAULT_LOCAL_LIMITS,
  dataLimitExceeded,
  type EngineEvent,
  expressTimedOut,
  historyEventsOf,
  historyFull,
  type LocalLimits,
  responseTooLarge,
  unwrapExecutionError,
} from './limits.ts';

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
  /** Shortens named Wait states (milliseconds), for tests; a real run waits for real. */
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
function asLambda(handler: TaskHandler, limits: LocalLimits): (input: unknown) => Promise<unknown> {
  return async (input) => {
    const request = JSON.stringify(input ?? null);
    const requestBytes = Buffer.byteLength(request);
    if (requestBytes > limits.statePayloadBytes)
      throw dataLimitExceeded("The task's input", requestBytes, limits.statePayloadBytes);
    let output: unknown;
    try {
      output = await handler(JSON.parse(request));
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
    const text = JSON.stringify(output ?? null);
    const bytes = Buffer.byteLength(text);
    if (bytes > limits.lambdaResponseBytes) throw responseTooLarge(limits.lambdaResponseBytes);
    if (bytes > limits.statePayloadBytes)
      throw dataLimitExceeded("The task's result", bytes, limits.statePayloadBytes);
    return JSON.parse(text);
  };
}

function taskStates(definition: { States: Record<string, StateDefinition> }): [string, StateDefinition][] {
  return Object.entries(definition.States).filter(([, state]) => state.Type === 'Task');
}

export class LocalEngine implements Orchestrator {
  readonly stateMachineArn =
    `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${LOCAL_STATE_MACHINE_NAME}`;
  readonly definition: MachineDefinition;
  readonly limits: LocalLimits;
  private readonly maps: Record<string, StateDefinition>;
  private readonly machine: StateMachine;
  private readonly children = new Map<
    string,
    { machine: StateMachine; tasks: [string, StateDefinition][] }
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
    const { definition, maps } = rewriteDistributedMaps(raw);
    this.definition = definition;
    this.maps = maps;
    this.machine = new StateMachine(definition as never);
    for (const [name, state] of Object.entries(maps)) {
      validateDistributedMap(name, state);
      const processor = state.ItemProcessor as { StartAt: string; States: Record<string, StateDefinition> };
      const childDefinition = { StartAt: processor.StartAt, States: processor.States };
      this.children.set(name, {
        machine: new StateMachine(childDefinition as never),
        tasks: taskStates(childDefinition),
      });
    }
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
    const overrides: Record<string, (input: unknown) => Promise<unknown>> = {};
    for (const [stateName, state] of taskStates(this.definition)) {
      const call =
        state.Resource === ADAPTER_RESOURCE
          ? (mapInput: unknown) => this.runMap(stateName, mapInput, context, executionArn, controller.signal)
          : this.tracked(executionArn, this.handlerFor(state.Resource));
      // The limits are checked from the event log, a step behind the engine: let it catch up before a
      // Task starts, so nothing runs after the state that broke a limit (AWS would not start it).
      overrides[stateName] = async (taskInput) => {
        await new Promise((resolve) => setImmediate(resolve));
        if (terminal) throw terminal;
        return call(taskInput);
      };
    }
    const run = this.machine.run(input as never, {
      overrides: {
        taskResourceLocalHandlers: overrides as never,
        ...(this.options.waitTimeOverrides ? { waitTimeOverrides: this.options.waitTimeOverrides } : {}),
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
    execution.done = run.result.then(
      async (output) => {
        await watched;
        if (terminal && execution.status === 'RUNNING') {
          execution.status = 'FAILED';
          execution.error = { Error: terminal.name, Cause: terminal.message };
        } else if (execution.status === 'RUNNING') {
          execution.status = output === null && controller.signal.aborted ? 'ABORTED' : 'SUCCEEDED';
          execution.output = output;
        }
        execution.stopDate = new Date();
        return execution;
      },
      async (raw: unknown) => {
        await watched;
        const error = terminal ?? unwrapExecutionError(raw);
        execution.status = controller.signal.aborted && !terminal ? 'ABORTED' : 'FAILED';
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
      if (ended.status === 'FAILED')
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
    const isMap = (name: string) => name in this.maps;
    let count = 0;
    for await (const event of events) {
      count += historyEventsOf(event, isMap);
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
        const inputBytes = Buffer.byteLength(JSON.stringify(childInput ?? null));
        if (inputBytes > maxBytes)
          throw dataLimitExceeded("The child execution's input", inputBytes, maxBytes);
        const run = child.machine.run(childInput as never, {
          overrides: {
            taskResourceLocalHandlers: childOverrides as never,
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
        const outputBytes = Buffer.byteLength(JSON.stringify(output ?? null));
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
