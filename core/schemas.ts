/**
 * One zod schema per message that crosses a boundary: API bodies, state-machine payloads, the rows of the
 * prepared recipients file. Types are inferred from them; nothing crosses a boundary unparsed.
 */
import { z } from 'zod';
import { RECIPIENT_STATES } from './campaigns/status.ts';
import { ValidationError } from './errors.ts';

const id = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'use 1-64 letters, digits, "-" or "_"');
const email = z.string().trim().email('must be an email address');
/** RFC 3339 with an explicit offset: a time without a zone is ambiguous and is refused. */
const instant = z.string().datetime({
  offset: true,
  message: 'must be an RFC 3339 time with a zone, e.g. 2026-12-01T09:00:00+09:00',
});

export const TemplateInputSchema = z.object({
  name: z.string().min(1).max(200).optional(),
  subject: z
    .string()
    .min(1, 'the subject is empty')
    .max(998)
    .refine((s) => !/[\r\n]/.test(s), 'the subject must be one line (no line breaks)'),
  html: z.string().min(1, 'the HTML body is empty').max(400_000),
  text: z.string().max(400_000).optional(),
});
export type TemplateInput = z.infer<typeof TemplateInputSchema>;

export const TemplateRecordSchema = TemplateInputSchema.extend({
  id,
  version: z.number().int().positive(),
  variables: z.array(z.string()),
  createdAt: z.string(),
});
export type TemplateRecord = z.infer<typeof TemplateRecordSchema>;

const variableValue = z.union([z.string(), z.number(), z.boolean()]);

/**
 * What to do with a recipients row that has fewer fields than the header (a "short" row):
 * - `skip` (default): the row is `invalid`, not sent, and named in the check and the report. A short row
 *   may lack a trailing optional value, or a value in the middle with every later one shifted into the
 *   wrong column; only the user can tell which, so nothing is sent on a guess.
 * - `pad`: the missing trailing values are empty strings (what AWS's CSV reader does); the row is sent,
 *   and the check and the report say it was padded.
 * - `refuse`: the whole file is refused, naming the short rows; nothing is sent.
 */
export const SHORT_ROW_ACTIONS = ['skip', 'pad', 'refuse'] as const;
export type ShortRowAction = (typeof SHORT_ROW_ACTIONS)[number];

/**
 * The most campaign data (as JSON) a campaign may carry. It is stored on the campaign item, which every
 * status read and gate check reads, and travels in every batch's BatchInput beside up to 200 KiB of rows
 * under Step Functions' 256 KiB payload limit.
 */
export const MAX_CAMPAIGN_DATA_BYTES = 16 * 1024;

const campaignData = z
  .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), variableValue)
  .superRefine((data, ctx) => {
    const bytes = Buffer.byteLength(JSON.stringify(data));
    if (bytes > MAX_CAMPAIGN_DATA_BYTES) {
      ctx.addIssue({
        code: 'custom',
        message: `is ${bytes} bytes as JSON; the limit is ${MAX_CAMPAIGN_DATA_BYTES} bytes (put per-recipient values in CSV columns instead)`,
      });
    }
  });

export const CampaignRequestSchema = z.object({
  name: z.string().min(1).max(200).optional(),
  templateId: id,
  templateVersion: z.number().int().positive().optional(),
  /** S3 key of an uploaded recipients CSV. */
  recipientsKey: z.string().min(1).max(1024),
  from: email,
  replyTo: z.array(email).max(10).optional(),
  /** Campaign-level template variables; a CSV column of the same name wins for its row. */
  data: campaignData.optional(),
  sendAt: instant.optional(),
  /** IANA zone the user thinks in; used to show the schedule back to them. */
  timeZone: z.string().min(1).max(64).optional(),
  /** Emails per second across the whole campaign. */
  rate: z.number().positive().max(100_000).optional(),
  /** What to do with rows that fail validation: record them as invalid and send the rest, or send nothing. */
  onInvalidRows: z.enum(['skip', 'abort']).default('skip'),
  toleratedFailurePercentage: z.number().min(0).max(100).default(5),
  /** What to do with rows that have fewer fields than the header (see SHORT_ROW_ACTIONS). */
  shortRows: z.enum(SHORT_ROW_ACTIONS).default('skip'),
  /** Name of the CSV column holding addresses; by default the first column called email (any case). */
  emailColumn: z.string().min(1).optional(),
  /**
   * When the campaign is larger than what remains of the SES 24-hour quota: false (default) refuses it
   * before anything is sent; true sends it anyway, slowed to the quota's daily pace (Max24HourSend spread
   * over 24 hours), so it takes as long as the quota needs instead of failing midway.
   */
  spread: z.boolean().default(false),
  /** Not marketing mail (receipts, password resets): the template may omit the unsubscribe link. */
  transactional: z.boolean().default(false),
  /**
   * SES open and click tracking (a pixel, links rewritten to SES's redirect). Each defaults to on for
   * marketing mail and off for transactional mail (core/sending/tracking.ts campaignTracking).
   */
  tracking: z.object({ opens: z.boolean().optional(), clicks: z.boolean().optional() }).strict().optional(),
});
export type CampaignRequest = z.input<typeof CampaignRequestSchema>;
export type CampaignSpec = z.output<typeof CampaignRequestSchema>;

