/**
 * What a first deploy into a real account, and a redeploy after `cdk destroy`, depend on (issue 14):
 * identities SES already has, names that outlive the stack, retained data taken back, the public
 * routes' throttle, an environment-agnostic template, and the retry lists of the ASL. Two synths (Lambda
 * bundling skipped, as in stack.test.ts): one referencing existing identities with retainData=false,
 * synthesized with the CLI's us-east-1 fallback in the environment; one reusing retained data.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Token } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/build.ts';
import { REPO_ROOT } from '../../infra/bundling.ts';
import { PUBLIC_ROUTE_KEY, PUBLIC_ROUTE_THROTTLE, STAGE_THROTTLE } from '../../infra/constructs/api.ts';
import { ASL_PATH } from '../../infra/constructs/workflow.ts';
import { AwsSolutionsChecks } from '../../infra/nag.ts';
import { formatRetainedData, identityPlan, parseParams } from '../../infra/params.ts';
import type { SixbackStack } from '../../infra/stack.ts';
import { flat } from '../support/cloudformation.ts';

type Json = Record<string, unknown>;
interface Resource {
  Type: string;
  Properties: Json;
  DeletionPolicy?: string;
  DependsOn?: string | string[];
}
interface Synth {
  stack: SixbackStack;
  json: { Resources: Record<string, Resource>; Outputs: Record<string, { Value: unknown }> };
  ofType: (type: string) => [string, Resource][];
}

const cdkJson = JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context: Json };

function synth(context: Json, env: Record<string, string> = {}): Synth {
  const saved = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
  Object.assign(process.env, env);
  try {
    const built = buildApp({
      context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [], ...context },
    });
    const assembly = built.app.synth();
    const json = assembly.getStackByName(built.stack.stackName).template as Synth['json'];
    return {
      stack: built.stack,
      json,
      ofType: (type) => Object.entries(json.Resources).filter(([, r]) => r.Type === type),
    };
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

function statements(s: Synth): { Action: string | string[]; Resource: unknown; Effect: string }[] {
  return s
    .ofType('AWS::IAM::Policy')
    .flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: never[] }).Statement);
}

function envOf(s: Synth, construct: { node: { defaultChild?: unknown } }): Record<string, unknown> {
  const id = s.stack.getLogicalId(construct.node.defaultChild as never);
  const fn = s.json.Resources[id];
  if (!fn) throw new Error(`no resource ${id}`);
  return (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
}

const RETAINED = {
  bucket: 'sixback-storagebucket-old1',
  templates: 'sixback-StorageTemplates-OLD1',
  campaigns: 'sixback-StorageCampaigns-OLD2',
  ledger: 'sixback-StorageLedger-OLD3',
  suppression: 'sixback-StorageSuppression-OLD4',
  analytics: 'sixback-StorageAnalytics-OLD5',
  unsubscribeSecret:
    'arn:aws:secretsmanager:eu-west-1:123456789012:secret:EmailUnsubscribeSecret1A2B3C-Ab12Cd',
};

let existing: Synth;
let reused: Synth;

beforeAll(() => {
  existing = synth(
    {
      senderIdentities: 'example.com,news@example.org,Shared.example',
      existingIdentities: 'example.net,alerts@example.org,shared.example',
      retainData: 'false',
    },
    // What the CDK CLI puts in the environment when no region is configured.
    { CDK_DEFAULT_REGION: 'us-east-1', CDK_DEFAULT_ACCOUNT: '123456789012' },
  );
  reused = synth({ senderIdentities: 'example.com', retainedData: formatRetainedData(RETAINED) });
}, 240_000);

describe('SES identities that already exist', () => {
  it('are referenced, not created: only the others become AWS::SES::EmailIdentity', () => {
    const created = existing.ofType('AWS::SES::EmailIdentity').map(([, r]) => r.Properties.EmailIdentity);
    expect(created.sort()).toEqual(['example.com', 'news@example.org']);
  });

  it('get no DKIM outputs; each created domain gets its three', () => {
    const dkim = Object.keys(existing.json.Outputs).filter((name) => name.startsWith('Dkim'));
    expect(dkim.sort()).toEqual(['Dkim1Record1', 'Dkim1Record2', 'Dkim1Record3']);
    const outputs = existing.json.Outputs as Record<string, { Description?: string }>;
    expect(outputs.Dkim1Record1?.Description).toMatch(/^Easy DKIM for example\.com:/);
  });

  it('may be sent as, by ARN in this partition, region and account', () => {
    const sends = statements(existing).filter((s) => asArray(s.Action).includes('ses:SendEmail'));
    expect(sends.length).toBe(2);
    for (const send of sends) {
      const granted = asArray(send.Resource).map(flat);
      for (const identity of ['example.net', 'alerts@example.org', 'shared.example'])
        expect(granted).toContain(
          `arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:identity/${identity}`,
        );
      expect(granted.filter((r) => r.includes(':identity/'))).toHaveLength(5);
    }
  });

  it('are sender identities of the functions like the created ones', () => {
    const env = envOf(existing, existing.stack.functions.tasks.SendBatchFunctionArn);
    expect(String(env.SIXBACK_SENDER_IDENTITIES).split(',').sort()).toEqual(
      ['alerts@example.org', 'example.com', 'example.net', 'news@example.org', 'shared.example'].sort(),
    );
  });

  it('win over senderIdentities whatever the case, and each is named once', () => {
    expect(
      identityPlan({
        senderIdentities: ['A.example', 'b@c.example', 'B@C.example'],
        existingIdentities: ['a.example', 'd.example', 'D.example'],
      }),
    ).toEqual({
      create: ['b@c.example'],
      reference: ['a.example', 'd.example'],
      all: ['b@c.example', 'a.example', 'd.example'],
    });
    expect(() => parseParams({ existingIdentities: 'not an identity' })).toThrow(/existingIdentities/);
  });

  it('deploys the thin transports unless told otherwise, and keeps the SDK path on request', () => {
    expect(parseParams({})).toMatchObject({ sesTransport: 'fast', dynamoTransport: 'fast' });
    expect(parseParams({ sesTransport: 'sdk', dynamoTransport: 'sdk' })).toMatchObject({
      sesTransport: 'sdk',
      dynamoTransport: 'sdk',
    });
  });
});

describe('names that outlive the stack', () => {
  const machineLogGroup = (s: Synth) => {
    const id = s.stack.getLogicalId(s.stack.workflow.logGroup?.node.defaultChild as never);
    const group = s.json.Resources[id];
    if (!group) throw new Error('no state machine log group');
    return group;
  };

  it("give the state machine's log group a name unique to the stack's creation", () => {
    for (const s of [existing, reused]) {
      const name = flat(machineLogGroup(s).Properties.LogGroupName);
      expect(name).toBe('/aws/vendedlogs/states/sixback-campaign-<select 2 of <split <AWS::StackId> on />>');
    }
  });

  it('keep the log group exactly when retainData keeps the data', () => {
    expect(machineLogGroup(existing).DeletionPolicy).toBe('Delete');
    expect(machineLogGroup(reused).DeletionPolicy).toBe('Retain');
  });

  it('never combine a fixed physical name with Retain (a later deploy of the same name would fail)', () => {
    const NAME_PROPERTIES = [
      'LogGroupName',
      'TableName',
      'BucketName',
      'Name',
      'QueueName',
      'StateMachineName',
    ];
    for (const s of [existing, reused]) {
      for (const [id, resource] of Object.entries(s.json.Resources)) {
        if (resource.DeletionPolicy !== 'Retain') continue;
        for (const property of NAME_PROPERTIES) {
          const name = resource.Properties?.[property];
          if (name === undefined) continue;
          expect(typeof name, `${id}.${property} is fixed and retained`).not.toBe('string');
          expect(flat(name), `${id}.${property}`).toContain('<AWS::StackId>');
        }
      }
    }
  });
});

describe('a redeploy with retainedData', () => {
  it('creates no table, data bucket or unsubscribe key: it takes the retained ones back (only a new log key)', () => {
    // Only the webhooks table is new: subscriptions are configuration, not retained data, and it goes
    // with the stack (docs/webhooks.md).
    const tables = reused.ofType('AWS::DynamoDB::Table');
    expect(tables.map(([id]) => id)).toEqual([expect.stringMatching(/^StorageWebhooks/)]);
    expect(tables.map(([, t]) => t.DeletionPolicy)).toEqual(['Delete']);
    expect(reused.ofType('AWS::DynamoDB::GlobalTable')).toEqual([]);
    // The one secret is the functions' log key (core/logging.ts): it keys nothing that was sent, and a
    // new deployment may give recipients new pseudonyms in its logs.
    const secrets = reused.ofType('AWS::SecretsManager::Secret');
    expect(secrets.map(([id]) => id)).toEqual([expect.stringMatching(/^FunctionsLogKey/)]);
    expect(secrets.map(([, s]) => s.DeletionPolicy)).toEqual(['Delete']);
    expect(reused.ofType('AWS::S3::Bucket')).toEqual([]);
  });

  it('points every function at the retained bucket, tables and key', () => {
    for (const fn of [reused.stack.functions.tasks.SendBatchFunctionArn, reused.stack.functions.api]) {
      const env = envOf(reused, fn as never);
      expect(env.SIXBACK_BUCKET).toBe(RETAINED.bucket);
      expect(env.SIXBACK_TEMPLATES_TABLE).toBe(RETAINED.templates);
      expect(env.SIXBACK_CAMPAIGNS_TABLE).toBe(RETAINED.campaigns);
      expect(env.SIXBACK_LEDGER_TABLE).toBe(RETAINED.ledger);
      expect(env.SIXBACK_SUPPRESSION_TABLE).toBe(RETAINED.suppression);
      expect(env.SIXBACK_UNSUBSCRIBE_SECRET_ARN).toBe(RETAINED.unsubscribeSecret);
    }
  });

  it('grants on the retained resources: the suppression list is consulted, old links verify', () => {
    const granted = statements(reused).flatMap((s) =>
      asArray(s.Resource).map((r) => `${asArray(s.Action).join(' ')} ${flat(r)}`),
    );
    const grantOn = (action: string, resource: string) =>
      granted.some((g) => g.split(' ').includes(action) && g.endsWith(resource));
    expect(grantOn('dynamodb:BatchGetItem', `:table/${RETAINED.suppression}`)).toBe(true);
    expect(grantOn('dynamodb:BatchWriteItem', `:table/${RETAINED.ledger}`)).toBe(true);
    expect(grantOn('dynamodb:Query', `:table/${RETAINED.campaigns}/index/byCreatedAt`)).toBe(true);
    expect(grantOn('secretsmanager:GetSecretValue', RETAINED.unsubscribeSecret)).toBe(true);
    expect(
      grantOn(
        's3:GetObject',
        `arn:<AWS::Partition>:s3:::${RETAINED.bucket}/campaigns/*/recipients.prepared.csv`,
      ),
    ).toBe(true);
  });

  it("gives the retained bucket a policy of its own: TLS only, and the new distribution's images/ read", () => {
    const policies = reused.ofType('AWS::S3::BucketPolicy');
    expect(policies).toHaveLength(1);
    const [, policy] = policies[0] as [string, Resource];
    expect(policy.Properties.Bucket).toBe(RETAINED.bucket);
    const doc = policy.Properties.PolicyDocument as {
      Statement: { Effect: string; Action: string; Resource: unknown; Condition?: Json }[];
    };
    expect(doc.Statement).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Action: 's3:*',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
    const allow = doc.Statement.filter((s) => s.Effect === 'Allow');
    expect(allow.map((s) => [s.Action, flat(s.Resource)])).toEqual([
      ['s3:GetObject', `arn:<AWS::Partition>:s3:::${RETAINED.bucket}/images/*`],
    ]);
    const distribution = reused.stack.getLogicalId(
      reused.stack.images.distribution.node.defaultChild as never,
    );
    expect(JSON.stringify(allow[0]?.Condition)).toContain(distribution);
  });

  it('from a deployment older than the analytics table, takes the rest back and creates only that table', () => {
    const { analytics: _, ...older } = RETAINED;
    const upgraded = synth({ senderIdentities: 'example.com', retainedData: formatRetainedData(older) });
    const tables = upgraded.ofType('AWS::DynamoDB::Table');
    // The webhooks table is always new (not retained data), beside the analytics table.
    expect(tables.map(([id]) => id).sort()).toEqual(
      [
        upgraded.stack.getLogicalId(upgraded.stack.storage.tables.analytics.node.defaultChild as never),
        upgraded.stack.getLogicalId(upgraded.stack.storage.tables.webhooks.node.defaultChild as never),
      ].sort(),
    );
    expect(envOf(upgraded, upgraded.stack.functions.api as never).SIXBACK_CAMPAIGNS_TABLE).toBe(
      RETAINED.campaigns,
    );
  }, 120_000);

  it('prints the same retainedData again, so the next redeploy takes the same data back', () => {
    const printed = flat(reused.json.Outputs.RetainedData?.Value);
    expect(parseParams({ retainedData: printed }).retainedData).toEqual(RETAINED);
  });

  it('passes cdk-nag AwsSolutions, like the stack that creates its data', () => {
    for (const s of [reused, existing]) {
      const report = new AwsSolutionsChecks().validateScope(s.stack);
      expect(report.violations.map((v) => `${v.ruleName} ${v.violatingResources[0]?.constructPath}`)).toEqual(
        [],
      );
    }
  });

  it('refuses an incomplete or malformed retainedData, saying which part', () => {
    const { suppression: _, ...withoutSuppression } = RETAINED;
    expect(() =>
      parseParams({
        retainedData: Object.entries(withoutSuppression)
          .map(([k, v]) => `${k}=${v}`)
          .join(','),
      }),
    ).toThrow(/retainedData\.suppression/);
    expect(() =>
      parseParams({
        retainedData: formatRetainedData({ ...RETAINED, unsubscribeSecret: 'EmailUnsubscribeSecret' }),
      }),
    ).toThrow(/retainedData\.unsubscribeSecret: must be the complete ARN/);
    expect(() => parseParams({ retainedData: `${formatRetainedData(RETAINED)},tables=x` })).toThrow(
      /retainedData/,
    );
    // From cdk.json, an object works as well as the string.
    expect(parseParams({ retainedData: RETAINED }).retainedData).toEqual(RETAINED);
  });
});

describe('the public unsubscribe routes', () => {
  it('have their own route throttle, above the stage default', () => {
    const [, stage] = existing.ofType('AWS::ApiGatewayV2::Stage')[0] as [string, Resource];
    expect(stage.Properties.DefaultRouteSettings).toEqual({
      ThrottlingBurstLimit: STAGE_THROTTLE.burstLimit,
      ThrottlingRateLimit: STAGE_THROTTLE.rateLimit,
    });
    const settings = stage.Properties.RouteSettings as Record<string, Json>;
    expect(Object.keys(settings)).toEqual([PUBLIC_ROUTE_KEY]);
    expect(settings[PUBLIC_ROUTE_KEY]).toEqual({
      ThrottlingBurstLimit: PUBLIC_ROUTE_THROTTLE.burstLimit,
      ThrottlingRateLimit: PUBLIC_ROUTE_THROTTLE.rateLimit,
    });
    expect(PUBLIC_ROUTE_THROTTLE.rateLimit).toBeGreaterThan(STAGE_THROTTLE.rateLimit);
    expect(PUBLIC_ROUTE_THROTTLE.burstLimit).toBeGreaterThan(STAGE_THROTTLE.burstLimit);
  });

  it('throttle a route that exists, and the stage is deployed after it', () => {
    const routes = existing.ofType('AWS::ApiGatewayV2::Route');
    const [routeId] = routes.find(([, r]) => r.Properties.RouteKey === PUBLIC_ROUTE_KEY) ?? [];
    expect(routeId, `a route ${PUBLIC_ROUTE_KEY}`).toBeDefined();
    const [, stage] = existing.ofType('AWS::ApiGatewayV2::Stage')[0] as [string, Resource];
    expect(asArray(stage.DependsOn ?? [])).toContain(routeId);
  });

  it('are logged by route key in JSON, with no REST-only variable and without the token-bearing path', () => {
    const [, stage] = existing.ofType('AWS::ApiGatewayV2::Stage')[0] as [string, Resource];
    const format = (stage.Properties.AccessLogSettings as { Format: string }).Format;
    const fields = JSON.parse(format) as Record<string, string>;
    expect(Object.values(fields)).toContain('$context.routeKey');
    expect(Object.values(fields)).toContain('$context.requestId');
    expect(format).not.toContain('$context.resourcePath');
    expect(format).not.toContain('$context.path');
  });
});

describe('an environment-agnostic template', () => {
  it('bakes in no region or account even when the CLI fell back to us-east-1', () => {
    const text = JSON.stringify(existing.json);
    expect(text).not.toContain('us-east-1');
    expect(text).not.toContain('123456789012');
    expect(Token.isUnresolved(existing.stack.region)).toBe(true);
    expect(Token.isUnresolved(existing.stack.account)).toBe(true);
  });

  it('names SendEmail and StartExecution resources from the deployed region and partition', () => {
    const all = statements(existing);
    for (const action of ['ses:SendEmail', 'states:StartExecution']) {
      const granted = all
        .filter((s) => asArray(s.Action).includes(action))
        .flatMap((s) => asArray(s.Resource));
      expect(granted.length, action).toBeGreaterThan(0);
      for (const resource of granted) {
        const text = flat(resource);
        if (text.startsWith('<') && !text.includes(':')) continue; // a Ref to a resource of the stack
        expect(text, action).toMatch(/^arn:<AWS::Partition>:[a-z]+:<AWS::Region>:<AWS::AccountId>:/);
      }
    }
  });
});

describe('retries of the Lambda tasks', () => {
  /** Lambda's transient invoke errors, as Step Functions names them (AWS's recommended retrier, plus TooManyRequests). */
  const LAMBDA_TRANSIENT = [
    'Lambda.ServiceException',
    'Lambda.AWSLambdaException',
    'Lambda.SdkClientException',
    'Lambda.TooManyRequestsException',
    'Lambda.ClientExecutionTimeoutException',
  ];

  function lambdaTasks(states: Record<string, Json>, found: [string, Json][] = []): [string, Json][] {
    for (const [name, state] of Object.entries(states)) {
      if (state.Type === 'Task' && /FunctionArn\}$/.test(String(state.Resource))) found.push([name, state]);
      const nested = (state.ItemProcessor ?? state.Iterator) as { States: Record<string, Json> } | undefined;
      if (nested) lambdaTasks(nested.States, found);
    }
    return found;
  }

  it('every Lambda Task retries every transient Lambda error, ClientExecutionTimeout included', () => {
    const asl = JSON.parse(readFileSync(ASL_PATH, 'utf8')) as { States: Record<string, Json> };
    const tasks = lambdaTasks(asl.States);
    expect(tasks.length).toBeGreaterThanOrEqual(5);
    for (const [name, state] of tasks) {
      const retried = new Set(
        ((state.Retry ?? []) as { ErrorEquals: string[]; MaxAttempts?: number }[])
          .filter((r) => (r.MaxAttempts ?? 3) > 0)
          .flatMap((r) => r.ErrorEquals),
      );
      if (retried.has('States.ALL')) continue;
      for (const error of LAMBDA_TRANSIENT) expect(retried.has(error), `${name} retries ${error}`).toBe(true);
    }
  });
});

