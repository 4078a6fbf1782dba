/**
 * Publishing sixback's events. Publishing never waits for a subscriber: on AWS it is one PutEvents call
 * per ten events to the `sixback` event bus (users wire their own targets to it), and a rule on that bus
 * invokes the webhooks function, which delivers to subscribers with retries (handlers/webhooks.ts).
 * Locally a background queue does what that function does, in-process. Either way the campaign step or
 * SES-events batch that produced an event only hands it over. A publish that fails throws
 * EventPublishError: status changes log it (never thrown into sending); the SES events batch keeps the
 * events it could not publish in the outbox and is retried for them (core/compliance/events.ts), and a
 * one-click unsubscribe keeps its event there for the next POST of the link (core/compliance/unsubscribe.ts).
 */
import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { EventPublishError } from '../errors.ts';
import { type Logger, SILENT_LOGGER } from '../logging.ts';
import { type DeliverDeps, deliverEvent, wants } from './deliver.ts';
import type { WebhookEvent } from './events.ts';
import type { DeliveryAttempt, WebhookStoreLike } from './store.ts';

/** EventBridge `source` of every event sixback puts on its bus; `detail-type` is the event's type. */
export const EVENT_SOURCE = 'sixback';
const PUT_EVENTS_MAX = 10;

export interface WebhookPublisher {
  publish(events: WebhookEvent[]): Promise<void>;
}

export interface DispatchDeps extends DeliverDeps {
  store: WebhookStoreLike;
}

/** Delivers events to every subscriber that wants them, all pairs at once; returns each final attempt. */
export async function dispatchEvents(events: WebhookEvent[], deps: DispatchDeps): Promise<DeliveryAttempt[]> {
  if (events.length === 0) return [];
  const subscriptions = await deps.store.listSubscriptions();
  const jobs = events.flatMap((event) =>
    subscriptions.filter((s) => wants(s, event)).map((s) => deliverEvent(event, s, deps)),
  );
  return Promise.all(jobs);
}

export class EventBridgePublisher implements WebhookPublisher {
  constructor(
    private readonly client: Pick<EventBridgeClient, 'send'>,
    private readonly busName: string,
    private readonly logger: Logger = SILENT_LOGGER,
  ) {}

  /**
   * Puts every event on the bus, ten per call. Throws EventPublishError naming the events that did not
   * get there (a failed call, or entries PutEvents refused), after trying them all: a caller that must
   * not lose events (the SES events batch) keeps those for its retry.
   */
  async publish(events: WebhookEvent[]): Promise<void> {
    const failed: string[] = [];
    let cause: unknown;
    for (let i = 0; i < events.length; i += PUT_EVENTS_MAX) {
      const chunk = events.slice(i, i + PUT_EVENTS_MAX);
      try {
        const out = await this.client.send(
          new PutEventsCommand({
            Entries: chunk.map((event) => ({
              EventBusName: this.busName,
              Source: EVENT_SOURCE,
              DetailType: event.type,
              Time: new Date(event.createdAt),
              Detail: JSON.stringify(event),
            })),
          }),
        );
        if ((out.FailedEntryCount ?? 0) > 0) {
          // Result entries are in the order of the request's; a failed one carries an ErrorCode.
          const refused = chunk.filter((_, j) => out.Entries?.[j]?.ErrorCode || !out.Entries?.[j]?.EventId);
          this.logger.error('webhooks: PutEvents failed for some entries', {
            failedEntries: out.FailedEntryCount,
            entries: chunk.length,
            errorCodes: [...new Set(out.Entries?.map((e) => e.ErrorCode).filter(Boolean))],
          });
          failed.push(...refused.map((event) => event.id));
        }
      } catch (error) {
        this.logger.error('webhooks: PutEvents failed', { entries: chunk.length, error });
        cause ??= error;
        failed.push(...chunk.map((event) => event.id));
      }
    }
    if (failed.length > 0)
      throw new EventPublishError(`${failed.length} of ${events.length} events not published`, failed, {
        cause,
      });
  }
}

/** The local stack's bus: events are delivered in the background, in order of publication. */
export class LocalWebhookPublisher implements WebhookPublisher {
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;

  constructor(
    private readonly deps: DispatchDeps,
    private readonly logger: Logger = SILENT_LOGGER,
  ) {}

  async publish(events: WebhookEvent[]): Promise<void> {
    if (events.length === 0) return;
    this.pending++;
    // Each batch starts after the previous one was handed out; deliveries (and their retries) then run
    // on their own, so one slow subscriber never holds back the next status change.
    this.tail = this.tail
      .then(() => {
        void dispatchEvents(events, this.deps)
          .catch((error) => this.logger.error('webhooks: delivering events failed', { error }))
          .finally(() => {
            this.pending--;
          });
      })
      .catch(() => undefined);
  }

  /** Resolves once every published event's deliveries (retries included) have ended. For tests. */
  async idle(): Promise<void> {
    while (this.pending > 0) await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Publishing is optional: without a webhooks table or bus nothing is published. */
export const NO_PUBLISHER: WebhookPublisher = { publish: async () => undefined };
