/** Schemas of API-only messages (the shared ones, templates and campaigns, live in core/schemas.ts). */
import { z } from 'zod';
import { CampaignRequestSchema, TemplateInputSchema } from '../core/schemas.ts';

export const IdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'use 1-64 letters, digits, "-" or "_"');
const email = z.string().trim().email('must be an email address');
const variableValue = z.union([z.string(), z.number(), z.boolean()]);
const variables = z.record(z.string(), variableValue);

export const UploadRequestSchema = z.object({
  kind: z.enum(['recipients', 'image']),
  /** The file's type; a recipients upload is text/csv. */
  contentType: z.string().min(1).max(100).default('text/csv'),
  /** The file's size in bytes, when known, to refuse an oversize file before it is sent. */
  size: z.number().int().positive().optional(),
});

export const UploadCheckSchema = z.object({
  key: z.string().min(1).max(1024),
  emailColumn: z.string().min(1).optional(),
  /** The campaign option of the same name: what the check does with rows shorter than the header. */
  shortRows: CampaignRequestSchema.shape.shortRows,
});

export const VersionQuerySchema = z.object({
  version: z.coerce.number().int().positive().optional(),
});

export const PreviewRequestSchema = z.object({
  version: z.number().int().positive().optional(),
  /** Values for the template's variables; missing ones are filled from `recipientsKey` or with samples. */
  variables: variables.optional(),
  /** Render with the first valid row of this uploaded recipients CSV. */
  recipientsKey: z.string().min(1).max(1024).optional(),
});

/** Previewing content that is not saved yet (an editor's live preview). */
export const DraftPreviewRequestSchema = PreviewRequestSchema.omit({ version: true }).extend({
  template: TemplateInputSchema,
});

/**
 * A campaign as the API takes it: the core request, except `sendAt` may also be a local date-time
 * (2026-12-01T09:00) when `timeZone` says which zone it is in.
 */
export const CampaignCreateSchema = CampaignRequestSchema.extend({
  sendAt: z.string().min(1).max(64).optional(),
});

/** The `cursor` of a list's next page, as a previous page returned it (base64url, up to `maxLength`). */
export const cursorSchema = (maxLength: number) =>
  z
    .string()
    .regex(new RegExp(`^[A-Za-z0-9_-]{1,${maxLength}}$`), 'use the cursor a previous page returned')
    .optional();

export const ListQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: cursorSchema(2048),
});

export const ReportQuerySchema = z.object({
  /** `url` answers with a presigned link; `csv` streams the file through the API. */
  format: z.enum(['url', 'csv']).default('url'),
});

/** A test send: the campaign's content to a few addresses, outside the campaign (no ledger, no report). */
export const TestSendSchema = z.object({
  to: z.array(email).min(1).max(5, 'a test goes to 5 addresses at most'),
  /** Variables for the test; by default the first row of the recipients CSV. */
  variables: variables.optional(),
});

/** Which recipient of a campaign an unsubscribe link is asked for (`sixback smoke` follows it). */
export const UnsubscribeLinkRequestSchema = z.object({ email });

export const DraftTestSendSchema = TestSendSchema.extend({
  templateId: IdSchema,
  templateVersion: z.number().int().positive().optional(),
  from: email,
  replyTo: z.array(email).max(10).optional(),
  data: CampaignRequestSchema.shape.data,
  recipientsKey: z.string().min(1).max(1024).optional(),
  emailColumn: z.string().min(1).optional(),
});
