/**
 * Webhook deliveries on AWS: a rule on the sixback event bus invokes this function with each event
 * sixback published (campaign status changes, recipient events); it POSTs the event, signed, to every
 * subscriber that asked for its type, with bounded retries, and logs each attempt. Publishing (PutEvents)
 * is all the sending path ever waits for.
 */
import type { AppDeps } from '../core/app.ts';
import { parseWith } from '../core/schemas.ts';
import { WebhookEventSchema } from '../core/webhooks/events.ts';
import { dispatchEvents } from '../core/webhooks/publish.ts';
import { lambdaHandler, type TaskHandler } from './runtime.ts';

export const createHandler =
  (deps: AppDeps): TaskHandler =>
  async (input) => {
    if (!deps.webhooks) return { delivered: 0, reason: 'no webhooks table configured' };
    const event = parseWith(
      WebhookEventSchema,
      (input as { detail?: unknown })?.detail ?? input,
      'sixback event',
    );
    const attempts = await dispatchEvents([event], {
      store: deps.webhooks,
      fetch: (url, init) => fetch(url, init),
      clock: deps.clock,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      urlPolicy: deps.webhookUrlPolicy,
    });
    // Failures are in the delivery log; throwing would make EventBridge deliver the event to every
    // subscriber again, including those that already got it.
    return {
      eventId: event.id,
      delivered: attempts.filter((a) => a.ok).length,
      failed: attempts.filter((a) => !a.ok).length,
    };
  };

export const handler = lambdaHandler('webhooks', createHandler);
