/**
 * The deployment's parameters: what an operator sets with `-c name=value` (or in cdk.json "context"),
 * validated once here so a typo fails the synth with a message that says what to fix.
 *
 *   senderIdentities   From addresses or domains SES may send as, comma-separated
 *                      ("example.com" or "news@example.com,example.org"). The stack creates each as an SES
 *                      identity; a domain gets Easy DKIM, its three CNAME records printed as stack outputs.
 *   existingIdentities Identities already in SES in this region (created by hand or another stack): sixback
 *                      may send as them too, but references them by ARN instead of creating them (creating
 *                      one that exists fails the deploy). Listing one in both is the same as listing it here.
 *   sandboxRecipients  While the account is in the SES sandbox, SendEmail is also authorised against each
 *                      recipient's verified identity: list those test addresses here. Empty in production.
 *   defaultRate        Emails per second for a campaign that names no rate (default 14, the usual
 *                      production starting quota), capped by the account's SES MaxSendRate.
 *   sendBatchTimeoutSeconds  The SendBatch function's timeout, 210-239 with the shipped ASL: at least one
 *                      attempt (the sender's 180 s deadline plus 30 s to finish what is in flight) and
 *                      under the ASL SendBatch TimeoutSeconds (240, itself within an EXPRESS child's
 *                      300 s), so a slow batch stops itself and is retried rather than killed (default 230).
 *                      Checked here (core/sending/deadline.ts sendBatchTimeoutProblem).
 *   sesTransport       How the sender calls SES: "fast" (sixback's lean signed HTTP client,
 *                      core/aws/fast/ses-transport.ts, default: 4-6 times less CPU per send, and the only path that
 *                      writes the pre-encoded 100 KB body) or "sdk" (the AWS SDK's SESv2Client).
 *   maxWorkerRate      The most one SendBatch Lambda sends per second; a campaign runs rate / maxWorkerRate
 *                      of them at once (default 250; about 1,000 with both fast transports).
 *   maxInFlight        The most SendEmail calls one SendBatch Lambda keeps in flight (default 64): the
 *                      batch's window starts at 16 and follows maxWorkerRate x SES latency x 2 below it
 *                      (core/sending/in-flight-window.ts); also the crash bound, maxInFlight + 50 per batch.
 *   dynamoTransport    How the sender makes its hot DynamoDB calls (ledger, leases, suppression lookup,
 *                      campaign gate, rate windows): "fast" (core/aws/fast/dynamo-rpc.ts, a thin signed client, default)
 *                      or "sdk".
 *   sendBatchMemoryMb  Memory of the SendBatch function; 1769 MB is one full vCPU (default 1769).
 *   logRetentionDays   CloudWatch Logs retention for every function and the state machine (default 30).
 *   uploadRetentionDays  Uploaded recipient CSVs are deleted after this many days (default 30).
 *   campaignFileRetentionDays  Prepared files, Map results and reports under campaigns/ are deleted after
 *                      this many days; 0 keeps them (default 0).
 *   logLevel           State machine log level: ALL, ERROR, FATAL or OFF (default ERROR; ALL logs every
 *                      batch's recipients).
 *   functionLogLevel   Level of the functions' own log lines (Powertools JSON, one per workflow step, per
 *                      batch and per error): DEBUG, INFO, WARN, ERROR or SILENT (default INFO).
 *   logRecipients      Recipients' addresses in the functions' log lines: "hash" (r_ and 10 hex digits of
 *                      the address's SHA-256, default), "redact" or "plain" (core/logging.ts).
 *   publicBaseUrl      Public URL of the API for unsubscribe links, when it sits behind your own domain;
 *                      default the HTTP API's own URL.
 *   unsubscribeMailto  Optional mailbox for the mailto: form of List-Unsubscribe.
 *   retainData         Keep the bucket and tables when the stack is deleted (default true).
 *   retainedData       Reuse what an earlier, deleted deployment retained instead of creating it anew:
 *                      "bucket=NAME,templates=NAME,campaigns=NAME,ledger=NAME,suppression=NAME,
 *                      analytics=NAME,unsubscribeSecret=ARN" (the stack's RetainedData output prints
 *                      exactly this; analytics may be left out for a deployment from before it existed).
 *   customRedirectDomain  Your own subdomain (e.g. track.example.com) for SES's open pixel and click
 *                      redirects in the tracking configuration sets, with HTTPS required; it must be a verified
 *                      SES identity served over HTTPS in front of SES's tracking domain (docs/analytics.md).
 *                      Default: SES's own tracking domain.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { DEFAULT_MAX_IN_FLIGHT } from '../core/config.ts';
import { sendBatchTimeoutProblem } from '../core/sending/deadline.ts';

const csv = z
  .union([z.string(), z.array(z.string())])
  .transform((value) => (Array.isArray(value) ? value : value.split(',')))
  .transform((items) => items.map((item) => item.trim()).filter(Boolean));

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const IDENTITY = /^([^@\s]+@)?([a-z0-9-]+\.)+[a-z]{2,}$/i;

const identities = csv.default([]).refine((ids) => ids.every((id) => IDENTITY.test(id)), {
  message: 'each sender identity must be an email address or a domain, e.g. "example.com"',
});

/** What a deployment keeps when deleted with retainData, and what a later one can take back by name. */
export const RETAINED_DATA_KEYS = [
  'bucket',
  'templates',
  'campaigns',
  'ledger',
  'suppression',
  'analytics',
  'unsubscribeSecret',
] as const;

