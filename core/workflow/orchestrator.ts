/** Starting and stopping campaign executions: Step Functions on AWS, the local engine on one machine. */
import {
  DescribeExecutionCommand,
  type SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { ExecutionInput } from '../schemas.ts';

export type ExecutionStatus =
  | 'RUNNING'
  | 'SUCCEEDED'
  | 'FAILED'
  | 'TIMED_OUT'
  | 'ABORTED'
  | 'PENDING_REDRIVE';

export interface Orchestrator {
  start(name: string, input: ExecutionInput): Promise<{ executionArn: string }>;
  stop(executionArn: string, cause: string): Promise<void>;
  status(executionArn: string): Promise<ExecutionStatus>;
  /** Console link for people, when there is a console. */
  consoleUrl(executionArn: string): string | undefined;
}

export class StepFunctionsOrchestrator implements Orchestrator {
  constructor(
    private readonly sfn: SFNClient,
    private readonly stateMachineArn: string,
    private readonly region: string,
  ) {}

  async start(name: string, input: ExecutionInput) {
    try {
      const out = await this.sfn.send(
        new StartExecutionCommand({
          stateMachineArn: this.stateMachineArn,
          name,
          input: JSON.stringify(input),
        }),
      );
      return { executionArn: out.executionArn as string };
    } catch (error) {
      // Same name and same input: Step Functions treats the start as idempotent and we do too.
      if ((error as Error).name === 'ExecutionAlreadyExists') {
        const arn = this.stateMachineArn.replace(':stateMachine:', ':execution:') + `:${name}`;
        return { executionArn: arn };
      }
      throw error;
    }
  }

  async stop(executionArn: string, cause: string) {
    await this.sfn.send(new StopExecutionCommand({ executionArn, cause: cause.slice(0, 32_768) }));
  }

  async status(executionArn: string) {
    const out = await this.sfn.send(new DescribeExecutionCommand({ executionArn }));
    return out.status as ExecutionStatus;
  }

  consoleUrl(executionArn: string) {
    return `https://${this.region}.console.aws.amazon.com/states/home?region=${this.region}#/v2/executions/details/${executionArn}`;
  }
}
