/**
 * Builds the CDK app: the stack with its parameters read from CDK context (infra/params.ts), and
 * cdk-nag's AwsSolutions checks, which run on every synth. infra/app.ts synthesizes it; tests build it
 * with their own context.
 */
import { App, type AppProps } from 'aws-cdk-lib';
import { addNagChecks } from './nag.ts';
import { paramsFromContext } from './params.ts';
import { SixbackStack } from './stack.ts';

export function buildApp(props: AppProps = {}): { app: App; stack: SixbackStack } {
  const app = new App(props);
  const params = paramsFromContext((key) => app.node.tryGetContext(key));
  const stackName = (app.node.tryGetContext('stackName') as string | undefined) ?? 'sixback';
  const stack = new SixbackStack(app, stackName, {
    params,
    description: 'sixback: bulk email campaigns on Step Functions Distributed Map and SES',
    // No env, on purpose: the stack is environment-agnostic, its ARNs built from the AWS::Region,
    // AWS::AccountId and AWS::Partition of wherever CloudFormation deploys it. Taking the CLI's
    // CDK_DEFAULT_REGION here would bake us-east-1 (the CLI's fallback when no region is configured) into
    // every ARN, and an assembly deployed elsewhere would be denied SendEmail and StartExecution.
  });
  addNagChecks(app);
  return { app, stack };
}
