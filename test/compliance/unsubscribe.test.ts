/**
 * One-click unsubscribe goes through the recipient outbox as SES events do: the address is suppressed
 * first, the unsubscribe is applied to the recipient's outcome once by its identity, counted once, and
 * published until the bus has taken it, with the same event id whatever the retries.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ApplyOptions } from '../../core/compliance/analytics-store.ts';
import { eventDeltas, type RecipientEvent, unsubscribeEvent } from '../../core/compliance/outcomes.ts';
import {
  OUTBOX_SWEEP_AGE_MS,
  publishPendingUnsubscribes,
  type UnsubscribeDeps,
  UnsubscribeLinks,
  unsubscribe,
} from '../../core/compliance/unsubscribe.ts';
import { EventPublishError } from '../../core/errors.ts';
import type { WebhookEvent } from '../../core/webhooks/events.ts';

const CAMPAIGN = 'c1';
const ADDRESS = 'ann@example.com';
const START = Date.parse('2026-11-25T12:00:00Z');

/** What can go wrong during one POST. */
type Failure = 'none' | 'bus' | 'crash-after-suppress' | 'outbox-write';

/** Suppression, campaign counters and outcomes in memory, behaving as their DynamoDB stores do. */
function world() {
  const links = new UnsubscribeLinks({
    region: 'local',
    publicBaseUrl: 'https://mail.test',
    unsubscribeSecret: 's',
  });
  const token = links.url({ campaignId: CAMPAIGN, key: ADDRESS }).split('/u/')[1] as string;
  const steps: string[] = [];
  const suppressed = new Map<string, { reason: string; source: string }>();
  const counts: Record<string, number> = {};
  const series: Record<string, number> = {};
  const applied = new Map<string, RecipientEvent>();
  const outbox = new Set<string>();
  /** The outbox markers (analytics-store.ts UNSUBSCRIBE_OUTBOX_PK): the last time each was written. */
  const markers = new Map<string, { campaignId: string; key: string; at: string }>();
  const bus: WebhookEvent[] = [];
  let failure: Failure = 'none';
  let now = START;
  const deps: UnsubscribeDeps = {
    links,
    clock: () => new Date(now),
    suppression: {
      async get(key: string) {
        const entry = suppressed.get(key);
        return entry ? { key, at: '', ...entry } : undefined;
      },
      async add(key: string, reason: 'unsubscribe', source: string) {
        steps.push('suppress');
        suppressed.set(key, { reason, source });
      },
    } as UnsubscribeDeps['suppression'],
    campaigns: {
      async addEvents(_id: string, delta: Partial<Record<string, number>>) {
        for (const [k, v] of Object.entries(delta)) counts[k] = (counts[k] ?? 0) + (v ?? 0);
        return { startedAt: new Date(START).toISOString() } as never;
      },
    },
    analytics: {
      async apply(event: RecipientEvent, options?: ApplyOptions) {
        steps.push('apply');
        if (failure === 'crash-after-suppress') throw new Error('the function died');
        if (applied.has(event.id))
          return outbox.has(event.id)
            ? { counts: {}, newLink: false, repeat: true, publish: true }
            : undefined;
        applied.set(event.id, event);
        if (options?.publish) outbox.add(event.id);
        return { ...eventDeltas(event, {}), repeat: false, publish: options?.publish === true };
      },
      async addSeries(_id: string, buckets: Map<string, Record<string, number | undefined>>) {
        for (const sums of buckets.values())
          series.unsubscribe = (series.unsubscribe ?? 0) + (sums.unsubscribe ?? 0);
      },
      async published(events: RecipientEvent[]) {
        if (failure === 'outbox-write') throw new Error('throttled');
        for (const event of events) outbox.delete(event.id);
      },
      async recipient(_id: string, key: string) {
        const event = [...applied.values()].find((e) => e.key === key);
        return event ? { campaignId: CAMPAIGN, key, email: key, unsubscribedAt: event.at } : undefined;
      },
      async markUnsubscribeOutbox(campaignId: string, key: string, at: Date) {
        markers.set(`${campaignId}#${key}`, { campaignId, key, at: at.toISOString() });
      },
      async clearUnsubscribeOutbox(campaignId: string, key: string) {
        markers.delete(`${campaignId}#${key}`);
      },
      async unsubscribeOutbox(before: Date) {
        return [...markers.values()].filter((m) => m.at <= before.toISOString());
      },
      async unpublished(event: RecipientEvent) {
        return outbox.has(event.id);
      },
    },
    async publish(events: WebhookEvent[]) {
      steps.push('publish');
      if (failure === 'bus')
        throw new EventPublishError(
          'PutEvents failed',
          events.map((e) => e.id),
        );
      bus.push(...events);
    },
  };
  /** One POST of the link, failing as told; a later one happens a minute on. */
  const post = async (as: Failure = 'none') => {
    failure = as;
    try {
      return await unsubscribe(token, deps);
    } finally {
      now += 60_000;
    }
  };
  /** One run of the scheduled sweep, failing as told (only the bus and the outbox write can fail in it). */
  const sweep = async (as: Failure = 'none') => {
    failure = as;
    try {
      return await publishPendingUnsubscribes({
        analytics: deps.analytics as Required<UnsubscribeDeps>['analytics'],
        publish: deps.publish as Required<UnsubscribeDeps>['publish'],
        clock: deps.clock as () => Date,
      });
    } finally {
      failure = 'none';
    }
  };
  const later = (ms: number) => {
    now += ms;
  };
  return { post, sweep, later, steps, suppressed, counts, series, outbox, markers, bus };
}

