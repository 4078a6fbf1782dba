/**
 * Every Lambda function of sixback and exactly what each may touch. Read a function's block to know its
 * whole access: the grants name actions one by one on the table, key prefix or identity it uses.
 *
 * Each function gets the same environment, the variables core/config.ts `configFromEnv` reads, so any
 * handler builds the same AppDeps the local stack builds.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { TABLES, type TableShape } from '../../core/aws/tables.ts';
import { keys } from '../../core/config.ts';
import { TASK_FUNCTIONS, type TaskFunctionName } from '../../handlers/index.ts';
import { API_ENTRY, JOBS_ENTRY, SES_EVENTS_ENTRY, WEBHOOKS_ENTRY } from '../entries.ts';
import { acknowledge, wildcardFindings } from '../nag.ts';
import type { Email } from './email.ts';
import { REPO_ROOT, SixbackFunction } from './function.ts';
import type { Storage } from './storage.ts';
import { aslTaskTimeoutSeconds } from './workflow.ts';

export { API_ENTRY, SES_EVENTS_ENTRY, WEBHOOKS_ENTRY };

export const handlerExists = (entry: string) => existsSync(join(REPO_ROOT, entry));

/** What configFromEnv reads, by variable name; values may be CloudFormation tokens. */
export interface FunctionEnvironment {
  SIXBACK_BUCKET: string;
  SIXBACK_TEMPLATES_TABLE: string;
  SIXBACK_CAMPAIGNS_TABLE: string;
  SIXBACK_LEDGER_TABLE: string;
  SIXBACK_SUPPRESSION_TABLE: string;
  SIXBACK_ANALYTICS_TABLE: string;
  SIXBACK_STATE_MACHINE_ARN: string;
  SIXBACK_SES_TRANSPORT: 'sdk' | 'fast';
  SIXBACK_DYNAMO_TRANSPORT: 'sdk' | 'fast';
  SIXBACK_MAX_WORKER_RATE: string;
  SIXBACK_MAX_IN_FLIGHT: string;
  SIXBACK_DEFAULT_RATE: string;
  SIXBACK_CONFIGURATION_SET: string;
  SIXBACK_TRACKING_CONFIGURATION_SETS: 'true';
  SIXBACK_SHARED_RATE: 'true' | 'false';
  SIXBACK_PUBLIC_BASE_URL: string;
  SIXBACK_SENDER_IDENTITIES: string;
  SIXBACK_UNSUBSCRIBE_SECRET_ARN: string;
  SIXBACK_UNSUBSCRIBE_MAILTO?: string;
  SIXBACK_IMAGES_BASE_URL: string;
  SIXBACK_WEBHOOKS_TABLE: string;
  SIXBACK_EVENT_BUS: string;
  SIXBACK_LOG_LEVEL: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';
  SIXBACK_LOG_RECIPIENTS: 'hash' | 'redact' | 'plain';
  SIXBACK_LOG_KEY_ARN: string;
}

/**
 * Variables configFromEnv reads that a deployment deliberately leaves unset, and why. The infra tests
 * check that every variable config.ts reads is either set by the stack or listed here.
 */
export const ENV_NOT_SET_ON_AWS: Record<string, string> = {
  SIXBACK_S3_ENDPOINT: 'endpoints are for the local stack; unset means real AWS',
  SIXBACK_DYNAMODB_ENDPOINT: 'endpoints are for the local stack; unset means real AWS',
  SIXBACK_SES_ENDPOINT: 'endpoints are for the local stack; unset means real AWS',
  SIXBACK_SFN_ENDPOINT: 'endpoints are for the local stack; unset means real AWS',
  SIXBACK_UNSUBSCRIBE_SECRET_PARAMETER: 'the stack keeps the secret in Secrets Manager (the ARN variable)',
  SIXBACK_JOBS_FUNCTION: 'only the API starts jobs; the Jobs function cannot name itself (a reference cycle)',
  SIXBACK_WEBHOOK_ALLOW_PRIVATE:
    'webhooks never target private or link-local addresses from inside AWS (SSRF); set it by hand to allow them',
  SIXBACK_LOG_FORMAT: "JSON lines, Powertools' default on Lambda; text is for the local stack",
};

