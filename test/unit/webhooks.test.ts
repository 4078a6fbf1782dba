/**
 * Webhooks out: the Stripe-style signature (a receiver's verification accepts exactly what was signed),
 * retries with bounded exponential backoff on a fake clock, the delivery log's records, and the URL policy
 * that keeps deliveries off internal addresses; the bus publisher names the events PutEvents did not take.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventPublishError, WebhookUrlRefusedError } from '../../core/errors.ts';
import { SILENT_LOGGER } from '../../core/logging.ts';
import { backoffMs, DEFAULT_RETRY, deliverEvent } from '../../core/webhooks/deliver.ts';
import type { WebhookEvent } from '../../core/webhooks/events.ts';
import { dispatchEvents, EventBridgePublisher } from '../../core/webhooks/publish.ts';
import { signatureHeader, verifySignature } from '../../core/webhooks/signature.ts';
import type { DeliveryAttempt, WebhookSubscription } from '../../core/webhooks/store.ts';
import { checkWebhookUrl, isPrivateAddress } from '../../core/webhooks/url-policy.ts';

const SECRET = 'whsec_0123456789abcdef0123456789abcdef';

describe('webhook signatures', () => {
  it('verify what was signed, and nothing else (generated bodies, secrets and times)', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.string({ minLength: 32, maxLength: 64 }),
        fc.integer({ min: 1_600_000_000, max: 2_000_000_000 }),
        fc.string({ minLength: 1 }),
        (body, secret, t, tamper) => {
          const header = signatureHeader(secret, t, body);
          expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
          expect(verifySignature(header, body, secret, t + 10)).toEqual({ ok: true, timestamp: t });
          expect(verifySignature(header, body + tamper, secret, t).ok).toBe(false);
          expect(verifySignature(header, body, `${secret}x`, t).ok).toBe(false);
          // The timestamp is inside the MAC: moving it breaks the signature.
          expect(verifySignature(header.replace(`t=${t}`, `t=${t + 1}`), body, secret, t).ok).toBe(false);
        },
      ),
      { seed: 15, numRuns: 300 },
    );
  });

  it('refuses replays outside the tolerance and accepts any of several v1 values (secret rotation)', () => {
    const header = signatureHeader(SECRET, 1000, '{}');
    expect(verifySignature(header, '{}', SECRET, 1000 + 301)).toEqual({
      ok: false,
      reason: 'timestamp outside the tolerance',
    });
    const rotated = `${header},v1=${'0'.repeat(64)}`;
    expect(verifySignature(rotated, '{}', SECRET, 1000).ok).toBe(true);
    expect(verifySignature(undefined, '{}', SECRET, 1000).ok).toBe(false);
  });
});

const subscription: WebhookSubscription = {
  id: 'wh_test',
  url: 'https://hooks.example.com/sixback',
  secret: SECRET,
  events: ['campaign.status_changed'],
  createdAt: '2026-12-01T00:00:00.000Z',
};
const event: WebhookEvent = {
  id: 'c1:sending:completed:2026-12-01T00:00:01.000Z',
  type: 'campaign.status_changed',
  createdAt: '2026-12-01T00:00:01.000Z',
  data: { campaignId: 'c1', from: 'sending', to: 'completed' },
};

/** A fake receiver answering the given statuses in turn (a thrown Error is a network failure). */
function harness(answers: (number | Error)[]) {
  let now = Date.parse('2026-12-01T00:00:00Z');
  const log: DeliveryAttempt[] = [];
  const requests: { url: string; headers: Record<string, string>; body: string; at: number }[] = [];
  const waits: number[] = [];
  const deps = {
    store: { appendLog: async (a: DeliveryAttempt) => void log.push(a) },
    fetch: (async (url: URL, init: RequestInit) => {
      requests.push({
        url: String(url),
        headers: init.headers as Record<string, string>,
        body: String(init.body),
        at: now,
      });
      const answer = answers[Math.min(requests.length - 1, answers.length - 1)] as number | Error;
      if (answer instanceof Error) throw answer;
      return new Response(null, { status: answer });
    }) as unknown as typeof fetch,
    clock: () => new Date(now),
    sleep: async (ms: number) => {
      waits.push(ms);
      now += ms;
    },
    urlPolicy: { allowPrivate: false, resolve: async () => ['93.184.215.14'] },
  };
  return { deps, log, requests, waits };
}