/** What every batch needs to know about its campaign (the Map's BatchInput). */
export const BatchContextSchema = z.object({
  campaignId: id,
  templateId: id,
  templateVersion: z.number().int().positive(),
  from: z.string(),
  replyTo: z.array(z.string()).default([]),
  data: z.record(z.string(), variableValue).default({}),
  /** This worker's share of the campaign rate, emails per second. */
  workerRate: z.number().positive(),
  /**
   * The whole campaign's rate, which the children share through the ledger's rate windows
   * (core/sending/rate-budget.ts); absent (an execution started before it existed), each keeps to its share.
   */
  campaignRate: z.number().positive().optional(),
  configurationSet: z.string().optional(),
  /** Which run (execution) of the campaign this batch belongs to; a batch of an older run stops sending. */
  run: z.number().int().positive().default(1),
  /** `all`: every row not yet sent; `failed`: only rows an earlier run recorded as failed and retryable. */
  mode: z.enum(['all', 'failed']).default('all'),
  /** The recipients file's header: the names of the values in each prepared row's `vars`. */
  columns: z.array(z.string()).default([]),
  /** The partials the campaign pinned at creation (reference -> version), loaded once per worker. */
  partials: z.record(z.string(), z.number().int().positive()).default({}),
});
export type BatchContext = z.infer<typeof BatchContextSchema>;

export const SendPlanSchema = z.object({
  rate: z.number().positive(),
  maxConcurrency: z.number().int().positive(),
  batchSize: z.number().int().positive(),
  maxInputBytesPerBatch: z.number().int().positive(),
  toleratedFailurePercentage: z.number().min(0).max(100),
});
export type SendPlan = z.infer<typeof SendPlanSchema>;

export const ExecutionInputSchema = z.object({ campaignId: id });
export type ExecutionInput = z.infer<typeof ExecutionInputSchema>;

/** Output of the prepare step: everything the rest of the state machine reads. */
export const PreparedCampaignSchema = z.object({
  campaignId: id,
  sendAt: z.string().optional(),
  recipients: z.object({ bucket: z.string(), key: z.string() }),
  resultPrefix: z.string(),
  plan: SendPlanSchema,
  batch: BatchContextSchema,
});
export type PreparedCampaign = z.infer<typeof PreparedCampaignSchema>;

export const PREPARED_COLUMNS = ['row', 'state', 'email', 'note', 'vars'] as const;

/** One row of the prepared recipients file as the Map's ItemReader yields it: every value a string. */
export const PreparedRowSchema = z.object({
  row: z.coerce.number().int().positive(),
  state: z.enum(['ok', 'invalid', 'duplicate']),
  email: z.string(),
  note: z.string(),
  vars: z.string(),
});
export type PreparedRow = z.infer<typeof PreparedRowSchema>;

export const SendBatchEventSchema = z.object({
  BatchInput: BatchContextSchema,
  Items: z.array(z.object({ index: z.number().int().nonnegative(), row: PreparedRowSchema })).min(1),
  /**
   * When this batch's child execution started ($$.Execution.StartTime of the EXPRESS child, set by the
   * ASL): every attempt's deadline is planned from it (core/sending/deadline.ts).
   */
  childStartedAt: z.string().datetime({ offset: true }).optional(),
});
export type SendBatchEvent = z.input<typeof SendBatchEventSchema>;

export const RowOutcomeSchema = z.object({
  /** Position in the prepared file (the Map item index). */
  i: z.number().int().nonnegative(),
  /** Row number in the user's file, counting the header as row 1, as a spreadsheet shows it. */
  row: z.number().int().positive(),
  email: z.string(),
  state: z.enum(RECIPIENT_STATES),
  messageId: z.string().optional(),
  reason: z.string().optional(),
});
export type RowOutcome = z.infer<typeof RowOutcomeSchema>;

export const SendBatchResultSchema = z.object({
  campaignId: id,
  outcomes: z.array(RowOutcomeSchema),
});
export type SendBatchResult = z.infer<typeof SendBatchResultSchema>;

export const MapResultSchema = z.object({
  MapRunArn: z.string(),
  ResultWriterDetails: z.object({ Bucket: z.string(), Key: z.string() }),
});

export const FinaliseEventSchema = z.object({
  campaignId: id,
  /** The execution's name ($$.Execution.Name): a finaliser of a run that a newer run replaced does nothing. */
  execution: z.string().optional(),
  mapResult: MapResultSchema.optional(),
  error: z.object({ Error: z.string(), Cause: z.string().optional() }).optional(),
});
export type FinaliseEvent = z.infer<typeof FinaliseEventSchema>;

/** Parses unknown input; a failure becomes a ValidationError listing each problem with its path. */
export function parseWith<T extends z.ZodType>(schema: T, input: unknown, what: string): z.output<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => ({
    path: issue.path.join('.') || '(root)',
    problem: issue.message,
  }));
  throw new ValidationError(`Invalid ${what}: ${problems.map((p) => `${p.path}: ${p.problem}`).join('; ')}`, {
    details: problems,
  });
}
