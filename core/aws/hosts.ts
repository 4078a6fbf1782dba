/**
 * Where an AWS service answers in a region, for the few calls sixback makes without the SDK (the thin
 * signed transports and the secret lookup). The SDK knows the partitions; these calls must too: the China
 * regions (partition aws-cn, which the stack targets) are under amazonaws.com.cn, every other commercial
 * and GovCloud region under amazonaws.com.
 */
export function awsDnsSuffix(region: string): string {
  return region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
}

/** `<service>.<region>.<suffix>`, e.g. dynamodb.eu-west-1.amazonaws.com or dynamodb.cn-north-1.amazonaws.com.cn. */
export function awsServiceHost(service: string, region: string): string {
  return `${service}.${region}.${awsDnsSuffix(region)}`;
}

/**
 * The ASL file names its service integrations' partition with this placeholder (arn:${Partition}:states:::
 * s3:getObject): CDK fills in AWS::Partition, so the same file runs in aws and aws-cn; locally it is aws.
 */
export const PARTITION_PLACEHOLDER = 'Partition';
