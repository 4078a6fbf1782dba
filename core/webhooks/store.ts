/**
 * Webhook subscriptions and their delivery logs, in one DynamoDB table (core/aws/tables.ts `webhooks`):
 *   pk "subscription", sk <id>           a subscriber (URL, secret, which events)
 *   pk "log#<id>",     sk <at>#<n>       one delivery attempt, newest last, kept 30 days (expiresAt, TTL)
 * Subscribers are few, so listing them is one Query of one partition.
 */
import { randomBytes } from 'node:crypto';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { queryAll } from '../aws/dynamo.ts';
import { NotFoundError } from '../errors.ts';
import { RECIPIENT_EVENT_TYPES } from './events.ts';

export const SUBSCRIPTION_EVENTS = ['campaign.status_changed', ...RECIPIENT_EVENT_TYPES] as const;

export const WebhookSubscriptionInputSchema = z.object({
  url: z.string().min(1).max(2000),
  /** Which events to send; by default campaign status changes only (recipient events are many). */
  events: z.array(z.enum(SUBSCRIPTION_EVENTS)).min(1).default(['campaign.status_changed']),
  description: z.string().max(200).optional(),
  /** 32 to 200 characters; generated when not given. */
  secret: z.string().min(32).max(200).optional(),
});
export type WebhookSubscriptionInput = z.input<typeof WebhookSubscriptionInputSchema>;

export interface WebhookSubscription {
  id: string;
  url: string;
  secret: string;
  events: (typeof SUBSCRIPTION_EVENTS)[number][];
  description?: string;
  createdAt: string;
}

export interface DeliveryAttempt {
  subscriptionId: string;
  eventId: string;
  eventType: string;
  attempt: number;
  at: string;
  /** HTTP status the subscriber answered, or null when there was no answer. */
  status: number | null;
  ok: boolean;
  /** Why it failed (network error, refused URL, non-2xx); null when ok. */
  error: string | null;
  durationMs: number;
  /** When the next attempt is due; null when this was the last one. */
  nextAttemptAt: string | null;
}

export interface WebhookStoreLike {
  listSubscriptions(): Promise<WebhookSubscription[]>;
  getSubscription(id: string): Promise<WebhookSubscription>;
  appendLog(attempt: DeliveryAttempt): Promise<void>;
}

const LOG_DAYS = 30;
const SUBSCRIPTIONS = 'subscription';

export class WebhookStore implements WebhookStoreLike {
  private seq = 0;

  constructor(
    private readonly ddb: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly clock: () => Date,
  ) {}

  async addSubscription(
    input: z.output<typeof WebhookSubscriptionInputSchema>,
  ): Promise<WebhookSubscription> {
    const subscription: WebhookSubscription = {
      id: `wh_${randomBytes(9).toString('base64url')}`,
      url: input.url,
      secret: input.secret ?? `whsec_${randomBytes(24).toString('base64url')}`,
      events: input.events,
      ...(input.description ? { description: input.description } : {}),
      createdAt: this.clock().toISOString(),
    };
    await this.ddb.send(
      new PutCommand({
        TableName: this.table,
        Item: { pk: SUBSCRIPTIONS, sk: subscription.id, ...subscription },
      }),
    );
    return subscription;
  }

  async listSubscriptions(): Promise<WebhookSubscription[]> {
    const items = await queryAll(this.ddb, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': SUBSCRIPTIONS },
    });
    return items.map((item) => strip(item) as unknown as WebhookSubscription);
  }

  async getSubscription(id: string): Promise<WebhookSubscription> {
    const out = await this.ddb.send(
      new GetCommand({ TableName: this.table, Key: { pk: SUBSCRIPTIONS, sk: id } }),
    );
    if (!out.Item) throw new NotFoundError(`No webhook "${id}".`, { details: { webhookId: id } });
    return strip(out.Item) as unknown as WebhookSubscription;
  }

  async removeSubscription(id: string): Promise<void> {
    await this.getSubscription(id);
    await this.ddb.send(new DeleteCommand({ TableName: this.table, Key: { pk: SUBSCRIPTIONS, sk: id } }));
  }

  async appendLog(attempt: DeliveryAttempt): Promise<void> {
    // The counter keeps attempts logged in the same millisecond apart.
    const sk = `${attempt.at}#${String(this.seq++ % 1_000_000).padStart(6, '0')}`;
    const expiresAt = Math.floor(this.clock().getTime() / 1000) + LOG_DAYS * 86_400;
    await this.ddb.send(
      new PutCommand({
        TableName: this.table,
        Item: { pk: `log#${attempt.subscriptionId}`, sk, expiresAt, ...attempt },
      }),
    );
  }

  /** The newest attempts first, a page at a time. */
  async log(id: string, limit = 50, cursor?: string): Promise<{ items: DeliveryAttempt[]; cursor?: string }> {
    await this.getSubscription(id);
    const out = await this.ddb.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `log#${id}` },
        ScanIndexForward: false,
        Limit: limit,
        ...(cursor ? { ExclusiveStartKey: { pk: `log#${id}`, sk: cursor } } : {}),
      }),
    );
    const items = (out.Items ?? []).map((item) => {
      const { expiresAt: _, ...rest } = strip(item);
      return rest as unknown as DeliveryAttempt;
    });
    const next = out.LastEvaluatedKey?.sk as string | undefined;
    return { items, ...(next ? { cursor: next } : {}) };
  }
}

function strip(item: Record<string, unknown>): Record<string, unknown> {
  const { pk: _pk, sk: _sk, ...rest } = item;
  return rest;
}

/** What the API shows of a subscription: never the whole secret after creation. */
export function publicSubscription(s: WebhookSubscription) {
  return { ...s, secret: `${s.secret.slice(0, 10)}...` };
}
