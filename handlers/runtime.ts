/**
 * What every deployed function shares: dependencies built once per container from the environment the
 * CDK stack sets. Built lazily so that importing a handler (in tests, in the bundle check) costs nothing.
 */
import { type AppDeps, createAppDeps } from '../core/app.ts';
import { configFromEnv } from '../core/config.ts';

let deps: AppDeps | undefined;

export function runtimeDeps(): AppDeps {
  if (!deps) {
    deps = createAppDeps(configFromEnv());
    // Once per container: what this one runs with, beside the cold start in the function's log stream.
    const { config } = deps;
    deps.logger.info('container started', {
      function: process.env.AWS_LAMBDA_FUNCTION_NAME,
      sesTransport: config.sesTransport,
      dynamoTransport: config.dynamoTransport,
      maxInFlight: config.maxInFlight,
      maxWorkerRate: config.maxWorkerRate,
      logRecipients: config.logRecipients,
    });
  }
  return deps;
}

/** A Lambda handler is a core function applied to the container's dependencies. */
export type TaskHandler = (event: unknown) => Promise<unknown>;
