/**
 * The campaign workflow: statemachines/campaign.asl.json as it is, its `${...FunctionArn}` placeholders
 * filled with the functions built from handlers/index.ts. A file-based definition gets no generated IAM,
 * so every permission the definition needs is granted here, by name:
 * - invoke the four task functions;
 * - start its own Distributed Map children, and describe, stop and redrive them (the console's "Redrive"
 *   of a failed Map Run restarts its failed children as the state machine's role);
 * - read the prepared recipients file (ItemReader) and write the Map results (ResultWriter, which also
 *   reads back what it wrote: s3:GetObject, as AWS's policy for ResultWriter lists).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArnFormat, Aws, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { PARTITION_PLACEHOLDER } from '../../core/aws/hosts.ts';
import { keys } from '../../core/config.ts';
import type { TaskFunctionName } from '../../handlers/index.ts';
import { acknowledge, wildcardFindings } from '../nag.ts';
import { REPO_ROOT } from './function.ts';

export const ASL_PATH = join(REPO_ROOT, 'statemachines', 'campaign.asl.json');

/** Every Task state of the ASL file, by name, with its Resource placeholder and TimeoutSeconds. */
export function aslTaskStates(
  asl: unknown = JSON.parse(readFileSync(ASL_PATH, 'utf8')),
): { name: string; resource: string; timeoutSeconds: number | undefined }[] {
  const found: { name: string; resource: string; timeoutSeconds: number | undefined }[] = [];
  const visit = (states: Record<string, Record<string, unknown>>) => {
    for (const [name, state] of Object.entries(states)) {
      if (state.Type === 'Task') {
        found.push({
          name,
          resource: String(state.Resource),
          timeoutSeconds: state.TimeoutSeconds as number | undefined,
        });
      }
      const nested = (state.ItemProcessor ?? state.Iterator) as
        | { States: Record<string, Record<string, unknown>> }
        | undefined;
      if (nested) visit(nested.States);
      for (const branch of (state.Branches ?? []) as { States: Record<string, Record<string, unknown>> }[])
        visit(branch.States);
    }
  };
  visit((asl as { States: Record<string, Record<string, unknown>> }).States);
  return found;
}

/** The shortest TimeoutSeconds among the Task states that call the function with this placeholder. */
export function aslTaskTimeoutSeconds(name: TaskFunctionName): number {
  const timeouts = aslTaskStates()
    .filter((task) => task.resource === `\${${name}}`)
    .map((task) => task.timeoutSeconds);
  if (timeouts.length === 0 || timeouts.some((t) => t === undefined)) {
    throw new Error(`Every Task state calling \${${name}} needs a TimeoutSeconds in ${ASL_PATH}.`);
  }
  return Math.min(...(timeouts as number[]));
}

export interface CampaignWorkflowProps {
  /** Physical name, fixed so that IAM and environment variables can name it without a dependency cycle. */
  stateMachineName: string;
  functions: Record<TaskFunctionName, lambda.IFunction>;
  bucket: s3.IBucket;
  logLevel: 'ALL' | 'ERROR' | 'FATAL' | 'OFF';
  logRetention: logs.RetentionDays;
  /** Keep the execution log group when the stack is deleted (the deployment's `retainData`). */
  retainData: boolean;
}