export interface FunctionsProps {
  storage: Storage;
  email: Email;
  unsubscribeSecret: secretsmanager.ISecret;
  stateMachineName: string;
  stateMachineArn: string;
  publicBaseUrl: string;
  imagesBaseUrl: string;
  senderIdentities: string[];
  unsubscribeMailto: string | undefined;
  defaultRate: number;
  sesTransport: 'sdk' | 'fast';
  dynamoTransport: 'sdk' | 'fast';
  maxWorkerRate: number;
  maxInFlight: number;
  /** The functions' own log lines (core/logging.ts): their level, and how addresses appear in them. */
  functionLogLevel: FunctionEnvironment['SIXBACK_LOG_LEVEL'];
  logRecipients: FunctionEnvironment['SIXBACK_LOG_RECIPIENTS'];
  sendBatchTimeoutSeconds: number;
  sendBatchMemoryMb: number;
  logRetention: logs.RetentionDays;
  /** The `sixback` event bus every function publishes status changes and recipient events to. */
  eventBus: events.IEventBus;
}

/** How far under the ASL Task timeout a function must stop, so a retry never overlaps a live attempt. */
export const TASK_TIMEOUT_MARGIN_SECONDS = 30;

export class Functions extends Construct {
  readonly tasks: Record<TaskFunctionName, SixbackFunction>;
  readonly api?: SixbackFunction;
  readonly sesEvents?: SixbackFunction;
  readonly jobs?: SixbackFunction;
  readonly webhooks?: SixbackFunction;
  readonly environment: FunctionEnvironment;