const expectedId = `evt_${unsubscribeEvent(CAMPAIGN, ADDRESS, new Date(START)).id}`;

describe('one-click unsubscribe through the outbox', () => {
  it('repeated POSTs count once and publish once, with a stable id', async () => {
    const w = world();
    expect(await w.post()).toMatchObject({ key: ADDRESS, already: false });
    for (let i = 0; i < 3; i++) expect(await w.post()).toMatchObject({ already: true });
    expect(w.counts).toEqual({ unsubscribe: 1, uniqueUnsubscribe: 1 });
    expect(w.series).toEqual({ unsubscribe: 1 });
    expect(w.bus).toEqual([
      {
        id: expectedId,
        type: 'recipient.unsubscribed',
        createdAt: new Date(START).toISOString(),
        data: { campaignId: CAMPAIGN, messageId: null, recipients: [ADDRESS], via: 'one-click' },
      },
    ]);
    expect(w.outbox.size).toBe(0);
    expect(w.suppressed.get(ADDRESS)).toEqual({ reason: 'unsubscribe', source: `unsubscribe:${CAMPAIGN}` });
  });

  it('suppresses before anything else, and a failed publish still answers, leaves the event in the outbox, and the next POST publishes it once', async () => {
    const w = world();
    expect(await w.post('bus')).toMatchObject({ already: false });
    expect(w.steps).toEqual(['suppress', 'apply', 'publish']);
    expect(w.suppressed.has(ADDRESS)).toBe(true);
    expect(w.bus).toEqual([]);
    expect(w.outbox.size).toBe(1);
    expect(w.counts).toEqual({ unsubscribe: 1, uniqueUnsubscribe: 1 });

    await w.post();
    await w.post();
    expect(w.bus.map((e) => [e.id, e.createdAt])).toEqual([[expectedId, new Date(START).toISOString()]]);
    expect(w.outbox.size).toBe(0);
    expect(w.counts).toEqual({ unsubscribe: 1, uniqueUnsubscribe: 1 });
  });

  it('a crash right after the suppression loses neither the count nor the event: the next POST records both', async () => {
    const w = world();
    await expect(w.post('crash-after-suppress')).rejects.toThrow('the function died');
    expect(w.suppressed.has(ADDRESS)).toBe(true);
    expect(w.counts).toEqual({});
    expect(await w.post()).toMatchObject({ already: false });
    expect(w.counts).toEqual({ unsubscribe: 1, uniqueUnsubscribe: 1 });
    expect(w.bus.map((e) => e.id)).toEqual([expectedId]);
  });

  it('an address suppressed for another reason keeps its entry, and the click counts once on the campaign', async () => {
    const w = world();
    w.suppressed.set(ADDRESS, { reason: 'bounce', source: 'ses:bounce:c0' });
    await w.post();
    await w.post();
    expect(w.suppressed.get(ADDRESS)).toEqual({ reason: 'bounce', source: 'ses:bounce:c0' });
    expect(w.counts).toEqual({ unsubscribe: 1, uniqueUnsubscribe: 1 });
    expect(w.bus.map((e) => e.id)).toEqual([expectedId]);
  });

  it('whatever fails on which POST, once one POST succeeds the unsubscribe is suppressed, counted and published exactly once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom<Failure>('none', 'bus', 'crash-after-suppress', 'outbox-write'), {
          maxLength: 6,
        }),
        fc.nat({ max: 3 }),
        async (failures, extra) => {
          const w = world();
          for (const failure of failures) {
            await w.post(failure).catch(() => undefined);
            // The address is never mailed again, whatever failed after.
            expect(w.suppressed.has(ADDRESS)).toBe(true);
          }
          for (let i = 0; i <= extra; i++) await w.post();
          expect(w.counts).toEqual({ unsubscribe: 1, uniqueUnsubscribe: 1 });
          expect(w.outbox.size).toBe(0);
          const ids = new Set(w.bus.map((e) => e.id));
          expect([...ids]).toEqual([expectedId]);
          // One createdAt, the recorded unsubscribe's, however late it was published.
          expect(new Set(w.bus.map((e) => e.createdAt)).size).toBe(1);
          // A duplicate needs a publish whose outbox write was then lost (at least once, as documented).
          if (!failures.includes('outbox-write')) expect(w.bus).toHaveLength(1);
        },
      ),
    );
  });
});

