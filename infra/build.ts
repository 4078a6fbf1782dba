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
    // Account and region come from the deploying credentials; without them synth is environment-agnostic.
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
  addNagChecks(app);
  return { app, stack };
}