  constructor(scope: Construct, id: string, props: FunctionsProps) {
    super(scope, id);
    const { bucket, tables } = props.storage;
    // The key of the recipient pseudonyms in every function's log lines (core/logging.ts): one per
    // deployment, so one recipient's lines can be followed across functions, and nobody who reads the
    // logs without it can confirm a guessed address.
    const logKey = new secretsmanager.Secret(this, 'LogKey', {
      description: "sixback: HMAC key of the recipient pseudonyms in the functions' logs",
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
    });
    acknowledge(logKey, [
      {
        id: 'AwsSolutions-SMG4',
        reason:
          'Rotating the log key would change every recipient pseudonym mid-deployment, so lines could no longer be followed; it signs nothing.',
      },
    ]);
    this.environment = {
      SIXBACK_BUCKET: bucket.bucketName,
      SIXBACK_TEMPLATES_TABLE: tables.templates.tableName,
      SIXBACK_CAMPAIGNS_TABLE: tables.campaigns.tableName,
      SIXBACK_LEDGER_TABLE: tables.ledger.tableName,
      SIXBACK_SUPPRESSION_TABLE: tables.suppression.tableName,
      SIXBACK_ANALYTICS_TABLE: tables.analytics.tableName,
      SIXBACK_STATE_MACHINE_ARN: props.stateMachineArn,
      SIXBACK_SES_TRANSPORT: props.sesTransport,
      SIXBACK_DYNAMO_TRANSPORT: props.dynamoTransport,
      SIXBACK_MAX_WORKER_RATE: String(props.maxWorkerRate),
      SIXBACK_MAX_IN_FLIGHT: String(props.maxInFlight),
      SIXBACK_DEFAULT_RATE: String(props.defaultRate),
      SIXBACK_CONFIGURATION_SET: props.email.configurationSet.configurationSetName,
      // The Email construct creates the set's tracking variants, so each campaign names its own.
      SIXBACK_TRACKING_CONFIGURATION_SETS: 'true',
      // Opt-in until the shared slot grid is measured at 0.95 of the limit (core/sending/rate-budget.ts).
      SIXBACK_SHARED_RATE: 'false',
      SIXBACK_PUBLIC_BASE_URL: props.publicBaseUrl,
      SIXBACK_SENDER_IDENTITIES: props.senderIdentities.join(','),
      SIXBACK_UNSUBSCRIBE_SECRET_ARN: props.unsubscribeSecret.secretArn,
      ...(props.unsubscribeMailto ? { SIXBACK_UNSUBSCRIBE_MAILTO: props.unsubscribeMailto } : {}),
      SIXBACK_IMAGES_BASE_URL: props.imagesBaseUrl,
      SIXBACK_WEBHOOKS_TABLE: tables.webhooks.tableName,
      SIXBACK_EVENT_BUS: props.eventBus.eventBusName,
      SIXBACK_LOG_LEVEL: props.functionLogLevel,
      SIXBACK_LOG_RECIPIENTS: props.logRecipients,
      SIXBACK_LOG_KEY_ARN: logKey.secretArn,
    };
    const environment = { ...this.environment } as Record<string, string>;
    const logRetention = props.logRetention;
    const taskTimeout = (name: TaskFunctionName) =>
      Duration.seconds(aslTaskTimeoutSeconds(name) - TASK_TIMEOUT_MARGIN_SECONDS);

    const make = (name: TaskFunctionName, fnId: string, description: string, memorySize: number) =>
      new SixbackFunction(this, fnId, {
        entry: TASK_FUNCTIONS[name].entry,
        description,
        environment,
        memorySize,
        timeout: taskTimeout(name),
        logRetention,
      });

    const objects = (pattern: string) => bucket.arnForObjects(pattern);
    const prepared = objects(keys.prepared('*'));
    const testFiles = [objects(keys.sample('*')), objects(keys.remainder('*'))];
    const uploads = objects(`${keys.recipientsUploadPrefix}*`);
    const results = objects(`${keys.results('*')}/*`);
    const reports = objects(keys.report('*'));
    // Without ListBucket, S3 answers 403 for a key that does not exist; with it, 404, which the code turns
    // into "nothing was uploaded there" instead of a permissions failure.
    const missingIs404 = (fn: SixbackFunction) =>
      allow(fn, 'MissingKeysAre404', ['s3:ListBucket'], [bucket.bucketArn]);
    const perCampaign =
      'campaign ids are chosen at run time; the grant is limited to this one key of each campaign';
    const outcomesReports = objects(keys.outcomesReport('*'));
    // A campaign record is its item plus its progress item (both in the campaigns table: Put replaces the
    // progress on a new run or at the end) and its counter shards in the analytics table (read in a batch).
    const campaignRecord = (fn: SixbackFunction) => {
      allow(
        fn,
        'Campaign',
        ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem'],
        [tables.campaigns.tableArn],
      );
      allow(fn, 'CampaignCounters', ['dynamodb:BatchGetItem'], [tables.analytics.tableArn]);
    };

    // Prepare: reads the uploaded CSV, writes the prepared file, fits the rate to the SES quota.
    const prepare = make(
      'PrepareFunctionArn',
      'Prepare',
      'Checks recipients, writes the prepared file',
      1024,
    );
    campaignRecord(prepare);
    allow(prepare, 'Template', ['dynamodb:GetItem'], [tables.templates.tableArn]);
    allow(
      prepare,
      'ReadUpload',
      ['s3:GetObject'],
      [uploads],
      'uploads get server-chosen keys under this prefix',
    );
    allow(
      prepare,
      'WritePrepared',
      ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'],
      [prepared, ...testFiles],
      perCampaign,
    );
    allow(prepare, 'SendQuota', ['ses:GetAccount'], ['*'], SES_GET_ACCOUNT_WHY);
    missingIs404(prepare);

    // BeginSending: moves the campaign to "sending".
    const beginSending = make('BeginSendingFunctionArn', 'BeginSending', 'Marks a campaign as sending', 256);
    campaignRecord(beginSending);

    // SendBatch: the sender. Ledger and suppression lookups, SES, progress counters, unsubscribe links.
    const sendBatch = new SixbackFunction(this, 'SendBatch', {
      entry: TASK_FUNCTIONS.SendBatchFunctionArn.entry,
      description: 'Sends one batch of a campaign through SES',
      environment,
      memorySize: props.sendBatchMemoryMb,
      timeout: Duration.seconds(props.sendBatchTimeoutSeconds),
      logRetention,
    });
    allow(sendBatch, 'Template', ['dynamodb:GetItem'], [tables.templates.tableArn]);
    // Batch reads and writes of outcomes, the per-batch lease (one conditional Put, one Delete) and the
    // campaign-wide rate's counter (conditional UpdateItems, core/sending/rate-budget.ts).
    allow(
      sendBatch,
      'Ledger',
      [
        'dynamodb:BatchGetItem',
        'dynamodb:BatchWriteItem',
        'dynamodb:PutItem',
        'dynamodb:DeleteItem',
        'dynamodb:UpdateItem',
      ],
      [tables.ledger.tableArn],
    );
    allow(sendBatch, 'Suppression', ['dynamodb:BatchGetItem'], [tables.suppression.tableArn]);
    // Reads the campaign before sending (a cancelled or superseded run sends nothing), adds progress,
    // and fails the campaign when SES stops the account.
    campaignRecord(sendBatch);
    allow(
      sendBatch,
      'UnsubscribeKey',
      ['secretsmanager:GetSecretValue'],
      [props.unsubscribeSecret.secretArn],
    );
    props.email.grantSend(sendBatch);

    // Finalise: reads the Map's results and the prepared file, writes the report, settles the campaign.
    const finalise = make('FinaliseFunctionArn', 'Finalise', 'Totals a campaign, writes its report', 1024);
    campaignRecord(finalise);
    // Looks up rows no batch reported, and records the final failures so a resend finds them.
    allow(finalise, 'Ledger', ['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem'], [tables.ledger.tableArn]);
    allow(finalise, 'ReadResults', ['s3:GetObject'], [results, prepared], perCampaign);
    allow(finalise, 'WriteReport', ['s3:PutObject', 's3:AbortMultipartUpload'], [reports], perCampaign);
    missingIs404(finalise);

    // PickWinner: counts the A/B sample's sends from its results, reads the per-variant unique opens and
    // clicks from the campaign's counter items (analytics table), records the test and its decision.
    const pickWinner = make('PickWinnerFunctionArn', 'PickWinner', 'Decides an A/B test', 512);
    allow(pickWinner, 'Campaign', ['dynamodb:GetItem', 'dynamodb:UpdateItem'], [tables.campaigns.tableArn]);
    allow(pickWinner, 'VariantCounters', ['dynamodb:Query'], [tables.analytics.tableArn]);
    allow(pickWinner, 'ReadSampleResults', ['s3:GetObject'], [results], perCampaign);
    missingIs404(pickWinner);
    // Every status change (any task, the API's cancel/resume) and recipient event is put on the bus.
    const publishes = (fn: SixbackFunction) =>
      allow(fn, 'PublishEvents', ['events:PutEvents'], [props.eventBus.eventBusArn]);
    for (const fn of [prepare, beginSending, sendBatch, finalise, pickWinner]) publishes(fn);

    this.tasks = {
      PrepareFunctionArn: prepare,
      BeginSendingFunctionArn: beginSending,
      SendBatchFunctionArn: sendBatch,
      FinaliseFunctionArn: finalise,
      PickWinnerFunctionArn: pickWinner,
    };

    // The API: templates, uploads, campaigns, suppression list, public unsubscribe pages.
    if (handlerExists(API_ENTRY)) {
      const api = new SixbackFunction(this, 'Api', {
        entry: API_ENTRY,
        description: 'The sixback HTTP API',
        environment,
        memorySize: 1024,
        // API Gateway gives an integration 30 s at most.
        timeout: Duration.seconds(29),
        logRetention,
      });
      const templateActions = ['GetItem', 'PutItem', 'Query', 'Scan', 'BatchWriteItem'];
      allow(
        api,
        'Templates',
        templateActions.map((a) => `dynamodb:${a}`),
        [tables.templates.tableArn],
      );
      allow(
        api,
        'Campaigns',
        [
          'dynamodb:GetItem',
          'dynamodb:BatchGetItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          'dynamodb:Query',
        ],
        [tables.campaigns.tableArn, ...indexArns(tables.campaigns, TABLES.campaigns)],
      );
      // Stats and recipient lookups read it; one-click unsubscribes write the recipient and the counters.
      allow(
        api,
        'Analytics',
        [
          'dynamodb:GetItem',
          'dynamodb:BatchGetItem',
          'dynamodb:Query',
          'dynamodb:UpdateItem',
          'dynamodb:PutItem',
        ],
        [tables.analytics.tableArn],
      );
      const suppressionActions = [
        'GetItem',
        'BatchGetItem',
        'PutItem',
        'DeleteItem',
        'Scan',
        'BatchWriteItem',
      ];
      allow(
        api,
        'Suppression',
        suppressionActions.map((a) => `dynamodb:${a}`),
        [tables.suppression.tableArn],
      );
      // Presigned POSTs are signed with this role: an upload may go only where this role may put.
      allow(
        api,
        'Uploads',
        ['s3:PutObject', 's3:GetObject'],
        [uploads, objects(`${keys.imagesPrefix}*`)],
        'uploads get server-chosen keys under these two prefixes',
      );
      allow(api, 'Reports', ['s3:GetObject'], [reports, outcomesReports], perCampaign);
      // Creating a campaign reads its upload once and writes the prepared file (Prepare then only checks
      // the upload's ETag); a creation that loses an Idempotency-Key race deletes the file it wrote.
      allow(
        api,
        'WritePreparedAtCreation',
        ['s3:PutObject', 's3:AbortMultipartUpload', 's3:DeleteObject'],
        [prepared],
        perCampaign,
      );
      // The report with SES outcomes is written when asked for, beside the finaliser's.
      allow(
        api,
        'WriteOutcomesReport',
        ['s3:PutObject', 's3:AbortMultipartUpload'],
        [outcomesReports],
        perCampaign,
      );
      // Cancelling a campaign writes its report right away, as the finaliser would (core/campaigns/runs.ts).
      allow(api, 'ReportAfterStop', ['s3:GetObject'], [results, prepared], perCampaign);
      allow(api, 'WriteReport', ['s3:PutObject', 's3:AbortMultipartUpload'], [reports], perCampaign);
      allow(api, 'Ledger', ['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem'], [tables.ledger.tableArn]);
      missingIs404(api);
      allow(api, 'StartCampaigns', ['states:StartExecution'], [props.stateMachineArn]);
      allow(
        api,
        'StopCampaigns',
        ['states:DescribeExecution', 'states:StopExecution'],
        [
          Stack.of(this).formatArn({
            service: 'states',
            resource: 'execution',
            resourceName: `${props.stateMachineName}:*`,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
        'executions of this state machine only: one per campaign run, named at run time',
      );
      allow(api, 'SendQuota', ['ses:GetAccount'], ['*'], SES_GET_ACCOUNT_WHY);
      allow(api, 'UnsubscribeKey', ['secretsmanager:GetSecretValue'], [props.unsubscribeSecret.secretArn]);
      // Test sends (POST /v1/campaigns/test) go straight from the API, as the same identities.
      props.email.grantSend(api);
      // Webhook subscriptions, their delivery logs, and the test button's log line.
      allow(
        api,
        'Webhooks',
        ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:Query'],
        [tables.webhooks.tableArn],
      );
      publishes(api);
      this.api = api;

      // Jobs: work an API request starts but could not finish in API Gateway's 29 s (a stopped campaign's
      // report, a suppression import of an uploaded file; core/jobs/jobs.ts), invoked asynchronously.
      if (handlerExists(JOBS_ENTRY)) {
        const jobs = new SixbackFunction(this, 'Jobs', {
          entry: JOBS_ENTRY,
          description: 'Runs reports and imports the API started',
          environment,
          memorySize: 1024,
          timeout: Duration.minutes(15),
          logRetention,
        });
        allow(
          jobs,
          'CampaignsAndJobs',
          ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
          [tables.campaigns.tableArn],
        );
        allow(jobs, 'Ledger', ['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem'], [tables.ledger.tableArn]);
        allow(jobs, 'ReadRun', ['s3:GetObject'], [results, prepared], perCampaign);
        allow(jobs, 'WriteReport', ['s3:PutObject', 's3:AbortMultipartUpload'], [reports], perCampaign);
        allow(
          jobs,
          'ReadUploads',
          ['s3:GetObject'],
          [uploads],
          'uploads get server-chosen keys under this prefix',
        );
        allow(jobs, 'Suppression', ['dynamodb:BatchWriteItem'], [tables.suppression.tableArn]);
        missingIs404(jobs);
        allow(api, 'StartJobs', ['lambda:InvokeFunction'], [jobs.functionArn]);
        api.addEnvironment('SIXBACK_JOBS_FUNCTION', jobs.functionName);
        // A stopped campaign's report settles its status: that change is published too.
        publishes(jobs);
        // Every minute, the unsubscribes whose publication failed are published (the outbox markers and
        // the recipients' outboxes in the analytics table: core/compliance/unsubscribe.ts).
        allow(
          jobs,
          'UnsubscribeOutbox',
          ['dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
          [tables.analytics.tableArn],
        );
        new events.Rule(this, 'UnsubscribeOutboxSweep', {
          description: 'sixback: publishes the unsubscribes left in the outbox (every minute)',
          schedule: events.Schedule.rate(Duration.minutes(1)),
          targets: [
            new targets.LambdaFunction(jobs, {
              event: events.RuleTargetInput.fromObject({ sweep: 'unsubscribe-outbox' }),
              retryAttempts: 0,
            }),
          ],
        });
        this.jobs = jobs;
      }
    }

    // SES events: counted on their campaign; hard bounces and complaints suppress the address.
    if (handlerExists(SES_EVENTS_ENTRY)) {
      const sesEvents = new SixbackFunction(this, 'SesEvents', {
        entry: SES_EVENTS_ENTRY,
        description:
          'Acts on SES events: per-recipient outcomes, counters, suppression of bounces and complaints',
        environment,
        memorySize: 256,
        timeout: Duration.seconds(30),
        logRetention,
      });
      // Reads the campaign (its start time buckets the series; alarms are patched on it).
      allow(sesEvents, 'Campaign', ['dynamodb:GetItem', 'dynamodb:UpdateItem'], [tables.campaigns.tableArn]);
      // Recipient outcomes (conditional updates), event-id markers, counters, time buckets, links.
      allow(
        sesEvents,
        'Analytics',
        ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem'],
        [tables.analytics.tableArn],
      );
      allow(sesEvents, 'Suppress', ['dynamodb:PutItem'], [tables.suppression.tableArn]);
      // The campaign (its counters, and whether a recipient is in an A/B test's sample).
      allow(sesEvents, 'ReadCampaign', ['dynamodb:GetItem'], [tables.campaigns.tableArn]);
      publishes(sesEvents);
      this.sesEvents = sesEvents;
    }

    // Webhooks: each event on the bus, POSTed signed to the subscribers that want it, with retries.
    if (handlerExists(WEBHOOKS_ENTRY)) {
      const webhooks = new SixbackFunction(this, 'Webhooks', {
        entry: WEBHOOKS_ENTRY,
        description: 'Delivers sixback events to webhook subscribers',
        environment,
        memorySize: 256,
        // Seven attempts with backoff take about a minute (core/webhooks/deliver.ts DEFAULT_RETRY).
        timeout: Duration.seconds(120),
        logRetention,
      });
      allow(webhooks, 'Webhooks', ['dynamodb:Query', 'dynamodb:PutItem'], [tables.webhooks.tableArn]);
      this.webhooks = webhooks;
    }

    // Every function reads the log key once per container, before its first line (handlers/runtime.ts).
    for (const child of this.node.children)
      if (child instanceof SixbackFunction)
        allow(child, 'LogKey', ['secretsmanager:GetSecretValue'], [logKey.secretArn]);
  }
}

/** ses:GetAccount has no resource type: IAM accepts only "*" for it. */
export const SES_GET_ACCOUNT_WHY =
  'ses:GetAccount supports no resource-level permission (AWS requires "*"); it reads the send quota';

/**
 * One named statement on the function's own role. A resource with a wildcard must come with the reason
 * it cannot be narrower; that reason acknowledges exactly that cdk-nag finding and no other.
 */
function allow(
  fn: SixbackFunction,
  sid: string,
  actions: string[],
  resources: string[],
  wildcardWhy?: string,
) {
  fn.addToRolePolicy(new iam.PolicyStatement({ sid, actions, resources }));
  const findings = wildcardFindings(fn, resources);
  if (findings.length === 0) return;
  if (!wildcardWhy)
    throw new Error(`${fn.node.path} ${sid}: a wildcard resource needs a reason (${findings})`);
  acknowledge(
    fn.role as iam.Role,
    findings.map((id) => ({ id, reason: `${sid}: ${wildcardWhy}` })),
  );
}

/** Each index by name (from core/aws/tables.ts), which keeps the grant off `index/*`. */
function indexArns(table: dynamodb.ITable, shape: TableShape): string[] {
  return (shape.indexes ?? []).map((index) => `${table.tableArn}/index/${index.name}`);
}
