/**
 * What every deployed function shares: dependencies built once per container from the environment the
 * CDK stack sets. Built lazily so that importing a handler (in tests, in the bundle check) costs nothing.
 */
import { type AppDeps, createAppDeps } from '../core/app.ts';
import { configFromEnv } from '../core/config.ts';

let deps: AppDeps | undefined;

export function runtimeDeps(): AppDeps {
  deps ??= createAppDeps(configFromEnv());
  return deps;
}

/** A Lambda handler is a core function applied to the container's dependencies. */
export type TaskHandler = (event: unknown) => Promise<unknown>;
