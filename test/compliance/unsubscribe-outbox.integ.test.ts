/**
 * The unsubscribe outbox on the local stack's DynamoDB: a one-click unsubscribe whose publication failed
 * is published by the stack's sweep (the deployed schedule's job, on a timer here), once, with its id,
 * without another click; its marker and its outbox entry are gone afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unsubscribeEvent } from '../../core/compliance/outcomes.ts';
import { unsubscribe } from '../../core/compliance/unsubscribe.ts';
import { EventPublishError } from '../../core/errors.ts';
import type { WebhookEvent } from '../../core/webhooks/events.ts';
import type { LocalStack } from '../../local/stack.ts';
import { startTestStack } from '../support/local-stack.ts';
import { waitFor } from '../support/wait.ts';

let stack: LocalStack;
const published: WebhookEvent[] = [];
let busDown = true;
/** How many sweeps have read the outbox markers (each sweep reads them once). */
let sweepReads = 0;
const sweepsSoFar = async () => sweepReads;

beforeAll(async () => {
  // Every 20 ms, for markers 300 ms old (the deployed sweep: every minute, a minute old, so that it never
  // takes a marker from a POST between marking and recording it).
  stack = await startTestStack({ unsubscribeSweep: { everyMs: 20, olderThanMs: 300 } });
  stack.deps.publisher.publish = async (events: WebhookEvent[]) => {
    if (busDown)
      throw new EventPublishError(
        'PutEvents failed',
        events.map((e) => e.id),
      );
    published.push(...events);
  };
  const read = stack.deps.analytics.unsubscribeOutbox.bind(stack.deps.analytics);
  stack.deps.analytics.unsubscribeOutbox = async (before) => {
    sweepReads++;
    return read(before);
  };
});
afterAll(() => stack?.stop());

describe('the unsubscribe outbox sweep on the local stack', () => {
  it('publishes an unsubscribe the bus refused, once, with no further click, and leaves nothing waiting', async () => {
    const { deps } = stack;
    const key = 'ann@example.com';
    const token = deps.unsubscribeLinks.url({ campaignId: 'c-outbox', key }).split('/u/')[1] as string;
    const unsubscribeDeps = {
      links: deps.unsubscribeLinks,
      suppression: deps.suppression,
      campaigns: deps.campaigns,
      analytics: deps.analytics,
      publish: (events: WebhookEvent[]) => deps.publisher.publish(events),
      clock: deps.clock,
    };
    expect(await unsubscribe(token, unsubscribeDeps)).toMatchObject({ already: false });
    const event = unsubscribeEvent('c-outbox', key, new Date());
    expect(await deps.analytics.unpublished(event)).toBe(true);
    // Marked, and the sweeps so far could not publish it (the bus is down): the marker stays.
    expect(await deps.analytics.unsubscribeOutbox(new Date())).toEqual([
      expect.objectContaining({ campaignId: 'c-outbox', key }),
    ]);
    expect(published).toEqual([]);

    busDown = false;
    await waitFor('the sweep to publish the unsubscribe', () => published.length > 0, 10_000, 10);
    await waitFor(
      'the marker to be cleared',
      async () => (await deps.analytics.unsubscribeOutbox(new Date())).length === 0,
      10_000,
      10,
    );
    expect(await deps.analytics.unpublished(event)).toBe(false);
    // Later sweeps find nothing: still one publication, with the event's stable id.
    const sweeps = await sweepsSoFar();
    await waitFor('three more sweeps', async () => (await sweepsSoFar()) >= sweeps + 3, 10_000, 10);
    expect(published.map((e) => [e.id, e.type])).toEqual([[`evt_${event.id}`, 'recipient.unsubscribed']]);
  });
});