describe('webhook delivery', () => {
  it('retries failures with exponential backoff, then logs the success; every request is signed', async () => {
    const h = harness([500, new Error('connect ECONNREFUSED'), 429, 204]);
    const final = await deliverEvent(event, subscription, h.deps);
    expect(final).toMatchObject({ ok: true, status: 204, attempt: 4, nextAttemptAt: null });
    expect(h.waits).toEqual([1000, 2000, 4000]);
    expect(h.log.map((a) => [a.attempt, a.status, a.ok, a.error])).toEqual([
      [1, 500, false, 'HTTP 500'],
      [2, null, false, 'connect ECONNREFUSED'],
      [3, 429, false, 'HTTP 429'],
      [4, 204, true, null],
    ]);
    expect(h.log[0]?.nextAttemptAt).toBe('2026-12-01T00:00:01.000Z');
    for (const request of h.requests) {
      const t = Math.floor(request.at / 1000);
      expect(verifySignature(request.headers['Sixback-Signature'], request.body, SECRET, t).ok).toBe(true);
      expect(JSON.parse(request.body)).toEqual(event);
      expect(request.url).toBe(subscription.url);
    }
  });

  it('gives up after the bounded number of attempts, with waits capped', async () => {
    const h = harness([503]);
    const retry = { ...DEFAULT_RETRY, maxAttempts: 9, maxDelayMs: 20_000 };
    const final = await deliverEvent(event, subscription, { ...h.deps, retry });
    expect(final).toMatchObject({ ok: false, attempt: 9, nextAttemptAt: null });
    expect(h.requests).toHaveLength(9);
    expect(h.waits).toEqual([1000, 2000, 4000, 8000, 16000, 20000, 20000, 20000]);
    expect(backoffMs(30, retry)).toBe(20_000);
  });

  it('does not retry an answer retrying cannot change (4xx other than 408 and 429)', async () => {
    const h = harness([410]);
    const final = await deliverEvent(event, subscription, h.deps);
    expect(final).toMatchObject({ ok: false, attempt: 1, status: 410 });
    expect(h.waits).toEqual([]);
  });

  it('sends nothing to a URL that resolves inside the network, and logs why', async () => {
    const h = harness([204]);
    const final = await deliverEvent(event, subscription, {
      ...h.deps,
      urlPolicy: { allowPrivate: false, resolve: async () => ['169.254.169.254'] },
    });
    expect(h.requests).toHaveLength(0);
    expect(final).toMatchObject({ ok: false, attempt: 1 });
    expect(final.error).toMatch(/private, loopback or link-local/);
  });

  it('dispatches each event only to the subscribers that asked for its type', async () => {
    const h = harness([200]);
    const everything: WebhookSubscription = {
      ...subscription,
      id: 'wh_all',
      events: ['campaign.status_changed', 'recipient.bounced'],
    };
    const bounce: WebhookEvent = {
      ...event,
      id: 'm1:recipient.bounced',
      type: 'recipient.bounced',
      data: {},
    };
    const attempts = await dispatchEvents([event, bounce], {
      ...h.deps,
      store: {
        ...h.deps.store,
        listSubscriptions: async () => [subscription, everything],
        getSubscription: async () => subscription,
      },
    });
    expect(attempts.map((a) => `${a.subscriptionId}:${a.eventType}`).sort()).toEqual([
      'wh_all:campaign.status_changed',
      'wh_all:recipient.bounced',
      'wh_test:campaign.status_changed',
    ]);
  });
});