describe('small gaps', () => {
  it('keeps SES events 14 days in the queue, and its dead letters as long', () => {
    const queues = existing.ofType('AWS::SQS::Queue');
    expect(queues).toHaveLength(2);
    for (const [id, queue] of queues)
      expect(queue.Properties.MessageRetentionPeriod, id).toBe(14 * 24 * 3600);
  });

  it('declares only AWS SDK packages the code imports (the bundles carry what is imported)', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      devDependencies?: Record<string, string>;
    };
    const declared = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }).filter((name) =>
      name.startsWith('@aws-sdk/'),
    );
    const sources = ['api', 'cli', 'core', 'handlers', 'infra', 'local', 'web', 'bench', 'test']
      .flatMap((dir) => {
        try {
          return (readdirSync(join(REPO_ROOT, dir), { recursive: true }) as string[]).map((f) =>
            join(dir, f),
          );
        } catch {
          return [];
        }
      })
      .filter((file) => /\.(ts|tsx|mts|js|mjs)$/.test(file) && !file.includes('node_modules'))
      .map((file) => readFileSync(join(REPO_ROOT, file), 'utf8'))
      .join('\n');
    for (const name of declared)
      expect(sources.includes(`'${name}'`) || sources.includes(`'${name}/`), `${name} is imported`).toBe(
        true,
      );
  });
});
