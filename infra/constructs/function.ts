/**
 * The one way sixback builds a Lambda function: Node 24 on ARM64, the handler file bundled by esbuild
 * (infra/bundling.ts: ESM, minified, source maps, the pinned AWS SDK inside), its own log group with a bounded
 * retention, and its own role that starts with nothing but writing to that log group. Every other
 * permission is granted by the construct that knows why the function needs it.
 */
import { join } from 'node:path';
import { type Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { BUNDLING, NODE_MAJOR, REPO_ROOT } from '../bundling.ts';
import { acknowledge } from '../nag.ts';

export { REPO_ROOT } from '../bundling.ts';

export const RUNTIME = lambda.Runtime.NODEJS_24_X;
if (RUNTIME.name !== `nodejs${NODE_MAJOR}.x`) {
  throw new Error(`infra/bundling.ts targets Node ${NODE_MAJOR} but the functions run ${RUNTIME.name}.`);
}

export interface SixbackFunctionProps {
  /** Handler file, relative to the repository root (e.g. handlers/send-batch.ts); it exports `handler`. */
  entry: string;
  description: string;
  environment: Record<string, string>;
  memorySize: number;
  timeout: Duration;
  logRetention: logs.RetentionDays;
}

export class SixbackFunction extends NodejsFunction {
  /** The handler file, relative to the repository root. */
  readonly entry: string;

  constructor(scope: Construct, id: string, props: SixbackFunctionProps) {
    const logScope = new Construct(scope, `${id}Logging`);
    const logGroup = new logs.LogGroup(logScope, 'LogGroup', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new iam.Role(logScope, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${id}: writes its own log group; other grants are added by its users`,
    });
    logGroup.grantWrite(role);
    super(scope, id, {
      entry: join(REPO_ROOT, props.entry),
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      description: props.description,
      runtime: RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      // Stack traces point into the TypeScript sources through the bundle's source map.
      environment: { ...props.environment, NODE_OPTIONS: '--enable-source-maps' },
      logGroup,
      // Plain text: the SES events function writes CloudWatch embedded-metric (EMF) lines straight to
      // stdout (core/aws/metrics.ts), which CloudWatch extracts as they are.
      loggingFormat: lambda.LoggingFormat.TEXT,
      // X-Ray: each invocation (handlers/runtime.ts) and the AWS SDK clients' calls (core/aws/clients.ts).
      tracing: lambda.Tracing.ACTIVE,
      role,
      bundling: {
        format: OutputFormat.ESM,
        target: BUNDLING.target,
        minify: BUNDLING.minify,
        sourceMap: BUNDLING.sourceMap,
        sourcesContent: BUNDLING.sourcesContent,
        mainFields: [...BUNDLING.mainFields],
        banner: BUNDLING.banner,
        externalModules: [...BUNDLING.externalModules],
      },
    });
    this.entry = props.entry;
    acknowledge(role, [
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Added by CDK for active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no ' +
          'resource-level permission; AWS requires "*".',
      },
    ]);
  }
}