describe('webhook URL policy', () => {
  it('allows http(s) only, without credentials', async () => {
    const policy = { allowPrivate: true };
    for (const url of [
      'ftp://x.example.com/',
      'file:///etc/passwd',
      'gopher://x/',
      'https://u:p@x.example.com/',
      'not a url',
    ])
      await expect(checkWebhookUrl(url, policy)).rejects.toThrow(WebhookUrlRefusedError);
    await expect(checkWebhookUrl('http://127.0.0.1:9/x', policy)).resolves.toBeInstanceOf(URL);
  });

  it('refuses private, loopback and link-local addresses unless allowed', async () => {
    for (const ip of [
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '127.0.0.1',
      '169.254.169.254',
      '::1',
      'fe80::1',
      'fd00::1',
      '::ffff:10.0.0.1',
      '100.64.0.1',
      '0.0.0.0',
    ])
      expect(isPrivateAddress(ip), ip).toBe(true);
    for (const ip of ['93.184.215.14', '8.8.8.8', '2606:4700::1111'])
      expect(isPrivateAddress(ip), ip).toBe(false);
    const strict = { allowPrivate: false, resolve: async () => ['93.184.215.14', '10.0.0.5'] };
    await expect(checkWebhookUrl('https://mixed.example.com/', strict)).rejects.toThrow(/10\.0\.0\.5/);
    await expect(checkWebhookUrl('http://[::1]:80/', { allowPrivate: false })).rejects.toThrow(
      WebhookUrlRefusedError,
    );
    await expect(
      checkWebhookUrl('https://hooks.example.com/', {
        allowPrivate: false,
        resolve: async () => ['93.184.215.14'],
      }),
    ).resolves.toBeInstanceOf(URL);
  });
});

describe('the EventBridge publisher', () => {
  const events: WebhookEvent[] = Array.from({ length: 23 }, (_, i) => ({
    id: `evt_${i}`,
    type: 'recipient.delivered',
    createdAt: '2026-12-01T10:00:00.000Z',
    data: { campaignId: 'c', recipients: [`r${i}@example.com`] },
  }));

  it('puts ten per call and names the events that did not get on the bus: refused entries and failed calls', async () => {
    const calls: string[][] = [];
    const client = {
      send: async (command: { input: { Entries?: { Detail?: string }[] } }) => {
        const ids = (command.input.Entries ?? []).map((e) => JSON.parse(e.Detail ?? '{}').id as string);
        calls.push(ids);
        if (calls.length === 2) throw new Error('ServiceUnavailable');
        // The first call: PutEvents refuses its fourth entry (results are in request order).
        return {
          FailedEntryCount: calls.length === 1 ? 1 : 0,
          Entries: ids.map((_, j) =>
            calls.length === 1 && j === 3 ? { ErrorCode: 'InternalFailure' } : { EventId: `e${j}` },
          ),
        };
      },
    };
    const publisher = new EventBridgePublisher(client as never, 'bus', SILENT_LOGGER);
    const failure = await publisher.publish(events).catch((error: unknown) => error);
    expect(calls.map((c) => c.length)).toEqual([10, 10, 3]);
    expect(failure).toBeInstanceOf(EventPublishError);
    expect((failure as EventPublishError).failedIds).toEqual([
      'evt_3',
      ...events.slice(10, 20).map((e) => e.id),
    ]);
    const ok = new EventBridgePublisher(
      {
        send: async (command: { input: { Entries?: unknown[] } }) => ({
          FailedEntryCount: 0,
          Entries: (command.input.Entries ?? []).map((_, j) => ({ EventId: `e${j}` })),
        }),
      } as never,
      'bus',
      SILENT_LOGGER,
    );
    await expect(ok.publish(events)).resolves.toBeUndefined();
  });
});
