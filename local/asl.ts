/**
 * Loading the campaign ASL file for the local engine: the same file CDK deploys, with its `${...}`
 * placeholders replaced by ARN-shaped local names, and each Distributed Map state handed to the adapter.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PARTITION_PLACEHOLDER } from '../core/aws/hosts.ts';

export const ASL_PATH = fileURLToPath(new URL('../statemachines/campaign.asl.json', import.meta.url));

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '000000000000';
export const localFunctionArn = (name: string) =>
  `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:sixback-${name}`;
export const ADAPTER_RESOURCE = localFunctionArn('local-distributed-map');

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
