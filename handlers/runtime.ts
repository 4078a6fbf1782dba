/**
 * What every deployed function shares: dependencies built once per container from the environment the
 * CDK stack sets, and X-Ray tracing of each invocation. Built lazily, on the first invocation, so that
 * importing a handler (the local stack, the tests, the bundle check) costs nothing: Powertools' Tracer
 * (and the X-Ray SDK under it) is only loaded there.
 */
import { type AppDeps, createAppDeps } from '../core/app.ts';
import { resolveLogKey } from '../core/aws/secret.ts';
import { configFromEnv } from '../core/config.ts';
import type { LambdaContext } from '../core/logging.ts';

/** A Lambda handler is a core function applied to the container's dependencies. */
export type TaskHandler = (event: unknown) => Promise<unknown>;

/**
 * A task handler that can also be called as Lambda's runtime calls a function: the event as JSON text in,
 * the result's JSON text (`JSON.stringify(result ?? null)`) out. The local sender pool's is one: its text
 * crosses to a worker thread as one string, where an object would be cloned member by member twice.
 */
export type JsonTaskHandler = TaskHandler & { json?: (request: string) => Promise<string> };

/** An X-Ray segment or subsegment, as the handlers use it. */
export interface TraceSegment {
  addNewSubsegment(name: string): TraceSegment;
  close(): void;
}

/** The part of Powertools' Tracer the handlers use (tests pass a recording stand-in). */
export interface HandlerTracer {
  isTracingEnabled(): boolean;
  getSegment(): TraceSegment | undefined;
  setSegment(segment: TraceSegment): void;
  annotateColdStart(): void;
  addServiceNameAnnotation(): void;
  addErrorAsMetadata(error: Error): void;
  captureAWSv3Client<T>(client: T): T;
}

/**
 * Powertools' `captureLambdaHandler` without middy: each invocation in a subsegment `## <name>` annotated
 * with ColdStart and Service, an error recorded on it. The response is not recorded (Powertools does by
 * default): it can name recipients (suppressed addresses). With tracing off (outside Lambda, or
 * POWERTOOLS_TRACE_ENABLED=false) the handler is called as it is.
 */
export function traced<E, C, R>(
  tracer: HandlerTracer,
  name: string,
  handler: (event: E, context?: C) => Promise<R>,
): (event: E, context?: C) => Promise<R> {
  return async (event, context) => {
    const segment = tracer.isTracingEnabled() ? tracer.getSegment() : undefined;
    if (!segment) return handler(event, context);
    const subsegment = segment.addNewSubsegment(`## ${name}`);
    tracer.setSegment(subsegment);
    tracer.annotateColdStart();
    tracer.addServiceNameAnnotation();
    try {
      return await handler(event, context);
    } catch (error) {
      tracer.addErrorAsMetadata(error as Error);
      throw error;
    } finally {
      subsegment.close();
      tracer.setSegment(segment);
    }
  };
}

let runtime: Promise<{ deps: AppDeps; tracer: HandlerTracer }> | undefined;

/** The container's tracer and dependencies, the AWS clients captured by the tracer. */
export function lambdaRuntime(): Promise<{ deps: AppDeps; tracer: HandlerTracer }> {
  if (runtime) return runtime;
  const building = (async () => {
    const { Tracer } = await import('@aws-lambda-powertools/tracer');
    // Disabled by the library itself outside Lambda and with POWERTOOLS_TRACE_ENABLED=false. HTTP capture
    // is off: the thin SES and DynamoDB transports would put a subsegment on every email sent.
    const tracer = new Tracer({ serviceName: 'sixback', captureHTTPsRequests: false });
    const deps = createAppDeps(configFromEnv(), { tracer });
    const { config } = deps;
    // The deployment's key of the address pseudonyms, before the first line: until it is set the logger
    // redacts addresses (an unkeyed hash is no pseudonym).
    if (!deps.logKey.known) {
      const key = await resolveLogKey(config);
      if (key) deps.logKey.set(key);
    }
    // Once per container: what this one runs with, beside the cold start in the function's log stream.
    deps.logger.info('container started', {
      function: process.env.AWS_LAMBDA_FUNCTION_NAME,
      sesTransport: config.sesTransport,
      dynamoTransport: config.dynamoTransport,
      maxInFlight: config.maxInFlight,
      maxWorkerRate: config.maxWorkerRate,
      logRecipients: config.logRecipients,
    });
    return { tracer, deps };
  })();
  runtime = building;
  // A configuration that did not build is read again by the next invocation.
  building.catch(() => {
    if (runtime === building) runtime = undefined;
  });
  return building;
}

/**
 * The exported `handler` of a function: `create` applied once to the container's dependencies, each
 * invocation traced. A failure to build (a missing setting) is retried on the next invocation.
 */
export function lambdaHandler<E, C, R>(
  name: string,
  create: (deps: AppDeps) => (event: E, context?: C) => Promise<R>,
): (event: E, context?: C) => Promise<R> {
  let ready: Promise<(event: E, context?: C) => Promise<R>> | undefined;
  return async (event, context) => {
    ready ??= lambdaRuntime().then(({ deps, tracer }) => {
      const run = traced(tracer, name, create(deps));
      return (event: E, context?: C) => {
        // Lambda's context names the invocation: its request id joins every line logged from here on.
        if (context && typeof context === 'object' && 'awsRequestId' in context)
          deps.logger.addContext?.(context as unknown as LambdaContext);
        return run(event, context);
      };
    });
    const attempt = ready;
    let handler: (event: E, context?: C) => Promise<R>;
    try {
      handler = await attempt;
    } catch (error) {
      if (ready === attempt) ready = undefined;
      throw error;
    }
    return handler(event, context);
  };
}
