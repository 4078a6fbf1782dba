/**
 * The SES event record at sixback's boundary: the `detail` of an EventBridge SES event (or the whole
 * message of an SNS destination), parsed once with one schema. A module of its own because both the
 * recording of events (events.ts) and the per-recipient outcomes (outcomes.ts) read it.
 */
import { z } from 'zod';

const Recipients = z.array(z.object({ emailAddress: z.string() }).passthrough()).default([]);

/** The `detail` of an EventBridge SES event (also the whole message of an SNS event destination). */
export const SesEventDetailSchema = z
  .object({
    eventType: z.string().optional(),
    /** Identity feedback notifications (not configuration sets) call it notificationType. */
    notificationType: z.string().optional(),
    mail: z
      .object({
        messageId: z.string().optional(),
        timestamp: z.string().optional(),
        source: z.string().optional(),
        destination: z.array(z.string()).default([]),
        tags: z.record(z.string(), z.array(z.string())).default({}),
      })
      .passthrough(),
    bounce: z
      .object({
        bounceType: z.string(),
        bounceSubType: z.string().optional(),
        bouncedRecipients: Recipients,
      })
      .passthrough()
      .optional(),
    complaint: z
      .object({
        complainedRecipients: Recipients,
        complaintFeedbackType: z.string().optional(),
      })
      .passthrough()
      .optional(),
  })
  .passthrough()
  .refine((d) => d.eventType !== undefined || d.notificationType !== undefined, {
    message: 'has neither eventType nor notificationType',
  });
export type SesEventDetail = z.infer<typeof SesEventDetailSchema>;

export const SesEventSchema = z.union([
  z.object({ id: z.string().optional(), 'detail-type': z.string().optional(), detail: SesEventDetailSchema }),
  SesEventDetailSchema,
]);
