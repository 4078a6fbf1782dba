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

/** SES event types (as classified by the events handler) to the recipient events they become. */
const RECIPIENT_TYPE_OF: Record<string, (typeof RECIPIENT_EVENT_TYPES)[number]> = {
  DELIVERY: 'recipient.delivered',
  BOUNCE: 'recipient.bounced',
  COMPLAINT: 'recipient.complained',
  OPEN: 'recipient.opened',
  CLICK: 'recipient.clicked',
  SUBSCRIPTION: 'recipient.unsubscribed',
};

export function recipientEvent(input: {
  sesEventType: string;
  campaignId: string | undefined;
  messageId: string;
  recipients: string[];
  at: Date;
  details?: Record<string, unknown>;
}): WebhookEvent | undefined {
  const type = RECIPIENT_TYPE_OF[input.sesEventType];
  if (!type) return undefined;
  return {
    // SES's message id and event type identify an event; SQS redelivery makes the same id again.
    id: `${input.messageId}:${type}:${input.recipients.join(',')}:${input.details?.link ?? ''}`,
    type,
    createdAt: input.at.toISOString(),
    data: {
      campaignId: input.campaignId ?? null,
      messageId: input.messageId,
      recipients: input.recipients,
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
