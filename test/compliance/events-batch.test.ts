/**
 * The SES events function's partial batch responses (Powertools Batch): one bad message in an SQS batch
 * fails only itself. A message that is not an SES event is acknowledged (it never will parse); a message
 * whose write fails is reported in batchItemFailures and only it comes back; what the rest of the batch
 * did is recorded, its counters still written once per campaign, and redelivery counts nothing twice.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AppDeps } from '../../core/app.ts';
import type { CampaignRecord } from '../../core/campaigns/store.ts';
import { buildSesEvent, type InjectEvent, recordSesEvents } from '../../core/compliance/events.ts';
import {
  eventDeltas,
  type PriorState,
  type RecipientEvent,
  type StatCounts,
} from '../../core/compliance/outcomes.ts';
import { EventPublishError } from '../../core/errors.ts';
import type { WebhookEvent } from '../../core/webhooks/events.ts';
import { createHandler } from '../../handlers/ses-events.ts';

const throttled = () =>
  Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), {
    name: 'ProvisionedThroughputExceededException',
  });

/** The fact a recipient's item keeps after its first event of a type (analytics-store.ts). */
const FIRST_TIME: Partial<Record<RecipientEvent['type'], keyof PriorState>> = {
  delivery: 'deliveredAt',
  bounce: 'hardBouncedAt',
  complaint: 'complainedAt',
  open: 'firstOpenedAt',
  click: 'firstClickedAt',
};

/**
 * Campaigns, a suppression list and per-recipient outcomes in memory. The outcomes apply each event
 * once by its identity, as the analytics table's conditional write does; `failing` makes a store throw.
 */
function world(campaignIds: string[] = ['c1']) {
  const records = new Map(
    campaignIds.map((id) => [
      id,
      { id, progress: { sent: 1000 }, events: undefined } as unknown as CampaignRecord,
    ]),
  );
  const failing = {
    recipients: new Set<string>(),
    suppressions: new Set<string>(),
    campaigns: new Set<string>(),
    bus: new Set<string>(),
  };
  const outbox = new Set<string>();
  const bus: WebhookEvent[] = [];
  const applied = new Set<string>();
  const prior = new Map<string, PriorState>();
  const suppressed = new Map<string, string>();
  let counterWrites = 0;
  const deps = {
    clock: () => new Date('2026-11-25T12:00:00Z'),
    campaigns: {
      async addEvents(id: string, counts: Partial<Record<string, number>>) {
        counterWrites++;
        if (failing.campaigns.has(id)) throw throttled();
        const record = records.get(id);
        if (!record) return undefined;
        record.events ??= {};
        for (const [k, v] of Object.entries(counts)) record.events[k] = (record.events[k] ?? 0) + (v ?? 0);
        return structuredClone(record);
      },
      async patch(id: string, patch: Partial<CampaignRecord>) {
        Object.assign(records.get(id) ?? {}, patch);
      },
    },
    suppression: {
      async add(address: string, reason: string) {
        if (failing.suppressions.has(address.toLowerCase())) throw throttled();
        suppressed.set(address.toLowerCase(), reason);
      },
    },
    analytics: {
      async apply(event: RecipientEvent, options?: { publish?: boolean }) {
        if (failing.recipients.has(event.email.toLowerCase())) throw throttled();
        if (applied.has(event.id))
          return outbox.has(event.id)
            ? { counts: {}, newLink: false, repeat: true, publish: true }
            : undefined;
        applied.add(event.id);
        if (options?.publish) outbox.add(event.id);
        // Per campaign and recipient, as the table keys them.
        const key = `${event.campaignId}|${event.key}`;
        const before = prior.get(key) ?? {};
        const delta = eventDeltas(event, before);
        const fact = FIRST_TIME[event.type];
        prior.set(key, {
          ...before,
          ...(fact ? { [fact]: event.at } : {}),
          links: [...((before.links as string[] | undefined) ?? []), ...(event.link ? [event.link] : [])],
        });
        return { ...delta, repeat: false, publish: options?.publish === true };
      },
      async published(events: RecipientEvent[]) {
        for (const event of events) outbox.delete(event.id);
      },
      async addSeries() {},
    },
    // The event bus: refuses the events of the recipients in `failing.bus`, as PutEvents refuses entries.
    publisher: {
      async publish(events: WebhookEvent[]) {
        const refused = events.filter((e) => (e.data.recipients as string[]).some((r) => failing.bus.has(r)));
        for (const e of events) if (!refused.includes(e)) bus.push(e);
        if (refused.length > 0)
          throw new EventPublishError(
            'PutEvents refused entries',
            refused.map((e) => e.id),
          );
      },
    },
  };
  const handler = createHandler(deps as unknown as AppDeps, () => undefined);
  const events = (id = 'c1') => records.get(id)?.events as StatCounts | undefined;
  return { deps, handler, failing, suppressed, events, bus, writes: () => counterWrites };
}