const tableName = z.string().regex(/^[A-Za-z0-9_.-]{3,255}$/, 'must be a DynamoDB table name');

const RetainedDataSchema = z
  .union([z.string(), z.record(z.string(), z.string())])
  .transform((value): Record<string, string> => {
    if (typeof value !== 'string') return value;
    const pairs = value
      .split(',')
      .map((pair) => pair.trim())
      .filter(Boolean)
      .map((pair) => {
        const at = pair.indexOf('=');
        return at < 0 ? [pair, ''] : [pair.slice(0, at).trim(), pair.slice(at + 1).trim()];
      });
    return Object.fromEntries(pairs);
  })
  .pipe(
    z
      .object({
        bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name'),
        templates: tableName,
        campaigns: tableName,
        ledger: tableName,
        suppression: tableName,
        /** Absent for a deployment from before the analytics table: a new one is created. */
        analytics: tableName.optional(),
        unsubscribeSecret: z
          .string()
          .regex(
            /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[^:]+-[A-Za-z0-9]{6}$/,
            'must be the complete ARN of the retained secret (it ends in a six-character suffix)',
          ),
      })
      .strict(),
  );

export type RetainedData = z.output<typeof RetainedDataSchema>;

/** Log retention must be one CloudWatch accepts; these are the values from the CloudWatch API. */
export const RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

export const SixbackParamsSchema = z.object({
  senderIdentities: identities,
  existingIdentities: identities,
  sandboxRecipients: csv.default([]),
  defaultRate: z.coerce.number().positive().max(10_000).default(14),
  sendBatchTimeoutSeconds: int(30, 900).default(230),
  sendBatchMemoryMb: int(512, 10_240).default(1769),
  sesTransport: z.enum(['sdk', 'fast']).default('fast'),
  dynamoTransport: z.enum(['sdk', 'fast']).default('fast'),
  maxWorkerRate: z.coerce.number().positive().max(10_000).default(250),
  maxInFlight: int(1, 1000).default(DEFAULT_MAX_IN_FLIGHT),
  logRetentionDays: z.coerce
    .number()
    .refine((days) => (RETENTION_DAYS as readonly number[]).includes(days), {
      message: `must be one of ${RETENTION_DAYS.join(', ')}`,
    })
    .default(30),
  uploadRetentionDays: int(1, 3650).default(30),
  campaignFileRetentionDays: int(0, 3650).default(0),
  logLevel: z.enum(['ALL', 'ERROR', 'FATAL', 'OFF']).default('ERROR'),
  functionLogLevel: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT']).default('INFO'),
  logRecipients: z.enum(['hash', 'redact', 'plain']).default('hash'),
  publicBaseUrl: z.string().url().optional(),
  unsubscribeMailto: z.string().email().optional(),
  customRedirectDomain: z
    .string()
    .regex(/^([a-z0-9-]+\.)+[a-z]{2,}$/i, 'must be a domain name such as track.example.com')
    .optional(),
  retainData: z
    .union([z.boolean(), z.enum(['true', 'false'])])
    .transform((value) => value === true || value === 'true')
    .default(true),
  retainedData: RetainedDataSchema.optional(),
});

