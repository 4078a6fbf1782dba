/**
 * The events sixback publishes to webhook subscribers and to its EventBridge bus: one schema, one list of
 * types. `type` is the EventBridge detail-type; `data` is the detail's payload.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { CampaignRecord } from '../campaigns/store.ts';

export const RECIPIENT_EVENT_TYPES = [
  'recipient.delivered',
  'recipient.bounced',
  'recipient.complained',
  'recipient.opened',
  'recipient.clicked',
  'recipient.unsubscribed',
] as const;
export const WEBHOOK_EVENT_TYPES = [
  'campaign.status_changed',
  ...RECIPIENT_EVENT_TYPES,
  'webhook.test',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export const WebhookEventSchema = z.object({
  /** Unique per event: receivers deduplicate on it (deliveries are at least once). */
  id: z.string().min(1),
  type: z.enum(WEBHOOK_EVENT_TYPES),
  createdAt: z.string(),
  data: z.record(z.string(), z.unknown()),
});
export type WebhookEvent = z.infer<typeof WebhookEventSchema>;

export function statusChangedEvent(record: CampaignRecord, from: string, at: Date): WebhookEvent {
  return {
    // One id per transition, so a repeated publication of the same change can be recognised.
    id: `${record.id}:${from}:${record.status}:${record.updatedAt}`,
    type: 'campaign.status_changed',
    createdAt: at.toISOString(),
    data: {
      campaignId: record.id,
      name: record.name,
      from,
      to: record.status,
      statusReason: record.statusReason ?? null,
      totals: record.totals ?? null,
    },
  };
}

export type RecipientEventType = (typeof RECIPIENT_EVENT_TYPES)[number];

/**
 * An event about one recipient of a campaign. `id` is the outcome store's identity of the SES event it
 * reports (core/compliance/outcomes.ts): the same for every redelivery of that event, different for two
 * opens, so a receiver deduplicates on it. `at` is the SES event's own time, so a repeat is the same event
 * byte for byte but for the signature's timestamp.
 */
export function recipientEvent(input: {
  id: string;
  type: RecipientEventType;
  campaignId: string;
  messageId: string | undefined;
  recipient: string;
  at: string;
  details?: Record<string, unknown>;
}): WebhookEvent {
  return {
    id: `evt_${input.id}`,
    type: input.type,
    createdAt: input.at,
    data: {
      campaignId: input.campaignId,
      messageId: input.messageId ?? null,
      recipients: [input.recipient],
      ...input.details,
    },
  };
}

export function testEvent(subscriptionId: string, at: Date): WebhookEvent {
  return {
    id: `test-${randomUUID()}`,
    type: 'webhook.test',
    createdAt: at.toISOString(),
    data: { subscriptionId, message: 'A test event from sixback.' },
  };
}
