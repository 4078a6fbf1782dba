/**
 * Contract tests of the CDK stack: what the deployed system must do, asserted on the synthesized
 * template. One synth for the whole file (importing aws-cdk-lib alone costs seconds); Lambda bundling
 * is skipped here and checked once, by test/infra/bundle.test.ts.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { PARTITION_PLACEHOLDER } from '../../core/aws/hosts.ts';
import { ALARM_METRIC, emfLine, METRIC_NAMESPACE, RATE_METRICS } from '../../core/aws/metrics.ts';
import { TABLES } from '../../core/aws/tables.ts';
import { planSending } from '../../core/campaigns/plan.ts';
import { configFromEnv } from '../../core/config.ts';
import { JobsFunctionEventSchema } from '../../core/jobs/jobs.ts';
import { BATCH_DEADLINE_MS } from '../../core/sending/send-batch.ts';
import { trackingVariants } from '../../core/sending/tracking.ts';
import { TASK_FUNCTIONS, type TaskFunctionName } from '../../handlers/index.ts';
import { buildApp } from '../../infra/build.ts';
import { REPO_ROOT } from '../../infra/bundling.ts';
import { ENV_NOT_SET_ON_AWS } from '../../infra/constructs/functions.ts';
import { ASL_PATH, aslTaskStates } from '../../infra/constructs/workflow.ts';
import { AwsSolutionsChecks } from '../../infra/nag.ts';
import { parseParams } from '../../infra/params.ts';
import type { SixbackStack } from '../../infra/stack.ts';
import { flat } from '../support/cloudformation.ts';

const require = createRequire(import.meta.url);
const aslValidator = require('asl-validator') as (definition: unknown) => {
  isValid: boolean;
  errorsText: (separator?: string) => string;
};

type Json = Record<string, unknown>;
interface Statement {
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: unknown;
  Sid?: string;
  Condition?: Json;
}

const DEFAULT_RATE = 50;
const cdkJson = JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context: Json };

let stack: SixbackStack;
let template: Template;
let resources: Record<string, { Type: string; Properties: Json }>;
let assemblyDir: string;

beforeAll(() => {
  const built = buildApp({
    context: {
      ...cdkJson.context,
      // Bundling is checked once, in bundle.test.ts; here it would only cost time.
      'aws:cdk:bundling-stacks': [],
      senderIdentities: 'example.com,news@example.org',
      defaultRate: String(DEFAULT_RATE),
      unsubscribeMailto: 'unsubscribe@example.com',
      customRedirectDomain: 'track.example.com',
    },
  });
  stack = built.stack;
  const assembly = built.app.synth();
  assemblyDir = assembly.directory;
  const json = assembly.getStackByName(stack.stackName).template as { Resources: typeof resources };
  template = Template.fromJSON(json);
  resources = json.Resources;
}, 120_000);

function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`The template has no ${what}.`);
  return value;
}
/** Properties of the resource with this logical id. */
const props = (id: string) => must(resources[id], `resource ${id}`).Properties;

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const logicalId = (construct: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId(construct.node.defaultChild as Parameters<SixbackStack['getLogicalId']>[0]);
const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/** Every statement of every identity policy, with the policy's logical id. */
function allStatements(): { policy: string; statement: Statement }[] {
  const found: { policy: string; statement: Statement }[] = [];
  for (const [id, policy] of ofType('AWS::IAM::Policy')) {
    const doc = policy.Properties.PolicyDocument as { Statement: Statement[] };
    for (const statement of doc.Statement) found.push({ policy: id, statement });
  }
  for (const [id, role] of ofType('AWS::IAM::Role')) {
    for (const inline of (role.Properties.Policies ?? []) as { PolicyDocument: { Statement: Statement[] } }[])
      for (const statement of inline.PolicyDocument.Statement) found.push({ policy: id, statement });
  }
  return found;
}

/** Statements of the policies attached to the role with this logical id. */
function statementsOfRole(roleId: string): Statement[] {
  return ofType('AWS::IAM::Policy')
    .filter(([, p]) => (p.Properties.Roles as { Ref: string }[]).some((ref) => ref.Ref === roleId))
    .flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

const roleOfFunction = (fnId: string) =>
  (props(fnId).Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];

describe('the campaign workflow', () => {
  let definition: Json;
  let substitutions: Record<string, unknown>;
  const fakeArn = (name: string) =>
    name === PARTITION_PLACEHOLDER ? 'aws' : `arn:aws:lambda:us-east-1:123456789012:function:${name}`;
  const substitute = (text: string, values: Record<string, string>) =>
    text.replace(/\$\{(\w+)\}/g, (whole, name: string) => values[name] ?? whole);

  beforeAll(() => {
    const [, machine] = ofType('AWS::StepFunctions::StateMachine')[0] ?? [];
    const location = machine?.Properties.DefinitionS3Location as { Key: string };
    substitutions = machine?.Properties.DefinitionSubstitutions as Record<string, unknown>;
    const asset = readFileSync(join(assemblyDir, `asset.${location.Key}`), 'utf8');
    definition = JSON.parse(
      substitute(asset, Object.fromEntries(Object.keys(substitutions).map((n) => [n, fakeArn(n)]))),
    ) as Json;
  });

  it('is the ASL file, every placeholder substituted, with the same states and retries', () => {
    const names = Object.keys(TASK_FUNCTIONS) as TaskFunctionName[];
    const expected = JSON.parse(
      substitute(
        readFileSync(ASL_PATH, 'utf8'),
        Object.fromEntries([...names, PARTITION_PLACEHOLDER].map((n) => [n, fakeArn(n)])),
      ),
    );
    expect(Object.keys(substitutions).sort()).toEqual([...names, PARTITION_PLACEHOLDER].sort());
    expect(JSON.stringify(definition)).not.toContain('${');
    expect(definition).toEqual(expected);
  });

  it('names its service integrations in the partition it is deployed to, not always aws', () => {
    expect(readFileSync(ASL_PATH, 'utf8')).not.toMatch(/"arn:aws[a-z-]*:/);
    expect(substitutions[PARTITION_PLACEHOLDER]).toEqual({ Ref: 'AWS::Partition' });
    const map = (definition.States as Record<string, Json>).SendBatches as Json;
    expect((map.ItemReader as Json).Resource).toBe('arn:aws:states:::s3:getObject');
    expect((map.ResultWriter as Json).Resource).toBe('arn:aws:states:::s3:putObject');
  });

  it('substitutes each placeholder with the function built from its handler', () => {
    for (const name of Object.keys(TASK_FUNCTIONS) as TaskFunctionName[]) {
      const fn = stack.functions.tasks[name];
      expect(fn.entry).toBe(TASK_FUNCTIONS[name].entry);
      expect(substitutions[name]).toEqual({ 'Fn::GetAtt': [logicalId(fn), 'Arn'] });
    }
  });

  // asl-validator compiles its JSON schemas on first use, which takes seconds on a busy machine.
  it('passes asl-validator', { timeout: 60_000 }, () => {
    const result = aslValidator(definition);
    expect(result.errorsText()).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('is a Standard state machine with tracing and logs', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: { Level: 'ERROR', IncludeExecutionData: false },
    });
  });

  it('may invoke its five functions, start and manage its Map children, read the prepared files and write results, nothing more', () => {
    const machine = must(ofType('AWS::StepFunctions::StateMachine')[0], 'state machine')[1];
    const roleId = (machine.Properties.RoleArn as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0] as string;
    const granted = statementsOfRole(roleId).map((s) => ({
      actions: asArray(s.Action).sort(),
      resources: asArray(s.Resource).map(flat),
    }));
    const taskFnArns = (Object.keys(TASK_FUNCTIONS) as TaskFunctionName[]).map(
      (n) => `<${logicalId(stack.functions.tasks[n])}.Arn>`,
    );
    const name = `${stack.stackName}-campaign`;
    const bucket = `<${logicalId(stack.storage.bucket)}.Arn>`;
    expect(granted).toEqual(
      expect.arrayContaining([
        { actions: ['lambda:InvokeFunction'], resources: expect.arrayContaining(taskFnArns) },
        {
          actions: ['states:StartExecution'],
          resources: [expect.stringMatching(new RegExp(`:stateMachine:${name}$`))],
        },
        {
          // RedriveExecution: the console's "Redrive" of a failed Map Run restarts its children as this role.
          actions: ['states:DescribeExecution', 'states:RedriveExecution', 'states:StopExecution'],
          resources: [expect.stringMatching(new RegExp(`:execution:${name}/\\*$`))],
        },
        {
          // The prepared file, and an A/B test's sample and remainder.
          actions: ['s3:GetObject'],
          resources: [
            `${bucket}/campaigns/*/recipients.prepared.csv`,
            `${bucket}/campaigns/*/recipients.sample.csv`,
            `${bucket}/campaigns/*/recipients.remainder.csv`,
          ],
        },
        {
          // The four actions AWS's ResultWriter policy (and CDK's own ResultWriter) lists.
          actions: ['s3:AbortMultipartUpload', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:PutObject'],
          resources: [`${bucket}/campaigns/*/results/*`],
        },
      ]),
    );
    const invoke = granted.find((g) => g.actions.includes('lambda:InvokeFunction'));
    expect(invoke?.resources.sort()).toEqual([...taskFnArns].sort());
    // Whatever else is there is what CDK adds for logging and X-Ray, on "*" (checked below).
    const others = granted.filter((g) => !g.actions.some((a) => /^(lambda|states|s3):/.test(a)));
    for (const other of others) expect(other.resources).toEqual(['*']);
  });
});

describe('the functions', () => {
  const fnResources = () => ofType('AWS::Lambda::Function');

  it('run Node 22 or later on ARM64', () => {
    // prepare, begin, send, finalise, pick winner, API, jobs, SES events, webhooks
    expect(fnResources().length).toBe(9);
    for (const [, fn] of fnResources()) {
      expect(Number(/^nodejs(\d+)\.x$/.exec(String(fn.Properties.Runtime))?.[1])).toBeGreaterThanOrEqual(22);
      expect(fn.Properties.Architectures).toEqual(['arm64']);
    }
  });

  it('are each traced by X-Ray, and may write their traces', () => {
    for (const [id, fn] of fnResources()) {
      expect(fn.Properties.TracingConfig, `${id} tracing`).toEqual({ Mode: 'Active' });
      const role = (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
      const actions = allStatements()
        .filter(({ policy }) =>
          ((props(policy).Roles ?? []) as { Ref: string }[]).some((r) => r.Ref === role),
        )
        .flatMap(({ statement }) => asArray(statement.Action));
      expect(actions, `${id} role`).toEqual(expect.arrayContaining(['xray:PutTraceSegments']));
    }
  });

  it('each log to their own log group with a bounded retention', () => {
    for (const [id, fn] of fnResources()) {
      const group = (fn.Properties.LoggingConfig as { LogGroup: { Ref: string } } | undefined)?.LogGroup.Ref;
      expect(group, `${id} has an explicit log group`).toBeDefined();
      expect(resources[group as string]?.Properties.RetentionInDays, `${id} log retention`).toBeGreaterThan(
        0,
      );
    }
    for (const [id, group] of ofType('AWS::Logs::LogGroup'))
      expect(group.Properties.RetentionInDays, `${id} retention`).toBeGreaterThan(0);
  });

  it('each stop before their Task state times out, so a retry never overlaps a live attempt', () => {
    for (const task of aslTaskStates()) {
      const name = /^\$\{(\w+)\}$/.exec(task.resource)?.[1] as TaskFunctionName;
      const fn = resources[logicalId(stack.functions.tasks[name])];
      expect(task.timeoutSeconds, `${task.name} has TimeoutSeconds`).toBeDefined();
      expect(fn?.Properties.Timeout as number, task.name).toBeLessThan(task.timeoutSeconds as number);
    }
  });

  it("outlast the sender's own batch deadline, so a slow batch stops itself instead of being killed", () => {
    const sender = resources[logicalId(stack.functions.tasks.SendBatchFunctionArn)];
    expect(sender?.Properties.Timeout as number).toBeGreaterThan(BATCH_DEADLINE_MS / 1000);
  });

  it('give the sender time for a full batch at any rate, including the configured default', () => {
    const sender = resources[logicalId(stack.functions.tasks.SendBatchFunctionArn)];
    const timeout = sender?.Properties.Timeout as number;
    for (const rate of [DEFAULT_RATE, 1, 14, 100, 250, 251, 1000, 3334]) {
      const plan = planSending(rate, 0);
      const batchSeconds = plan.batchSize / (plan.rate / plan.maxConcurrency);
      // Twice the planned time covers SES slowing the sender down (throttling, retries with backoff).
      expect(batchSeconds * 2, `rate ${rate}/s`).toBeLessThanOrEqual(timeout);
    }
  });

  it('get exactly the environment configFromEnv reads, and it parses', () => {
    const source = readFileSync(join(REPO_ROOT, 'core', 'config.ts'), 'utf8');
    const read = new Set(source.match(/SIXBACK_[A-Z0-9_]+/g));
    for (const [id, fn] of fnResources()) {
      const env = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      const set = Object.keys(env).filter((name) => name.startsWith('SIXBACK_'));
      for (const name of set)
        expect(read.has(name), `${id} sets ${name}, which config.ts never reads`).toBe(true);
      for (const name of read) {
        if (name in ENV_NOT_SET_ON_AWS) continue;
        expect(set.includes(name), `${id} lacks ${name}, which config.ts reads`).toBe(true);
      }
      const resolved = Object.fromEntries(
        Object.entries(env).map(([name, value]) => {
          if (typeof value === 'string') return [name, value];
          const text = flat(value);
          return [name, name.endsWith('_URL') ? `https://${text.replace(/[^a-z0-9.]/gi, '')}.example` : text];
        }),
      );
      const config = configFromEnv({ ...resolved, AWS_REGION: 'eu-west-1' });
      expect(config.bucket).toBe(`<${logicalId(stack.storage.bucket)}>`);
      expect(config.tables.ledger).toBe(`<${logicalId(stack.storage.tables.ledger)}>`);
      expect(config.defaultRate).toBe(DEFAULT_RATE);
      expect(config.senderIdentities).toEqual(['example.com', 'news@example.org']);
      expect(config.stateMachineArn).toMatch(/:stateMachine:sixback-campaign$/);
    }
  });

  it('point images at the CloudFront distribution', () => {
    const distribution = logicalId(stack.images.distribution);
    for (const [, fn] of fnResources()) {
      const env = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(flat(env.SIXBACK_IMAGES_BASE_URL)).toBe(`https://<${distribution}.DomainName>`);
    }
  });
});

describe('permissions', () => {
  /** The only actions allowed on "*", and why AWS leaves no narrower choice. */
  const STAR_ONLY: Record<string, string> = {
    'ses:GetAccount': 'no resource type: the send quota is account-wide',
    'xray:PutTraceSegments': 'X-Ray supports no resource-level permissions',
    'xray:PutTelemetryRecords': 'X-Ray supports no resource-level permissions',
    'xray:GetSamplingRules': 'X-Ray supports no resource-level permissions',
    'xray:GetSamplingTargets': 'X-Ray supports no resource-level permissions',
    'logs:CreateLogDelivery': 'vended log delivery (Step Functions logging) requires "*"',
    'logs:GetLogDelivery': 'vended log delivery (Step Functions logging) requires "*"',
    'logs:UpdateLogDelivery': 'vended log delivery (Step Functions logging) requires "*"',
    'logs:DeleteLogDelivery': 'vended log delivery (Step Functions logging) requires "*"',
    'logs:ListLogDeliveries': 'vended log delivery (Step Functions logging) requires "*"',
    'logs:PutResourcePolicy': 'vended log delivery (Step Functions logging) requires "*"',
    'logs:DescribeResourcePolicies': 'vended log delivery (Step Functions logging) requires "*"',
    'logs:DescribeLogGroups': 'vended log delivery (Step Functions logging) requires "*"',
  };

  it('let only the API start jobs, on the Jobs function alone, which has the 15 minutes the API lacks', () => {
    const jobs = must(stack.functions.jobs, 'Jobs function');
    const jobsArn = `<${logicalId(jobs)}.Arn>`;
    const invokes = allStatements().filter(
      ({ statement }) =>
        asArray(statement.Action).includes('lambda:InvokeFunction') &&
        asArray(statement.Resource).map(flat).includes(jobsArn),
    );
    const roles = invokes.flatMap(({ policy }) => props(policy).Roles as { Ref: string }[]).map((r) => r.Ref);
    expect(roles).toEqual([roleOfFunction(logicalId(must(stack.functions.api, 'API function')))]);
    for (const { statement } of invokes) expect(asArray(statement.Resource).map(flat)).toEqual([jobsArn]);
    expect(resources[logicalId(jobs)]?.Properties.Timeout).toBe(900);
    const api = must(resources[logicalId(must(stack.functions.api, 'API function'))], 'API resource');
    const apiEnv = (api.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(flat(apiEnv.SIXBACK_JOBS_FUNCTION)).toBe(`<${logicalId(jobs)}>`);
  });

  it('sweep the unsubscribe outbox every minute, through the Jobs function, with an input it accepts', () => {
    const jobs = must(stack.functions.jobs, 'Jobs function');
    const schedules = Object.values(resources).filter(
      (r) => r.Type === 'AWS::Events::Rule' && r.Properties.ScheduleExpression !== undefined,
    );
    expect(schedules.map((r) => r.Properties.ScheduleExpression)).toEqual(['rate(1 minute)']);
    const targets = (schedules[0] as { Properties: Json }).Properties.Targets as Json[];
    expect(targets.map((t) => flat(t.Arn))).toEqual([`<${logicalId(jobs)}.Arn>`]);
    const input = JSON.parse((targets[0] as Json).Input as string);
    expect(input).toEqual({ sweep: 'unsubscribe-outbox' });
    expect(JobsFunctionEventSchema.safeParse(input).success).toBe(true);
  });

  it('name every action: no wildcard actions anywhere', () => {
    for (const { policy, statement } of allStatements()) {
      if (statement.Effect !== 'Allow') continue;
      for (const action of asArray(statement.Action)) expect(action, policy).not.toContain('*');
    }
  });

  it('use "*" resources only for actions that AWS offers no narrower resource for', () => {
    for (const { policy, statement } of allStatements()) {
      if (statement.Effect !== 'Allow' || !asArray(statement.Resource).includes('*')) continue;
      for (const action of asArray(statement.Action))
        expect(Object.keys(STAR_ONLY), `${policy} allows ${action} on "*"`).toContain(action);
    }
  });

  it('limit ses:SendEmail to the sender and the API (test sends), the configured identities and configuration set', () => {
    const sends = allStatements().filter(({ statement }) =>
      asArray(statement.Action).includes('ses:SendEmail'),
    );
    const roles = sends.flatMap(({ policy }) => props(policy).Roles as { Ref: string }[]).map((r) => r.Ref);
    expect(roles.sort()).toEqual(
      [stack.functions.tasks.SendBatchFunctionArn, must(stack.functions.api, 'API function')]
        .map((fn) => roleOfFunction(logicalId(fn)))
        .sort(),
    );
    for (const { statement } of sends) {
      expect(asArray(statement.Action)).toEqual(['ses:SendEmail']);
      const granted = asArray(statement.Resource).map(flat);
      // Two identities, and the configuration set with its three tracking variants.
      expect(granted).toHaveLength(6);
      expect(granted.filter((r) => r.includes(':identity/'))).toHaveLength(2);
      for (const set of [stack.email.configurationSet, ...stack.email.trackingSets])
        expect(granted.some((r) => r.includes(`:configuration-set/<${logicalId(set)}>`))).toBe(true);
    }
  });

  it('pass cdk-nag AwsSolutions, every remaining finding acknowledged with a reason', () => {
    const report = new AwsSolutionsChecks().validateScope(stack);
    expect(report.violations.map((v) => `${v.ruleName} ${v.violatingResources[0]?.constructPath}`)).toEqual(
      [],
    );
    expect(report.success).toBe(true);
  });
});

describe('storage', () => {
  it('blocks public access and refuses requests without TLS on every bucket', () => {
    const buckets = ofType('AWS::S3::Bucket');
    expect(buckets.length).toBeGreaterThanOrEqual(1);
    for (const [id, bucket] of buckets) {
      expect(bucket.Properties.PublicAccessBlockConfiguration, id).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(bucket.Properties.BucketEncryption, id).toBeDefined();
      const policy = ofType('AWS::S3::BucketPolicy').find(
        ([, p]) => (p.Properties.Bucket as { Ref: string }).Ref === id,
      )?.[1];
      const statements = (
        must(policy, `policy of ${id}`).Properties.PolicyDocument as { Statement: Statement[] }
      ).Statement;
      expect(statements, `${id} denies plain HTTP`).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Action: 's3:*',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      );
    }
  });

  it('lets CloudFront read the images/ prefix and nothing else', () => {
    const bucketId = logicalId(stack.storage.bucket);
    const policy = ofType('AWS::S3::BucketPolicy').find(
      ([, p]) => (p.Properties.Bucket as { Ref: string }).Ref === bucketId,
    )?.[1];
    const allows = (
      must(policy, 'bucket policy').Properties.PolicyDocument as { Statement: Statement[] }
    ).Statement.filter((s) => s.Effect === 'Allow');
    expect(allows).toHaveLength(1);
    expect(allows[0]?.Action).toBe('s3:GetObject');
    expect(flat(allows[0]?.Resource)).toBe(`<${bucketId}.Arn>/images/*`);
    expect(JSON.stringify(allows[0]?.Condition)).toContain(logicalId(stack.images.distribution));
  });

  it('expires old uploads but never images', () => {
    const bucket = resources[logicalId(stack.storage.bucket)];
    const rules = (must(bucket, 'bucket').Properties.LifecycleConfiguration as { Rules: Json[] }).Rules;
    expect(rules).toContainEqual(
      expect.objectContaining({ Prefix: 'uploads/recipients/', ExpirationInDays: 30, Status: 'Enabled' }),
    );
    for (const rule of rules) expect(String(rule.Prefix ?? '')).not.toMatch(/^images/);
    expect(rules.every((rule) => rule.Prefix !== undefined || rule.ExpirationInDays === undefined)).toBe(
      true,
    );
  });

  it('prints what survives a destroy (retainData), in the form retainedData takes back', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    const printed = flat(outputs.RetainedData?.Value);
    const tables = stack.storage.tables;
    expect(printed).toBe(
      [
        `bucket=<${logicalId(stack.storage.bucket)}>`,
        `templates=<${logicalId(tables.templates)}>`,
        `campaigns=<${logicalId(tables.campaigns)}>`,
        `ledger=<${logicalId(tables.ledger)}>`,
        `suppression=<${logicalId(tables.suppression)}>`,
        `analytics=<${logicalId(tables.analytics)}>`,
        `unsubscribeSecret=<${logicalId(stack.email.unsubscribeSecret)}>`,
      ].join(','),
    );
    // Each retained resource is tagged with its part, to find it again when the output is gone.
    const tagOf = (id: string) =>
      ((props(id).Tags ?? []) as { Key: string; Value: string }[]).find((t) => t.Key === 'sixback:data')
        ?.Value;
    expect(tagOf(logicalId(tables.suppression))).toBe('suppression');
    expect(tagOf(logicalId(stack.storage.bucket))).toBe('bucket');
    expect(tagOf(logicalId(stack.email.unsubscribeSecret))).toBe('unsubscribeSecret');
    for (const id of [logicalId(tables.ledger), logicalId(stack.storage.bucket)])
      expect(must(resources[id], id) as unknown as { DeletionPolicy: string }).toMatchObject({
        DeletionPolicy: 'Retain',
      });
  });

  it('declares the tables from core/aws/tables.ts, on demand, with point-in-time recovery', () => {
    for (const [name, shape] of Object.entries(TABLES)) {
      const table = resources[logicalId(stack.storage.tables[name as keyof typeof TABLES])];
      const keys = table?.Properties.KeySchema as { AttributeName: string; KeyType: string }[];
      expect(keys[0]).toEqual({ AttributeName: shape.partitionKey, KeyType: 'HASH' });
      const sortKey = 'sortKey' in shape ? shape.sortKey : undefined;
      if (sortKey) {
        expect(keys[1]).toEqual({ AttributeName: sortKey.name, KeyType: 'RANGE' });
        expect(table?.Properties.AttributeDefinitions).toContainEqual({
          AttributeName: sortKey.name,
          AttributeType: sortKey.type,
        });
      } else expect(keys).toHaveLength(1);
      const indexes = (table?.Properties.GlobalSecondaryIndexes ?? []) as { IndexName: string }[];
      expect(indexes.map((i) => i.IndexName)).toEqual(
        ('indexes' in shape ? shape.indexes : []).map((i) => i.name),
      );
      expect(table?.Properties.BillingMode).toBe('PAY_PER_REQUEST');
      expect(table?.Properties.PointInTimeRecoverySpecification).toEqual({
        PointInTimeRecoveryEnabled: true,
      });
    }
  });

  it('keeps the campaign list index to keys (campaign writes are not paid twice) and expires analytics markers', () => {
    const campaigns = props(logicalId(stack.storage.tables.campaigns));
    expect(campaigns.GlobalSecondaryIndexes).toEqual([
      expect.objectContaining({ IndexName: 'byCreatedAt', Projection: { ProjectionType: 'KEYS_ONLY' } }),
    ]);
    const analytics = props(logicalId(stack.storage.tables.analytics));
    expect(analytics.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
  });

  it('lets the SES events function write outcomes and counters, and read the campaign, nothing more', () => {
    const fn = must(stack.functions.sesEvents, 'SES events function');
    const actions = statementsOfRole(roleOfFunction(logicalId(fn)))
      .flatMap((statement) => asArray(statement.Action))
      .filter((a) => a.startsWith('dynamodb:'))
      .sort();
    expect([...new Set(actions)]).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
    ]);
  });
});

describe('open and click tracking', () => {
  const sets = () =>
    ofType('AWS::SES::ConfigurationSet').map(([id, set]) => ({
      id,
      name: set.Properties.Name as string,
      tracking: set.Properties.TrackingOptions as
        | { CustomRedirectDomain?: string; HttpsPolicy?: string }
        | undefined,
      types: ofType('AWS::SES::ConfigurationSetEventDestination')
        .filter(([, d]) => flat(d.Properties.ConfigurationSetName) === `<${id}>`)
        .flatMap(
          ([, d]) => (d.Properties.EventDestination as { MatchingEventTypes: string[] }).MatchingEventTypes,
        ),
    }));

  it('has one configuration set per tracking choice, named as the sender picks them, each tracking only what its name says', () => {
    const base = props(logicalId(stack.email.configurationSet)).Name as string;
    const byName = new Map(sets().map((set) => [set.name, set]));
    expect([...byName.keys()].sort()).toEqual(
      trackingVariants(base)
        .map((v) => v.name)
        .sort(),
    );
    for (const { name, tracking } of trackingVariants(base)) {
      const set = must(byName.get(name), `configuration set ${name}`);
      // SES adds the pixel only for a set whose destination has OPEN, and rewrites links only with CLICK.
      expect(set.types.includes('open'), `${name} open`).toBe(tracking.opens);
      expect(set.types.includes('click'), `${name} click`).toBe(tracking.clicks);
      expect(set.types).toEqual(expect.arrayContaining(['send', 'delivery', 'bounce', 'complaint']));
      // The custom redirect domain (an HTTPS one) on the tracking sets; the plain set tracks nothing.
      if (tracking.opens || tracking.clicks)
        expect(set.tracking).toEqual({ CustomRedirectDomain: 'track.example.com', HttpsPolicy: 'REQUIRE' });
      else expect(set.tracking).toBeUndefined();
    }
  });

  it("lets the senders send through every set and routes every set's events, opens and clicks included", () => {
    const ids = sets().map((set) => `<${set.id}>`);
    const rule = must(ofType('AWS::Events::Rule')[0], 'events rule')[1];
    const pattern = rule.Properties.EventPattern as {
      'detail-type': string[];
      detail: { mail: { tags: { 'ses:configuration-set': string[] } } };
    };
    expect(pattern.detail.mail.tags['ses:configuration-set'].map(flat).sort()).toEqual(ids.sort());
    expect(pattern['detail-type']).toEqual(expect.arrayContaining(['Email Opened', 'Email Clicked']));
    const sendGrants = allStatements()
      .filter(({ statement }) => asArray(statement.Action).includes('ses:SendEmail'))
      .map(({ statement }) => asArray(statement.Resource).map(flat).join(' '));
    expect(sendGrants.length).toBeGreaterThan(0);
    for (const grant of sendGrants)
      for (const id of sets().map((set) => set.id)) expect(grant, id).toContain(`configuration-set/<${id}>`);
    const env = stack.functions.environment;
    expect(env.SIXBACK_TRACKING_CONFIGURATION_SETS).toBe('true');
  });

  it('refuses a custom redirect domain that is not a domain name', () => {
    expect(() => parseParams({ customRedirectDomain: 'https://track.example.com/' })).toThrow(
      /customRedirectDomain: must be a domain name/,
    );
  });
});

describe('the API and SES', () => {
  it('authorises every route with IAM except the unsubscribe pages', () => {
    const routes = ofType('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties);
    expect(routes.length).toBeGreaterThan(0);
    for (const route of routes) {
      const key = String(route.RouteKey);
      if (/ \/u\//.test(key)) expect(route.AuthorizationType ?? 'NONE', key).toBe('NONE');
      else expect(route.AuthorizationType, key).toBe('AWS_IAM');
    }
  });

  it('prints the Easy DKIM records of each sender domain', () => {
    const outputs = Object.keys(template.toJSON().Outputs as Json).filter((name) => name.includes('Dkim'));
    // example.com gets three CNAME records; the address identity gets none.
    expect(outputs.sort()).toEqual(['Dkim1Record1', 'Dkim1Record2', 'Dkim1Record3']);
  });

  it('has a sixback event bus every publisher may put events on, routed to the webhooks function', () => {
    const [busId, bus] = must(ofType('AWS::Events::EventBus')[0], 'event bus');
    expect(bus.Properties.Name).toBe('sixback');
    const rule = must(
      ofType('AWS::Events::Rule').find(
        ([, r]) =>
          r.Properties.EventBusName !== undefined && flat(r.Properties.EventBusName) === `<${busId}>`,
      ),
      'rule on the sixback bus',
    )[1];
    expect(rule.Properties.EventPattern).toEqual({ source: ['sixback'] });
    const webhooksFn = logicalId(stack.functions.webhooks as never);
    const targets = rule.Properties.Targets as {
      Arn: unknown;
      RetryPolicy?: { MaximumRetryAttempts: number };
    }[];
    expect(targets.map((t) => flat(t.Arn))).toEqual([`<${webhooksFn}.Arn>`]);
    expect(targets[0]?.RetryPolicy?.MaximumRetryAttempts).toBe(2);
    // PutEvents on this bus only, for every function that changes a status or records SES events.
    const publishers = [
      ...Object.values(stack.functions.tasks),
      stack.functions.api,
      stack.functions.sesEvents,
    ].map((fn) => roleOfFunction(logicalId(fn as never)));
    for (const role of publishers) {
      const puts = statementsOfRole(role).filter((st) => [st.Action].flat().includes('events:PutEvents'));
      expect(
        puts.map((st) => [st.Resource].flat().map(flat)),
        role,
      ).toEqual([[`<${busId}.Arn>`]]);
    }
    // The webhooks function reads subscribers and writes its log, on the webhooks table only, and
    // publishes nothing itself.
    const webhookStatements = statementsOfRole(roleOfFunction(webhooksFn));
    const tableId = logicalId(stack.storage.tables.webhooks as never);
    expect(webhookStatements.find((st) => st.Sid === 'Webhooks')).toMatchObject({
      Action: ['dynamodb:Query', 'dynamodb:PutItem'],
    });
    expect([webhookStatements.find((st) => st.Sid === 'Webhooks')?.Resource].flat().map(flat)).toEqual([
      `<${tableId}.Arn>`,
    ]);
    expect(webhookStatements.some((st) => [st.Action].flat().includes('events:PutEvents'))).toBe(false);
    // Delivery logs expire on their own.
    expect(props(tableId).TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
  });

  it('sends configuration set events to EventBridge and routes them to the SES events function', () => {
    template.hasResourceProperties('AWS::SES::ConfigurationSetEventDestination', {
      EventDestination: { Enabled: true, EventBridgeDestination: Match.anyValue() },
    });
    const destination = must(ofType('AWS::SES::ConfigurationSetEventDestination')[0], 'event destination')[1];
    const types = (destination.Properties.EventDestination as { MatchingEventTypes: string[] })
      .MatchingEventTypes;
    // Suppression needs bounces and complaints; the campaign's rates need sends and deliveries.
    expect(types).toEqual(expect.arrayContaining(['bounce', 'complaint', 'send', 'delivery']));
    const rule = must(
      ofType('AWS::Events::Rule').find(
        ([, r]) => (r.Properties.EventPattern as { source: string[] }).source[0] === 'aws.ses',
      ),
      'events rule',
    )[1];
    const pattern = rule.Properties.EventPattern as { source: string[]; 'detail-type': string[] };
    expect(pattern.source).toEqual(['aws.ses']);
    // One detail-type per event type any of the sets publishes (the tracking sets add open and click).
    const allTypes = new Set(
      ofType('AWS::SES::ConfigurationSetEventDestination').flatMap(
        ([, d]) => (d.Properties.EventDestination as { MatchingEventTypes: string[] }).MatchingEventTypes,
      ),
    );
    expect(pattern['detail-type']).toHaveLength(allTypes.size);
    // Through a queue the function reads in batches, so a fast campaign's delivery events become a few
    // counter writes a second, not one each.
    const [queueId, queue] = must(
      ofType('AWS::SQS::Queue').find(([, q]) => q.Properties.RedrivePolicy !== undefined),
      'events queue with a dead-letter queue',
    );
    const targets = rule.Properties.Targets as { Arn: unknown }[];
    expect(targets.map((t) => flat(t.Arn))).toEqual([`<${queueId}.Arn>`]);
    expect((queue.Properties.RedrivePolicy as { maxReceiveCount: number }).maxReceiveCount).toBe(8);
    const mapping = must(ofType('AWS::Lambda::EventSourceMapping')[0], 'event source mapping')[1];
    expect(flat(mapping.Properties.EventSourceArn)).toBe(`<${queueId}.Arn>`);
    expect(flat(mapping.Properties.FunctionName)).toBe(`<${logicalId(stack.functions.sesEvents as never)}>`);
    expect(mapping.Properties.BatchSize).toBe(100);
    expect(mapping.Properties.MaximumBatchingWindowInSeconds).toBe(5);
    // Partial batch responses: the function names the messages that failed, and only they come back.
    expect(mapping.Properties.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
  });
});

describe('monitoring', () => {
  it('alarms on the Sixback metrics under exactly the names and dimensions the SES events function emits', () => {
    const line = JSON.parse(
      emfLine(
        [
          { name: RATE_METRICS.complaintRate, value: 0, unit: 'Percent' },
          { name: RATE_METRICS.bounceRate, value: 0, unit: 'Percent' },
          { name: ALARM_METRIC, value: 1, unit: 'Count' },
        ],
        { campaignId: 'c1', perCampaign: true },
        new Date(),
      ),
    ) as {
      _aws: {
        CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[];
      };
    } & Json;
    const emitted = must(line._aws.CloudWatchMetrics[0], 'EMF directive');
    const alarms = ofType('AWS::CloudWatch::Alarm').filter(
      ([, a]) => a.Properties.Namespace === METRIC_NAMESPACE,
    );
    expect(alarms).toHaveLength(3);
    for (const [id, alarm] of alarms) {
      expect(emitted.Namespace, id).toBe(alarm.Properties.Namespace);
      expect(
        emitted.Metrics.map((m) => m.Name),
        id,
      ).toContain(alarm.Properties.MetricName);
      const dimensions = alarm.Properties.Dimensions as { Name: string; Value: string }[];
      // CloudWatch matches a metric by its whole dimension set: the line must publish exactly this one.
      expect(emitted.Dimensions, id).toContainEqual(dimensions.map((d) => d.Name));
      for (const d of dimensions) expect(line[d.Name], `${id} ${d.Name}`).toBe(d.Value);
    }
  });

  it('alarms on deliverability, SES reputation and failed campaigns', () => {
    const metrics = ofType('AWS::CloudWatch::Alarm').map(
      ([, a]) => `${a.Properties.Namespace}/${a.Properties.MetricName}`,
    );
    expect(metrics.sort()).toEqual(
      [
        'Sixback/CampaignComplaintRate',
        'Sixback/CampaignBounceRate',
        'Sixback/CampaignAlarmRaised',
        'AWS/SES/Reputation.ComplaintRate',
        'AWS/SES/Reputation.BounceRate',
        'AWS/States/ExecutionsFailed',
      ].sort(),
    );
  });
});

describe('parameters', () => {
  it('explain what is wrong with a bad value', () => {
    expect(() => parseParams({ senderIdentities: 'not an identity' })).toThrow(/senderIdentities/);
    expect(() => parseParams({ logRetentionDays: '42' })).toThrow(/logRetentionDays: must be one of/);
    expect(() => parseParams({ logLevel: 'LOUD' })).toThrow(/logLevel/);
  });

  it('read comma-separated identities and numbers from context strings', () => {
    const params = parseParams({ senderIdentities: 'a.example, b@c.example', defaultRate: '20' });
    expect(params.senderIdentities).toEqual(['a.example', 'b@c.example']);
    expect(params.defaultRate).toBe(20);
    expect(params.retainData).toBe(true);
  });
});