/** TimeoutSeconds of the ASL Task that calls the SendBatch function (inside the Distributed Map). */
export function sendBatchTaskTimeoutSeconds(
  asl: unknown = JSON.parse(
    readFileSync(new URL('../statemachines/campaign.asl.json', import.meta.url), 'utf8'),
  ),
): number {
  type States = Record<string, Record<string, unknown>>;
  const found: number[] = [];
  const visit = (states: States) => {
    for (const state of Object.values(states)) {
      if (state.Type === 'Task' && state.Resource === `\${SendBatchFunctionArn}`)
        found.push(Number(state.TimeoutSeconds));
      const nested = state.ItemProcessor as { States: States } | undefined;
      if (nested) visit(nested.States);
    }
  };
  visit((asl as { States: States }).States);
  if (found.length === 0 || found.some((t) => !Number.isFinite(t)))
    throw new Error('The ASL has no SendBatch Task with a TimeoutSeconds.');
  return Math.min(...found);
}

export type SixbackParams = z.output<typeof SixbackParamsSchema>;
export type SixbackParamsInput = z.input<typeof SixbackParamsSchema>;

export const PARAM_NAMES = Object.keys(SixbackParamsSchema.shape) as (keyof SixbackParams)[];

export class ParamsError extends Error {
  override name = 'ParamsError';
}

/** SES identities are case-insensitive: keep the first spelling of each. */
function uniqueIdentities(identities: string[], except: Set<string> = new Set()): string[] {
  const seen = new Set(except);
  const unique: string[] = [];
  for (const identity of identities) {
    const key = identity.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    unique.push(identity);
  }
  return unique;
}

/**
 * Which identities the stack creates and which it only references: an identity named in
 * existingIdentities is never created, even when senderIdentities names it as well.
 */
export function identityPlan(params: Pick<SixbackParams, 'senderIdentities' | 'existingIdentities'>): {
  create: string[];
  reference: string[];
  all: string[];
} {
  const reference = uniqueIdentities(params.existingIdentities);
  const create = uniqueIdentities(
    params.senderIdentities,
    new Set(reference.map((identity) => identity.toLowerCase())),
  );
  return { create, reference, all: [...create, ...reference] };
}

/** The retainedData value that takes these resources back, as the RetainedData output prints it. */
export function formatRetainedData(
  data: Record<Exclude<(typeof RETAINED_DATA_KEYS)[number], 'analytics'>, string> & { analytics?: string },
): string {
  return RETAINED_DATA_KEYS.flatMap((key) => (data[key] === undefined ? [] : [`${key}=${data[key]}`])).join(
    ',',
  );
}

/** The parameters, with the checks that span several values or the ASL file. */
const CheckedParamsSchema = SixbackParamsSchema.superRefine((params, ctx) => {
  const problem = sendBatchTimeoutProblem(params.sendBatchTimeoutSeconds, sendBatchTaskTimeoutSeconds());
  if (problem) ctx.addIssue({ code: 'custom', path: ['sendBatchTimeoutSeconds'], message: problem });
});

export function parseParams(input: Record<string, unknown>): SixbackParams {
  const result = CheckedParamsSchema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `-c ${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ParamsError(`Invalid sixback deploy parameters: ${problems}`);
  }
  return result.data;
}

/** Reads each parameter from CDK context (`-c name=value` or cdk.json), leaving unset ones to defaults. */
export function paramsFromContext(tryGetContext: (key: string) => unknown): SixbackParams {
  const input: Record<string, unknown> = {};
  for (const name of PARAM_NAMES) {
    const value = tryGetContext(name);
    if (value !== undefined && value !== '') input[name] = value;
  }
  return parseParams(input);
}
