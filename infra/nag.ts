/**
 * cdk-nag (AwsSolutions, cdk-nag v3 on CDK's Validations API). Findings are fixed where they can be;
 * those that stay are acknowledged one by one, next to the resource they concern, with the reason.
 * IAM wildcard findings (AwsSolutions-IAM5) are acknowledged per exact finding, so a new wildcard
 * still fails the checks.
 */
import { type App, Stack, Validations } from 'aws-cdk-lib';
// cdk-nag is CommonJS whose exports Node's ESM loader cannot detect: take them from the default export.
import cdkNag from 'cdk-nag';
// The flattening cdk-nag applies to a resource before reporting it, so acknowledgments match exactly.
import flattenModule from 'cdk-nag/lib/utils/flatten-cfn-reference.js';
import type { IConstruct } from 'constructs';

export const { AwsSolutionsChecks } = cdkNag;

export function addNagChecks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
}

export interface NagAcknowledgment {
  id: string;
  reason: string;
}

export function acknowledge(scope: IConstruct, acknowledgments: NagAcknowledgment[]): void {
  Validations.of(scope).acknowledge(...acknowledgments);
}

/**
 * The AwsSolutions-IAM5 finding id for each resource that holds a wildcard (a key pattern such as
 * `campaigns/ * /report.csv`, an execution ARN suffix, or "*"), as cdk-nag will report it.
 */
export function wildcardFindings(scope: IConstruct, resources: string[]): string[] {
  const stack = Stack.of(scope);
  return resources
    .map((resource) => flattenModule.flattenCfnReference(stack.resolve(resource)))
    .filter((flat) => flat.includes('*'))
    .map((flat) => `AwsSolutions-IAM5[Resource::${flat}]`);
}