type Message = { messageId: string; body: string };
const message = (messageId: string, event: InjectEvent | string): Message => ({
  messageId,
  body: typeof event === 'string' ? event : JSON.stringify(buildSesEvent({ messageId, ...event })),
});
const sqs = (messages: Message[]) => ({
  Records: messages.map((m) => ({ ...m, eventSource: 'aws:sqs' as const })),
});
type Answer = { batchItemFailures: { itemIdentifier: string }[]; recorded: number; ignored: number };

describe('the SES events function answers with the messages that failed', () => {
  const batch = [
    message('m-junk', 'not json at all'),
    message('m-a', { type: 'delivery', email: 'a@example.com', campaignId: 'c1' }),
    message('m-flaky', { type: 'delivery', email: 'flaky@example.com', campaignId: 'c1' }),
    message('m-b', { type: 'bounce', email: 'b@example.com', campaignId: 'c1' }),
    message('m-c', { type: 'open', email: 'c@example.com', campaignId: 'c1' }),
  ];

  it('lists exactly the failing message, records the good ones once, acknowledges the unparseable one', async () => {
    const w = world();
    w.failing.recipients.add('flaky@example.com');
    const first = (await w.handler(sqs(batch))) as Answer;
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: 'm-flaky' }]);
    expect(first).toMatchObject({ recorded: 3, ignored: 1 });
    expect(w.events()).toMatchObject({ delivery: 1, bounce: 1, open: 1 });
    expect([...w.suppressed.keys()]).toEqual(['b@example.com']);
    // The batch's counts are still one write for the campaign, not one per event.
    expect(w.writes()).toBe(1);

    // The store is back; SQS delivers the failed message alone, then (at least once) the whole batch.
    w.failing.recipients.clear();
    const retry = (await w.handler(sqs([batch[2] as Message]))) as Answer;
    expect(retry.batchItemFailures).toEqual([]);
    expect(w.events()).toMatchObject({ delivery: 2, bounce: 1, open: 1 });
    const after = structuredClone(w.events());
    const again = (await w.handler(sqs(batch))) as Answer;
    expect(again.batchItemFailures).toEqual([]);
    expect(w.events()).toEqual(after);
  });

  it('fails every message counted on a campaign whose counter write failed, and only those', async () => {
    const w = world(['c1', 'c2']);
    w.failing.campaigns.add('c2');
    const out = (await w.handler(
      sqs([
        message('m1', { type: 'delivery', email: 'a@example.com', campaignId: 'c1' }),
        message('m2', { type: 'delivery', email: 'b@example.com', campaignId: 'c2' }),
        message('m3', { type: 'complaint', email: 'c@example.com', campaignId: 'c2' }),
        message('m4', { type: 'open', email: 'd@example.com', campaignId: 'c1' }),
      ]),
    )) as Answer;
    expect(out.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(['m2', 'm3']);
    expect(w.events('c1')).toMatchObject({ delivery: 1, open: 1 });
    expect(w.events('c2')).toBeUndefined();
  });

  it('fails a message whose suppression write failed, without applying or counting it', async () => {
    const w = world();
    w.failing.suppressions.add('hard@example.com');
    const out = (await w.handler(
      sqs([
        message('m1', { type: 'bounce', email: 'hard@example.com', campaignId: 'c1' }),
        message('m2', { type: 'delivery', email: 'ok@example.com', campaignId: 'c1' }),
      ]),
    )) as Answer;
    expect(out.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
    expect(w.events()).toEqual(expect.not.objectContaining({ bounce: expect.anything() }));
    expect(w.events()).toMatchObject({ delivery: 1 });
  });

  it('fails only the messages whose events the bus refused; their retry publishes them once and counts nothing again', async () => {
    const w = world();
    w.failing.bus.add('refused@example.com');
    const batch = [
      message('m1', { type: 'delivery', email: 'a@example.com', campaignId: 'c1' }),
      message('m2', { type: 'delivery', email: 'refused@example.com', campaignId: 'c1' }),
      message('m3', { type: 'open', email: 'c@example.com', campaignId: 'c1' }),
    ];
    const out = (await w.handler(sqs(batch))) as Answer;
    expect(out.batchItemFailures).toEqual([{ itemIdentifier: 'm2' }]);
    // Recorded and counted all the same: the outcome is in the store, its event in the outbox.
    expect(w.events()).toMatchObject({ delivery: 2, open: 1 });
    w.failing.bus.clear();
    const retry = (await w.handler(sqs([batch[1] as Message]))) as Answer;
    expect(retry.batchItemFailures).toEqual([]);
    expect(w.events()).toMatchObject({ delivery: 2, open: 1 });
    expect(w.bus.map((e) => `${e.type} ${(e.data.recipients as string[]).join()}`).sort()).toEqual([
      'recipient.delivered a@example.com',
      'recipient.delivered refused@example.com',
      'recipient.opened c@example.com',
    ]);
  });

  it('throws when every message failed, so the whole batch comes back', async () => {
    const w = world();
    w.failing.recipients.add('a@example.com');
    await expect(
      w.handler(sqs([message('m1', { type: 'delivery', email: 'a@example.com', campaignId: 'c1' })])),
    ).rejects.toMatchObject({ name: 'FullBatchFailureError' });
  });

  it('for any batch and any failing recipients, redelivering what failed ends where a clean run ends', async () => {
    const type = fc.constantFrom<InjectEvent['type']>('delivery', 'bounce', 'complaint', 'open', 'click');
    const recipient = fc.integer({ min: 0, max: 7 }).map((i) => `r${i}@example.com`);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ type, email: recipient, campaignId: fc.constantFrom('c1', 'c2') }), {
          minLength: 1,
          maxLength: 30,
        }),
        fc.uniqueArray(recipient, { maxLength: 4 }),
        async (events, failingRecipients) => {
          const messages = events.map((e, i) => message(`m${i}`, e));
          const clean = world(['c1', 'c2']);
          await clean.handler(sqs(messages));

          const w = world(['c1', 'c2']);
          for (const r of failingRecipients) w.failing.recipients.add(r);
          const out = await w.handler(sqs(messages)).then(
            (answer) => (answer as Answer).batchItemFailures.map((f) => f.itemIdentifier),
            () => messages.map((m) => m.messageId),
          );
          // Exactly the messages naming a failing recipient failed.
          const expected = messages.filter((_, i) => failingRecipients.includes(events[i]?.email ?? ''));
          expect(out.sort()).toEqual(expected.map((m) => m.messageId).sort());
          w.failing.recipients.clear();
          if (expected.length > 0) await w.handler(sqs(expected));
          expect(w.events('c1')).toEqual(clean.events('c1'));
          expect(w.events('c2')).toEqual(clean.events('c2'));
          expect([...w.suppressed].sort()).toEqual([...clean.suppressed].sort());
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('recordSesEvents without partial', () => {
  it('throws the first write failure, as the single-event path and the local injector expect', async () => {
    const w = world();
    w.failing.recipients.add('a@example.com');
    await expect(
      recordSesEvents(
        [buildSesEvent({ type: 'delivery', email: 'a@example.com', campaignId: 'c1' })],
        w.deps as never,
      ),
    ).rejects.toThrow('Rate of requests exceeds');
  });
});
