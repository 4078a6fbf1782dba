/**
 * Loading the campaign ASL file for the local engine: the same file CDK deploys, with its `${...}`
 * placeholders replaced by ARN-shaped local names, and each Distributed Map state handed to the adapter.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PARTITION_PLACEHOLDER } from '../core/aws/hosts.ts';
import { UnsupportedAslError } from '../core/errors.ts';
import { MAX_TIMER_MS } from './timers.ts';

export const ASL_PATH = fileURLToPath(new URL('../statemachines/campaign.asl.json', import.meta.url));

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '000000000000';
export const localFunctionArn = (name: string) =>
  `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:sixback-${name}`;
export const ADAPTER_RESOURCE = localFunctionArn('local-distributed-map');
export const WAIT_RESOURCE = localFunctionArn('local-wait');
/** What a Wait's slice throws when time is left: its Task retries at once and waits on (rewriteWaits). */
export const WAIT_GOES_ON = 'Local.WaitGoesOn';
/**
 * The longest slice of a Wait: under the Task timeout the engine gives a rewritten Wait, itself under the
 * 2^31-1 ms its timers hold.
 */
export const WAIT_SLICE_MS = 20 * 24 * 3600 * 1000;
const WAIT_TASK_TIMEOUT_SECONDS = 2_000_000;

export const LOCAL_PARTITION = 'aws';

export type StateDefinition = Record<string, unknown> & { Type: string };
export interface MachineDefinition {
  Comment?: string;
  StartAt: string;
  States: Record<string, StateDefinition>;
  [key: string]: unknown;
}

/** Replaces every `${Name}` with the value `resolve(Name)` gives. Unknown names are an error. */
export function substitute(text: string, resolve: (name: string) => string | undefined): string {
  return text.replace(/\$\{([A-Za-z0-9_]+)\}/g, (_, name: string) => {
    const value = resolve(name);
    if (value === undefined)
      throw new Error(`The ASL file uses \${${name}}, which the local engine does not define`);
    return value;
  });
}

export function loadDefinition(
  resolve: (name: string) => string | undefined,
  path = ASL_PATH,
): MachineDefinition {
  const resolveAll = (name: string) => (name === PARTITION_PLACEHOLDER ? LOCAL_PARTITION : resolve(name));
  return JSON.parse(substitute(readFileSync(path, 'utf8'), resolveAll)) as MachineDefinition;
}

export function isDistributedMap(state: StateDefinition): boolean {
  const processor = (state.ItemProcessor ?? {}) as { ProcessorConfig?: { Mode?: string } };
  return state.Type === 'Map' && processor.ProcessorConfig?.Mode === 'DISTRIBUTED';
}

/** Fields of a Map state that the engine itself applies once the state runs as a Task. */
export const ENGINE_FIELDS = [
  'InputPath',
  'ResultPath',
  'ResultSelector',
  'OutputPath',
  'Retry',
  'Catch',
  'Next',
  'End',
  'Comment',
];

/**
 * Returns a copy of the definition in which each Distributed Map state is a Task run by the adapter,
 * keeping the fields the engine applies the same way for both (paths, Retry, Catch, transitions).
 */
export function rewriteDistributedMaps(definition: MachineDefinition): {
  definition: MachineDefinition;
  maps: Record<string, StateDefinition>;
} {
  const maps: Record<string, StateDefinition> = {};
  const States: Record<string, StateDefinition> = {};
  for (const [name, state] of Object.entries(definition.States)) {
    if (!isDistributedMap(state)) {
      States[name] = state;
      continue;
    }
    maps[name] = state;
    const task: StateDefinition = { Type: 'Task', Resource: ADAPTER_RESOURCE };
    for (const field of ENGINE_FIELDS) if (state[field] !== undefined) task[field] = state[field];
    // The engine's own timer overflows past 2^31 ms; the Map is bounded by its children's timeouts anyway.
    task.TimeoutSeconds = 2_000_000;
    States[name] = task;
  }
  return { definition: { ...definition, States }, maps };
}

/** The fields of a Wait state the engine applies itself once the state runs as a Task. */
const WAIT_ENGINE_FIELDS = ['InputPath', 'OutputPath', 'Next', 'End', 'Comment'];

/**
 * Returns a copy of the definition in which each Wait state is a Task the engine runs (local/engine.ts),
 * and the Wait states themselves. aws-local-stepfunctions sleeps a Wait with one Node timer, which fires
 * at once past 2^31-1 ms (24.8 days): a campaign scheduled a month ahead would start straight away. The
 * engine waits instead, in slices of at most WAIT_SLICE_MS: a slice that leaves time throws WAIT_GOES_ON,
 * which the Task retries at once, so each slice stays under the Task timeout (itself one Node timer). The
 * history counts it as the one Wait it stands for. The top-level TimeoutSeconds is the engine's to keep
 * too (the library would also hold it in one timer): it is returned and taken off the definition.
 */
export function rewriteWaits(definition: MachineDefinition): {
  definition: MachineDefinition;
  waits: Record<string, StateDefinition>;
  timeoutSeconds: number | undefined;
} {
  const waits: Record<string, StateDefinition> = {};
  const States: Record<string, StateDefinition> = {};
  for (const [name, state] of Object.entries(definition.States)) {
    if (state.Type === 'Task') assertTimerFits(name, state.TimeoutSeconds);
    if (state.Type !== 'Wait') {
      States[name] = state;
      continue;
    }
    waits[name] = state;
    const task: StateDefinition = {
      Type: 'Task',
      Resource: WAIT_RESOURCE,
      TimeoutSeconds: WAIT_TASK_TIMEOUT_SECONDS,
      Retry: [{ ErrorEquals: [WAIT_GOES_ON], IntervalSeconds: 0, MaxAttempts: 1000, BackoffRate: 1 }],
    };
    for (const field of WAIT_ENGINE_FIELDS) if (state[field] !== undefined) task[field] = state[field];
    States[name] = task;
  }
  const { TimeoutSeconds, ...rest } = definition;
  return {
    definition: { ...rest, States },
    waits,
    timeoutSeconds: typeof TimeoutSeconds === 'number' ? TimeoutSeconds : undefined,
  };
}

/** A Task timeout the engine's one timer cannot hold would fire at once: refused rather than run so. */
function assertTimerFits(name: string, timeoutSeconds: unknown) {
  if (typeof timeoutSeconds === 'number' && timeoutSeconds * 1000 > MAX_TIMER_MS)
    throw new UnsupportedAslError(
      `State ${name}: a TimeoutSeconds of ${timeoutSeconds} is longer than the local engine's timers hold (${Math.floor(MAX_TIMER_MS / 1000)} s)`,
    );
}