describe('the outbox sweep', () => {
  it('publishes an unsubscribe whose publish failed, once it is a minute old, without waiting for another POST', async () => {
    const w = world();
    // post() moves the clock a minute on: take it back to just after the POST.
    await w.post('bus');
    w.later(-60_000 + OUTBOX_SWEEP_AGE_MS - 1);
    expect(await w.sweep()).toEqual({ published: 0, cleared: 0, failed: 0 });
    expect(w.bus).toEqual([]);
    w.later(1);
    expect(await w.sweep()).toEqual({ published: 1, cleared: 0, failed: 0 });
    expect(w.bus.map((e) => [e.id, e.createdAt])).toEqual([[expectedId, new Date(START).toISOString()]]);
    expect(w.outbox.size).toBe(0);
    expect(w.markers.size).toBe(0);
    // Idempotent: another sweep and another POST publish nothing more.
    expect(await w.sweep()).toEqual({ published: 0, cleared: 0, failed: 0 });
    await w.post();
    expect(w.bus).toHaveLength(1);
    expect(w.counts).toEqual({ unsubscribe: 1, uniqueUnsubscribe: 1 });
  });

  it('leaves a marker whose publish fails again for the next sweep, and clears one with nothing left to publish', async () => {
    const w = world();
    await w.post('bus');
    expect(await w.sweep('bus')).toEqual({ published: 0, cleared: 0, failed: 1 });
    expect(w.markers.size).toBe(1);
    expect(await w.sweep()).toMatchObject({ published: 1 });

    const crashed = world();
    await crashed.post('crash-after-suppress').catch(() => undefined);
    // Marked, never recorded: nothing is in the outbox, so the sweep only clears the marker.
    expect(crashed.markers.size).toBe(1);
    expect(await crashed.sweep()).toEqual({ published: 0, cleared: 1, failed: 0 });
    expect(crashed.bus).toEqual([]);
  });

  it('whatever POSTs and sweeps fail, in any order, a sweep a minute after the last POST leaves the unsubscribe published with its one id and nothing waiting', async () => {
    const step = fc.oneof(
      fc.record({ post: fc.constantFrom<Failure>('none', 'bus', 'crash-after-suppress', 'outbox-write') }),
      fc.record({ sweep: fc.constantFrom<Failure>('none', 'bus', 'outbox-write') }),
      fc.record({ wait: fc.integer({ min: 0, max: 3 * OUTBOX_SWEEP_AGE_MS }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 8 }), async (steps) => {
        const w = world();
        // At least one POST went through to the outcome (the recipient clicked; the last try worked).
        await w.post('bus');
        for (const s of steps) {
          if ('post' in s) await w.post(s.post).catch(() => undefined);
          else if ('sweep' in s) await w.sweep(s.sweep);
          else w.later(s.wait);
        }
        w.later(OUTBOX_SWEEP_AGE_MS);
        await w.sweep();
        expect(w.outbox.size).toBe(0);
        expect(w.markers.size).toBe(0);
        expect(new Set(w.bus.map((e) => e.id))).toEqual(new Set([expectedId]));
        expect(new Set(w.bus.map((e) => e.createdAt))).toEqual(new Set([new Date(START).toISOString()]));
        expect(w.counts).toEqual({ unsubscribe: 1, uniqueUnsubscribe: 1 });
        // Published twice only when a publish's outbox write was lost (at least once, as documented).
        const lost = steps.some(
          (s) => ('post' in s && s.post === 'outbox-write') || ('sweep' in s && s.sweep === 'outbox-write'),
        );
        if (!lost) expect(w.bus).toHaveLength(1);
      }),
    );
  });
});
