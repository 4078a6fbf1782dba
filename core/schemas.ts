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

/**
 * The first character a mail header cannot carry as it is (C0 and C1 controls but tab, and the Unicode
 * line and paragraph separators), as U+XXXX; undefined when there is none. SES writes the subject into
 * the Subject header, where a NUL or a lone control character is invalid and a separator breaks lines in
 * mail programs.
 */
export function headerControlCharacter(text: string): string | undefined {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029)
      return `U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
  }
  return undefined;
}

const subjectText = z
  .string()
  .min(1, 'the subject is empty')
  .max(998)
  .refine((s) => !/[\r\n]/.test(s), 'the subject must be one line (no line breaks)')
  .superRefine((s, ctx) => {
    const found = /[\r\n]/.test(s) ? undefined : headerControlCharacter(s);
    if (found)
      ctx.addIssue({
        code: 'custom',
        message: `the subject holds a control character (${found}); remove it`,
      });
  });

export const TemplateInputSchema = z.object({
  name: z.string().min(1).max(200).optional(),
  subject: subjectText,
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
const subject = subjectText;

/** A duration as people write it: 90s, 30m, 4h, 2d, 1h30m (at least one part; parts in that order). */
export const DURATION_PATTERN = /^(?=\d)(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;
export function durationSeconds(text: string): number | undefined {
  const m = DURATION_PATTERN.exec(text.trim());
  if (!m) return undefined;
  const [d, h, min, s] = m.slice(1).map((part) => Number(part ?? 0)) as [number, number, number, number];
  return ((d * 24 + h) * 60 + min) * 60 + s;
}

/** Longest wait between the sample and the decision: the wait loop keeps the history small up to it. */
export const MAX_DECISION_SECONDS = 30 * 24 * 3600;

/**
 * One variant of an A/B test: another subject for the campaign's template, another template (pinned to a
 * version: the latest when the campaign is created, unless given), or both.
 */
export const VariantSpecSchema = z
  .object({
    subject: subject.optional(),
    templateId: id.optional(),
    templateVersion: z.number().int().positive().optional(),
  })
  .strict()
  .refine((v) => v.subject !== undefined || v.templateId !== undefined, {
    message: 'a variant needs a subject, a templateId, or both',
  })
  .refine((v) => v.templateVersion === undefined || v.templateId !== undefined, {
    message: 'templateVersion needs templateId',
    path: ['templateVersion'],
  });
export type VariantSpec = z.infer<typeof VariantSpecSchema>;

export const AB_METRICS = ['opens', 'clicks'] as const;
export type AbMetric = (typeof AB_METRICS)[number];

export const AbTestSpecSchema = z
  .object({
    /** Named A, B, C... in this order. */
    variants: z
      .array(VariantSpecSchema)
      .min(2, 'an A/B test needs 2 to 5 variants')
      .max(5, 'an A/B test has at most 5 variants'),
    /** Fraction of the valid rows that receive the test (split evenly between the variants); the rest get the winner. */
    sample: z
      .number()
      .gt(0, 'the sample is a fraction above 0 (0.2 for 20%)')
      .max(1, 'the sample is a fraction of at most 1 (0.2 for 20%)'),
    metric: z.enum(AB_METRICS),
    /** When to decide: an absolute time, or a duration after the sample was sent (4h, 30m, 1d). */
    decideAt: z
      .string()
      .datetime({ offset: true, message: 'must be an RFC 3339 time with a zone' })
      .optional(),
    decideAfter: z
      .string()
      .refine((d) => durationSeconds(d) !== undefined, 'must be a duration such as 90s, 30m, 4h, 2d or 1h30m')
      .refine((d) => (durationSeconds(d) ?? 0) >= 1, 'must be at least 1s')
      .refine((d) => (durationSeconds(d) ?? 0) <= MAX_DECISION_SECONDS, 'must be at most 30d')
      .optional(),
    /** How sure the test must be before it calls a winner (0.95: 95%). */
    confidence: z.number().min(0.5).max(0.999).default(0.95),
    /** No winner at the decision time: send variant A to the rest, or hold for a manual pick. */
    fallback: z.enum(['A', 'hold']).default('A'),
  })
  .strict()
  .refine((t) => (t.decideAt === undefined) !== (t.decideAfter === undefined), {
    message: 'give exactly one of decideAt (a time) or decideAfter (a duration after the sample is sent)',
    path: ['decideAt'],
  });
export type AbTestSpec = z.output<typeof AbTestSpecSchema>;

/** A variant as the sender uses it: the template (pinned) and the subject that replaces the template's. */
export const VariantRefSchema = z.object({
  name: z.string().regex(/^[A-E]$/),
  templateId: id,
  templateVersion: z.number().int().positive(),
  subject: z.string().optional(),
});
export type VariantRef = z.infer<typeof VariantRefSchema>;

export const ManualPickSchema = z.object({
  variant: z.string().regex(/^[A-E]$/, 'a variant is named A to E'),
});

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

// A misspelt field must not be dropped in silence: `send_at` would send now, `onInvalidRow` skip rows.
export const CampaignRequestSchema = z.strictObject({
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
  /** An A/B test: variants to a sample, a wait, then the winner to the rest (docs/ab-tests.md). */
  abTest: AbTestSpecSchema.optional(),
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
   * The whole campaign's rate, which the children share through the ledger's slot counter
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
  /** The A/B test's variants; a row's `variant`, else `variant` here, names the one it is sent. */
  variants: z.array(VariantRefSchema).default([]),
  /** The variant of every row of this Map that names none (the winner, for the remainder); '' for none. */
  variant: z.string().default(''),
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
  /** Present for an A/B test: the sample's and the remainder's files and where their Maps write results. */
  abTest: z
    .object({
      sample: z.object({ bucket: z.string(), key: z.string() }),
      remainder: z.object({ bucket: z.string(), key: z.string() }),
      sampleResultPrefix: z.string(),
      remainderResultPrefix: z.string(),
    })
    .optional(),
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
  /** In an A/B test's sample and remainder files: the row's index in the whole prepared file... */
  i: z.coerce.number().int().nonnegative().optional(),
  /** ...and its variant in the sample ('' in the remainder, which is sent the BatchInput's variant). */
  variant: z.string().optional(),
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
  /** An A/B test's sample Map result; `mapResult` is then the remainder's. */
  sampleResult: MapResultSchema.optional(),
  error: z.object({ Error: z.string(), Cause: z.string().optional() }).optional(),
});
export type FinaliseEvent = z.infer<typeof FinaliseEventSchema>;

/** Parses unknown input; a failure becomes a ValidationError listing each problem with its path. */
/** The fields an object schema knows, to suggest the one a misspelt field meant. */
function knownFields(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let at: unknown = schema;
  for (const key of path) {
    const shape = (at as { shape?: Record<string, unknown> }).shape;
    at = shape?.[String(key)];
    // Through optional and default wrappers to the object inside.
    while (
      at &&
      typeof (at as { unwrap?: unknown }).unwrap === 'function' &&
      !(at as { shape?: unknown }).shape
    )
      at = (at as { unwrap: () => unknown }).unwrap();
  }
  const shape = (at as { shape?: Record<string, unknown> } | undefined)?.shape;
  return shape ? Object.keys(shape) : [];
}

const normalised = (name: string) => name.toLowerCase().replace(/[^a-z0-9]/g, '');

function unknownFieldsProblem(keys: string[], known: string[]): string {
  return keys
    .map((key) => {
      const meant = known.find((k) => normalised(k) === normalised(key));
      return meant
        ? `unknown field "${key}" (did you mean "${meant}"?)`
        : `unknown field "${key}"${known.length > 0 ? ` (the fields are ${known.join(', ')})` : ''}`;
    })
    .join('; ');
}

export function parseWith<T extends z.ZodType>(schema: T, input: unknown, what: string): z.output<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => ({
    path: issue.path.join('.') || '(root)',
    problem:
      issue.code === 'unrecognized_keys'
        ? unknownFieldsProblem(issue.keys, knownFields(schema, issue.path))
        : issue.message,
  }));
  throw new ValidationError(`Invalid ${what}: ${problems.map((p) => `${p.path}: ${p.problem}`).join('; ')}`, {
    details: problems,
  });
}
