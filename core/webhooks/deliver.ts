/**
 * Delivering one event to one subscriber: a signed POST, retried with exponential backoff (bounded in
 * attempts and in each wait), every attempt in the subscriber's delivery log. It takes its clock, sleep
 * and fetch as arguments, so tests run the retries on a fake clock.
 */
import { WebhookUrlRefusedError } from '../errors.ts';
import type { WebhookEvent } from './events.ts';
import { SIGNATURE_HEADER, signatureHeader } from './signature.ts';
import type { DeliveryAttempt, WebhookStoreLike, WebhookSubscription } from './store.ts';
import { checkWebhookUrl, type UrlPolicy } from './url-policy.ts';

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** Wait before the second attempt; doubles each time. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Each attempt's own limit. */
  timeoutMs: number;
}

/** 1 s, 2 s, 4 s, 8 s, 16 s, 32 s: seven attempts within about a minute, then it is logged as given up. */
export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 7,
  baseDelayMs: 1000,
  maxDelayMs: 60_000,
  timeoutMs: 10_000,
};

export interface DeliverDeps {
  store: Pick<WebhookStoreLike, 'appendLog'>;
  fetch: typeof fetch;
  clock: () => Date;
  sleep: (ms: number) => Promise<void>;
  urlPolicy: UrlPolicy;
  retry?: RetryPolicy;
}

export function backoffMs(attempt: number, retry: RetryPolicy): number {
  return Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1));
}

/** Answers that retrying cannot change: the receiver refused the request itself. */
const permanent = (status: number) => status >= 400 && status < 500 && status !== 408 && status !== 429;

export async function deliverEvent(
  event: WebhookEvent,
  subscription: WebhookSubscription,
  deps: DeliverDeps,
): Promise<DeliveryAttempt> {
  const retry = deps.retry ?? DEFAULT_RETRY;
  const body = JSON.stringify(event);
  for (let attempt = 1; ; attempt++) {
    const started = deps.clock();
    let status: number | null = null;
    let error: string | null = null;
    let giveUp = false;
    try {
      const url = await checkWebhookUrl(subscription.url, deps.urlPolicy);
      const timestamp = Math.floor(started.getTime() / 1000);
      const response = await deps.fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'sixback-webhooks/1',
          [SIGNATURE_HEADER]: signatureHeader(subscription.secret, timestamp, body),
          'Sixback-Event-Id': event.id,
          'Sixback-Event-Type': event.type,
        },
        body,
        // Never follow a redirect: it would send the request somewhere nobody configured.
        redirect: 'manual',
        signal: AbortSignal.timeout(retry.timeoutMs),
      });
      await response.body?.cancel();
      status = response.status;
      if (status < 200 || status >= 300) {
        error = `HTTP ${status}`;
        giveUp = permanent(status);
      }
    } catch (caught) {
      error = (caught as Error).message;
      giveUp = caught instanceof WebhookUrlRefusedError;
    }
    const ok = error === null;
    const last = ok || giveUp || attempt >= retry.maxAttempts;
    const wait = last ? 0 : backoffMs(attempt, retry);
    const record: DeliveryAttempt = {
      subscriptionId: subscription.id,
      eventId: event.id,
      eventType: event.type,
      attempt,
      at: started.toISOString(),
      status,
      ok,
      error,
      durationMs: deps.clock().getTime() - started.getTime(),
      nextAttemptAt: last ? null : new Date(deps.clock().getTime() + wait).toISOString(),
    };
    await deps.store.appendLog(record);
    if (last) return record;
    await deps.sleep(wait);
  }
}

/** Which subscribers want an event (the test event goes only where it is sent by hand). */
export function wants(subscription: WebhookSubscription, event: WebhookEvent): boolean {
  return (subscription.events as string[]).includes(event.type);
}
