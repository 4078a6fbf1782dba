/** Reading a synthesized CloudFormation template in the infra tests. */

/**
 * CloudFormation intrinsics as readable text, e.g. `<AWS::Partition>`, `<StorageBucket.Arn>/images/*` or
 * `<select 1 of <split <Queue.Arn> on :>>`; anything else as its JSON.
 */
export function flat(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, unknown>;
  if (v.Ref) return `<${v.Ref}>`;
  if (v['Fn::GetAtt']) return `<${(v['Fn::GetAtt'] as string[]).join('.')}>`;
  if (v['Fn::Join']) {
    const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map(flat).join(sep);
  }
  if (v['Fn::Select']) {
    const [index, list] = v['Fn::Select'] as [number, unknown];
    return `<select ${index} of ${flat(list)}>`;
  }
  if (v['Fn::Split']) {
    const [sep, source] = v['Fn::Split'] as [string, unknown];
    return `<split ${flat(source)} on ${sep}>`;
  }
  return JSON.stringify(value);
}