export class CampaignWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly stateMachineArn: string;
  readonly logGroup?: logs.LogGroup;

  constructor(scope: Construct, id: string, props: CampaignWorkflowProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.stateMachineArn = CampaignWorkflow.arnFor(stack, props.stateMachineName);
    const executionsArn = stack.formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${props.stateMachineName}/*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });

    const logGroup =
      props.logLevel === 'OFF'
        ? undefined
        : new logs.LogGroup(this, 'Logs', {
            logGroupName: CampaignWorkflow.logGroupNameFor(props.stateMachineName),
            retention: props.logRetention,
            removalPolicy: props.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
          });
    this.logGroup = logGroup;

    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: 'The campaign state machine: its task functions, its Map children, its S3 files',
    });
    const policy = new iam.Policy(this, 'Policy', {
      statements: [
        new iam.PolicyStatement({
          sid: 'InvokeTaskFunctions',
          actions: ['lambda:InvokeFunction'],
          resources: Object.values(props.functions).map((fn) => fn.functionArn),
        }),
        new iam.PolicyStatement({
          sid: 'StartMapChildren',
          actions: ['states:StartExecution'],
          resources: [this.stateMachineArn],
        }),
        new iam.PolicyStatement({
          sid: 'ManageMapChildren',
          actions: ['states:DescribeExecution', 'states:StopExecution', 'states:RedriveExecution'],
          resources: [executionsArn],
        }),
        new iam.PolicyStatement({
          sid: 'ReadPreparedRecipients',
          actions: ['s3:GetObject'],
          resources: [
            props.bucket.arnForObjects(keys.prepared('*')),
            props.bucket.arnForObjects(keys.sample('*')),
            props.bucket.arnForObjects(keys.remainder('*')),
          ],
        }),
        new iam.PolicyStatement({
          sid: 'WriteMapResults',
          actions: ['s3:PutObject', 's3:GetObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
          resources: [props.bucket.arnForObjects(`${keys.results('*')}/*`)],
        }),
      ],
    });
    role.attachInlinePolicy(policy);
    acknowledge(policy, [
      ...wildcardFindings(this, [
        props.bucket.arnForObjects(keys.prepared('*')),
        props.bucket.arnForObjects(keys.sample('*')),
        props.bucket.arnForObjects(keys.remainder('*')),
      ]).map((id) => ({
        id,
        reason:
          "ItemReader reads the prepared file (and an A/B test's sample and remainder) of whichever campaign runs; only those keys of each campaign.",
      })),
      ...wildcardFindings(this, [props.bucket.arnForObjects(`${keys.results('*')}/*`)]).map((id) => ({
        id,
        reason: "ResultWriter writes under each campaign's results prefix, with names Step Functions picks.",
      })),
      ...wildcardFindings(this, [executionsArn]).map((id) => ({
        id,
        reason:
          "The Distributed Map's child executions, named by Step Functions at run time (AWS documents this grant).",
      })),
    ]);

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: props.stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromFile(ASL_PATH),
      definitionSubstitutions: {
        ...Object.fromEntries(Object.entries(props.functions).map(([name, fn]) => [name, fn.functionArn])),
        // Service integration ARNs (ItemReader, ResultWriter) in whichever partition the stack lands.
        [PARTITION_PLACEHOLDER]: Aws.PARTITION,
      },
      role,
      tracingEnabled: true,
      ...(logGroup
        ? {
            logs: {
              destination: logGroup,
              level: sfn.LogLevel[props.logLevel],
              // Execution data holds recipients' addresses and variables: keep it out of the logs.
              includeExecutionData: false,
            },
          }
        : {}),
    });
    // The definition only becomes valid once the role may do what it says.
    this.stateMachine.node.addDependency(policy);
    acknowledge(role, [
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Added by CDK for logging and tracing: the CloudWatch Logs delivery actions (logs:*LogDelivery, ' +
          'PutResourcePolicy, DescribeResourcePolicies, DescribeLogGroups) and X-Ray PutTraceSegments/' +
          'PutTelemetryRecords/GetSampling* support no resource-level permission; AWS requires "*".',
      },
    ]);
    if (props.logLevel !== 'ALL') {
      acknowledge(this.stateMachine, [
        {
          id: 'AwsSolutions-SF1',
          reason:
            `Logs at ${props.logLevel} by default: every execution's full history is in the Step Functions console, ` +
            'and ALL would add CloudWatch Logs ingestion for every state transition. Deploy with -c logLevel=ALL for it.',
        },
      ]);
    }
  }

  /**
   * Under /aws/vendedlogs/ (Step Functions then keeps the log resource policy small), and unique to this
   * stack's creation: the group may outlive the stack (retainData), and a fixed name would make every
   * later deploy of a stack with the same name fail with "already exists". The stack id's UUID changes
   * with each create, and stays put across updates.
   */
  static logGroupNameFor(stateMachineName: string): string {
    const stackUuid = Fn.select(2, Fn.split('/', Aws.STACK_ID));
    return `/aws/vendedlogs/states/${stateMachineName}-${stackUuid}`;
  }

  static arnFor(stack: Stack, stateMachineName: string): string {
    return stack.formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: stateMachineName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  }
}
