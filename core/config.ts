/**
 * Configuration: where the services are and what the campaign defaults are. Lambda handlers read it from
 * the environment; the local stack builds it from the ports it started. Core code only ever receives it.
 */
import { z } from 'zod';
import { ConfigError } from './errors.ts';

/**
 * The most sends one SendBatch worker keeps in flight. The worker's window follows what it needs
 * (core/sending/in-flight-window.ts): it starts at 16 and grows towards its rate x SES's latency x 2 (room
 * to catch up) only while its limiter has releases nobody takes and its event loop is not busy, so where
 * CPU binds it stays at 16 (a fixed 32 cost memory and rate there: docs/benchmarks.md, "Where it stands").
 * 64 lets a worker of 250/s catch up at up to 128 ms of SES latency (one of 1,000/s reach its share at
 * 64 ms). It also sets the crash bound: at most maxInFlight + 2 x ledgerGroupSize sends (114) accepted and
 * not yet recorded (docs/guarantees.md). CDK parameter maxInFlight, SIXBACK_MAX_IN_FLIGHT.
 */
export const DEFAULT_MAX_IN_FLIGHT = 64;
export const SixbackConfigSchema = z.object({
  region: z.string().default('us-east-1'),
  /** Service endpoints; unset means real AWS. Each can be set on its own (e.g. local S3, real SES). */
  endpoints: z
    .object({
      s3: z.string().url().optional(),
      dynamodb: z.string().url().optional(),
      ses: z.string().url().optional(),
      sfn: z.string().url().optional(),
    })
    .default({}),
  /** Static credentials for local services; unset means the standard AWS credential chain. */
  credentials: z.object({ accessKeyId: z.string(), secretAccessKey: z.string() }).optional(),
  bucket: z.string().min(3),
  tables: z.object({
    templates: z.string(),
    campaigns: z.string(),
    ledger: z.string(),
    suppression: z.string(),
    analytics: z.string(),
    /** Webhook subscriptions and delivery logs; unset: no webhooks. */
    webhooks: z.string().optional(),
  }),
  /** The EventBridge bus sixback publishes its events to (AWS); unset: delivered in-process (local). */
  eventBusName: z.string().optional(),
  /** Webhooks may target private, loopback and link-local addresses (the local stack; never by default). */
  webhookAllowPrivate: z.boolean().default(false),
  stateMachineArn: z.string().optional(),
  /** Emails per second when a campaign names none and SES cannot be asked. */
  defaultRate: z.number().positive().default(14),
  configurationSet: z.string().optional(),
  /**
   * The configuration set's tracking variants exist (`<set>-opens`, `<set>-clicks`, `<set>-tracked`, as the
   * CDK stack and the local SES create them), so each campaign's mail names the one for its tracking
   * (core/sending/tracking.ts). Off, every campaign names the set itself and tracks what it tracks.
   */
  trackingConfigurationSets: z.boolean().default(false),
  /** The most emails a single sender keeps in flight to SES at once (DEFAULT_MAX_IN_FLIGHT); its window
   * follows its rate x SES latency below that (core/sending/in-flight-window.ts). */
  maxInFlight: z.number().int().positive().max(1000).default(DEFAULT_MAX_IN_FLIGHT),
  /**
   * The most one SendBatch worker (one Map child, one Lambda) is asked to send per second; the plan runs
   * rate / maxWorkerRate children. 250 suits the SDK path; the thin transports sustain about 1,000
   * (docs/benchmarks.md). Each worker needs about maxWorkerRate x SES latency sends in flight.
   */
  maxWorkerRate: z.number().positive().max(10_000).default(250),
  /**
   * The life of one EXPRESS child execution, retries included: AWS's 300 s. The sender plans each
   * attempt's deadline from it; only tests of the local stack set it shorter (with the engine's limit).
   */
  childExecutionMs: z.number().int().positive().max(300_000).default(300_000),
  /**
   * How long an SES events invocation may still be counting a batch (core/compliance/count-journal.ts):
   * above the function's timeout (30 s), below the queue's visibility timeout (6 minutes). The local
   * stack, whose queue offers a batch again only after the handler answered, uses 2 s.
   */
  countInFlightMs: z.number().int().nonnegative().max(3_600_000).default(120_000),
  /** How SendEmail reaches SES: the stock SDK client, or the thin signed transport (core/aws/fast/ses-transport.ts). */
  sesTransport: z.enum(['sdk', 'fast']).default('fast'),
  /** How the ledger and suppression batch reads/writes reach DynamoDB: the SDK's document client, or the
   * thin signed transport (core/aws/fast/dynamo-rpc.ts). */
  dynamoTransport: z.enum(['sdk', 'fast']).default('fast'),
  /** The Map children share the campaign's rate through one slot grid counted in the ledger table
   * (core/sending/rate-budget.ts: no sliding second above the rate); false keeps each to its equal share. */
  // Off by default: measured on a loaded machine it gave up too many slots (senders woken over 10 ms late)
  // to reach 0.95 of the limit (docs/benchmarks.md, Pacing); the per-batch limiter stays the default.
  sharedRate: z.boolean().default(false),
  /** Link to the console page of an execution, or undefined locally. */
  consoleBaseUrl: z.string().optional(),
  /** Public base URL of the API, for unsubscribe links (https://mail.example.com); locally the API server's URL. */
  publicBaseUrl: z.string().url().optional(),
  /** Allowed From addresses or domains ("news@example.com", "example.com"); empty allows any (local use). */
  senderIdentities: z.array(z.string().min(1)).default([]),
  /** The unsubscribe-token secret itself (local stack), or where to read it on AWS (Secrets Manager / SSM). */
  unsubscribeSecret: z.string().min(32).optional(),
  unsubscribeSecretArn: z.string().optional(),
  unsubscribeSecretParameter: z.string().optional(),
  /** Optional mailbox for the mailto: form of List-Unsubscribe. */
  unsubscribeMailto: z.string().email().optional(),
  /**
   * Public origin that serves the bucket's `images/` keys: an image's URL is `${imagesBaseUrl}/${key}`.
   * On AWS the CloudFront distribution (https://dxxxx.cloudfront.net); unset locally, where the S3
   * endpoint and bucket (http://127.0.0.1:port/bucket) serve the same keys.
   */
  imagesBaseUrl: z.string().url().optional(),
  /** The function the API invokes asynchronously to run a job (a report, an import); unset: in the request. */
  jobsFunction: z.string().min(1).optional(),
  /**
   * Operational logs (core/logging.ts). The level: unset, Powertools decides (Lambda's log level control,
   * POWERTOOLS_LOG_LEVEL, else INFO). JSON lines on Lambda, one line of text locally. Recipients'
   * addresses are hashed by default (`r_` and 10 hex digits of their HMAC-SHA256 under `logKey`), or
   * redacted, or left plain.
   */
  logLevel: z.enum(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT']).optional(),
  logFormat: z.enum(['json', 'text']).default('json'),
  logRecipients: z.enum(['hash', 'redact', 'plain']).default('hash'),
  /**
   * The per-deployment key of those hashes: itself (the local stack keeps one per data folder), or the
   * Secrets Manager secret a function reads it from on AWS (the CDK stack creates it). Without one,
   * addresses are redacted instead of hashed.
   */
  logKey: z.string().min(32).optional(),
  logKeyArn: z.string().optional(),
});
export type SixbackConfig = z.infer<typeof SixbackConfigSchema>;
export type SixbackConfigInput = z.input<typeof SixbackConfigSchema>;

export function parseConfig(input: SixbackConfigInput): SixbackConfig {
  const result = SixbackConfigSchema.safeParse(input);
  if (!result.success) {
    throw new ConfigError(
      `Invalid configuration: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  return result.data;
}

/** The environment variables a deployed function reads (set by the CDK stack). */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): SixbackConfig {
  const optional = (name: string) => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
  const rate = optional('SIXBACK_DEFAULT_RATE');
  const number = (name: string) => {
    const value = optional(name);
    return value === undefined ? undefined : Number(value);
  };
  return parseConfig({
    region: env.AWS_REGION ?? 'us-east-1',
    endpoints: {
      s3: optional('SIXBACK_S3_ENDPOINT'),
      dynamodb: optional('SIXBACK_DYNAMODB_ENDPOINT'),
      ses: optional('SIXBACK_SES_ENDPOINT'),
      sfn: optional('SIXBACK_SFN_ENDPOINT'),
    },
    bucket: env.SIXBACK_BUCKET ?? '',
    tables: {
      templates: env.SIXBACK_TEMPLATES_TABLE ?? '',
      campaigns: env.SIXBACK_CAMPAIGNS_TABLE ?? '',
      ledger: env.SIXBACK_LEDGER_TABLE ?? '',
      suppression: env.SIXBACK_SUPPRESSION_TABLE ?? '',
      analytics: env.SIXBACK_ANALYTICS_TABLE ?? '',
      webhooks: optional('SIXBACK_WEBHOOKS_TABLE'),
    },
    eventBusName: optional('SIXBACK_EVENT_BUS'),
    webhookAllowPrivate: optional('SIXBACK_WEBHOOK_ALLOW_PRIVATE') === 'true',
    stateMachineArn: optional('SIXBACK_STATE_MACHINE_ARN'),
    sesTransport: optional('SIXBACK_SES_TRANSPORT') as 'sdk' | 'fast' | undefined,
    dynamoTransport: optional('SIXBACK_DYNAMO_TRANSPORT') as 'sdk' | 'fast' | undefined,
    defaultRate: rate === undefined ? undefined : Number(rate),
    maxInFlight: number('SIXBACK_MAX_IN_FLIGHT'),
    sharedRate:
      optional('SIXBACK_SHARED_RATE') === undefined ? undefined : optional('SIXBACK_SHARED_RATE') !== 'false',
    maxWorkerRate: number('SIXBACK_MAX_WORKER_RATE'),
    configurationSet: optional('SIXBACK_CONFIGURATION_SET'),
    trackingConfigurationSets: optional('SIXBACK_TRACKING_CONFIGURATION_SETS') === 'true',
    publicBaseUrl: optional('SIXBACK_PUBLIC_BASE_URL'),
    senderIdentities: (optional('SIXBACK_SENDER_IDENTITIES') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    unsubscribeSecretArn: optional('SIXBACK_UNSUBSCRIBE_SECRET_ARN'),
    unsubscribeSecretParameter: optional('SIXBACK_UNSUBSCRIBE_SECRET_PARAMETER'),
    unsubscribeMailto: optional('SIXBACK_UNSUBSCRIBE_MAILTO'),
    imagesBaseUrl: optional('SIXBACK_IMAGES_BASE_URL'),
    jobsFunction: optional('SIXBACK_JOBS_FUNCTION'),
    logLevel: optional('SIXBACK_LOG_LEVEL')?.toUpperCase() as SixbackConfigInput['logLevel'],
    logFormat: optional('SIXBACK_LOG_FORMAT') as SixbackConfigInput['logFormat'],
    logRecipients: optional('SIXBACK_LOG_RECIPIENTS') as SixbackConfigInput['logRecipients'],
    logKeyArn: optional('SIXBACK_LOG_KEY_ARN'),
  });
}

/** Object keys in the bucket, in one place so the API, the workflow and IAM policies agree. */
export const keys = {
  recipientsUploadPrefix: 'uploads/recipients/',
  imagesPrefix: 'images/',
  campaignPrefix: (campaignId: string) => `campaigns/${campaignId}/`,
  prepared: (campaignId: string) => `campaigns/${campaignId}/recipients.prepared.csv`,
  /**
   * The prepared file campaign creation writes, one key per creation attempt, so that two concurrent
   * requests with one Idempotency-Key never write each other's file; the record names the one it kept
   * (CampaignRecord.prepared). `keys.prepared('*')` matches it too (an IAM `*` spans slashes).
   */
  preparedAtCreation: (campaignId: string, attempt: string) =>
    `campaigns/${campaignId}/${attempt}/recipients.prepared.csv`,
  /** An A/B test's sample and remainder: the prepared file's ok rows split by the assignment. */
  sample: (campaignId: string) => `campaigns/${campaignId}/recipients.sample.csv`,
  remainder: (campaignId: string) => `campaigns/${campaignId}/recipients.remainder.csv`,
  results: (campaignId: string) => `campaigns/${campaignId}/results`,
  report: (campaignId: string) => `campaigns/${campaignId}/report.csv`,
  /** The report joined with SES outcomes (delivered, bounced, opened...), written when it is asked for. */
  outcomesReport: (campaignId: string) => `campaigns/${campaignId}/report-outcomes.csv`,
};
