/**
 * The campaign counters converge to exactly the recipient outcomes, whatever fails: generated event
 * sequences (repeats included) go through the SES events code in random batches, over the real stores on
 * dynalite behind a client that fails writes (before they are made; or after: the write is made and its
 * answer lost, or retried by the client as the SDK does) and reads, and kills whole invocations part-way (a crash: every later call fails and the
 * whole batch comes back). Failed messages are delivered again, sometimes two batches at once, until the
 * queue is empty. Then every counter (totals, unique counts, time buckets, links, bounce types, A/B
 * variants) must equal what the recipients' items say happened, and every distinct event must be on them.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleVariant } from '../../core/abtest/assign.ts';
import { isCounterName } from '../../core/campaigns/counters.ts';
import { CampaignStore } from '../../core/campaigns/store.ts';
import { AnalyticsStore } from '../../core/compliance/analytics-store.ts';
import {
  buildSesEvent,
  type InjectEvent,
  recordSesEvents,
  type SesEventDeps,
} from '../../core/compliance/events.ts';
import {
  bounceHash,
  bucketOf,
  linkHash,
  type RecipientOutcome,
  recipientEvents,
} from '../../core/compliance/outcomes.ts';
import { SesEventDetailSchema } from '../../core/compliance/ses-event.ts';
import { UnsubscribeLinks, unsubscribe } from '../../core/compliance/unsubscribe.ts';
import { addressKey } from '../../core/recipients/email-address.ts';
import { campaignRecord } from '../support/campaign-record.ts';
import { startTestTables, type TestTables } from '../support/dynalite.ts';
import { seeded } from '../support/seeded.ts';

const TABLES = { campaigns: 'cmp-journal', analytics: 'an-journal' };
const START = Date.parse('2026-12-01T09:00:00.000Z');
const IN_FLIGHT_MS = 1_000;
const RECIPIENTS = ['r0@example.com', 'r1@example.com', 'r2@example.com', 'r3@example.com'];
const LINKS = ['https://a.example/', 'https://b.example/offer'];
const AB_TEST = { sample: 0.6, variants: [{ subject: 'A' }, { subject: 'B' }] };

let tables: TestTables;
let raw: DynamoDBDocumentClient;

beforeAll(async () => {
  tables = await startTestTables(TABLES);
  raw = tables.documents;
});

afterAll(async () => {
  await tables?.close();
});

const throttled = () =>
  Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), {
    name: 'ProvisionedThroughputExceededException',
  });

/**
 * The document client as the stores see it, failing calls at random: a write fails before it is made or
 * after (made, its answer lost), a read fails; `crashAt` kills the invocation at its n-th write.
 */
function faulty(rng: ReturnType<typeof seeded>) {
  const state = { p: 0, crashAt: 0, writes: 0, dead: false };
  const client = {
    async send(command: { constructor: { name: string } }) {
      if (state.dead) throw throttled();
      const write = /Put|Update|Delete|BatchWrite/.test(command.constructor.name);
      if (write && state.crashAt > 0 && ++state.writes >= state.crashAt) {
        state.dead = true;
        // The crash lands on either side of the write.
        if (rng.chance(0.5)) await raw.send(command as never);
        throw throttled();
      }
      const roll = rng.next();
      if (roll < state.p / 3) throw throttled();
      if (write && roll < (state.p * 2) / 3) {
        await raw.send(command as never);
        throw throttled();
      }
      if (write && roll < state.p) {
        // The answer lost and the SDK retrying the write: the caller sees the second attempt's answer.
        await raw.send(command as never);
      }
      return raw.send(command as never);
    },
  } as unknown as DynamoDBDocumentClient;
  return { client, state };
}

const TYPES = ['delivery', 'bounce', 'soft-bounce', 'complaint', 'open', 'click', 'reject'] as const;
type Spec = { type: (typeof TYPES)[number]; recipient: number; second: number; link: number };

function sesEventOf(campaignId: string, spec: Spec) {
  const email = RECIPIENTS[spec.recipient] as string;
  const event = buildSesEvent(
    { type: spec.type as InjectEvent['type'], email, campaignId, messageId: `m-${spec.recipient}` },
    new Date(START + spec.second * 1000),
  );
  if (spec.type === 'click')
    (event.detail as unknown as { click: { link: string } }).click.link = LINKS[spec.link] as string;
  return event;
}

/** What the counter items say: totals, buckets, links, bounce rows, variants, each a name to a number. */
function fromCounters(items: Record<string, unknown>[]) {
  const sums = new Map<string, Record<string, number>>();
  for (const item of items) {
    const sk = String(item.sk);
    const row = sums.get(sk) ?? {};
    for (const [name, value] of Object.entries(item))
      if (typeof value === 'number' && isCounterName(name) && value !== 0)
        row[name] = (row[name] ?? 0) + value;
    sums.set(sk, row);
  }
  return Object.fromEntries([...sums].filter(([, row]) => Object.keys(row).length > 0).sort());
}

const COUNTER_OF: Record<string, string> = {
  delivery: 'delivery',
  complaint: 'complaint',
  open: 'open',
  click: 'click',
  reject: 'reject',
};
const SERIES = new Set(['delivery', 'bounce', 'transientBounce', 'complaint', 'open', 'click']);

/** The same, as the recipients' items say it (their timelines, first-time facts, links). */
function fromOutcomes(campaignId: string, outcomes: RecipientOutcome[]) {
  const sums = new Map<string, Record<string, number>>();
  const add = (sk: string, name: string, n = 1) => {
    const row = sums.get(sk) ?? {};
    row[name] = (row[name] ?? 0) + n;
    sums.set(sk, row);
  };
  const startedAt = new Date(START).toISOString();
  for (const o of outcomes) {
    for (const entry of o.timeline ?? []) {
      const hard = entry.type === 'bounce' && entry.detail?.startsWith('Permanent');
      const counter =
        entry.type === 'bounce' ? (hard ? 'bounce' : 'transientBounce') : COUNTER_OF[entry.type];
      if (!counter) continue;
      add('total', counter);
      if (SERIES.has(counter)) add(bucketOf(entry.at, startedAt), counter);
      if (entry.type === 'click') add(`l#${linkHash(entry.detail ?? '')}`, 'total');
      if (entry.type === 'bounce') {
        const [type = '', subType = ''] = (entry.detail ?? '').split(' / ');
        add(`b#${bounceHash(type, subType)}`, 'total');
      }
    }
    const facts: [keyof RecipientOutcome, string][] = [
      ['deliveredAt', 'uniqueDelivery'],
      ['hardBouncedAt', 'uniqueHardBounce'],
      ['complainedAt', 'uniqueComplaint'],
      ['rejectedAt', 'uniqueReject'],
      ['firstOpenedAt', 'uniqueOpen'],
      ['firstClickedAt', 'uniqueClick'],
    ];
    for (const [fact, counter] of facts) if (o[fact]) add('total', counter);
    // Each recipient's first hard and first soft bounce: one sub-type each in these sequences.
    if (o.hardBouncedAt) add(`b#${bounceHash('Permanent', 'General')}`, 'unique');
    if (o.softBounces) {
      add('total', 'uniqueSoftBounce');
      add(`b#${bounceHash('Transient', 'MailboxFull')}`, 'unique');
    }
    for (const link of o.links ?? []) add(`l#${linkHash(link)}`, 'unique');
    const variant = sampleVariant(campaignId, o.key, AB_TEST.sample, AB_TEST.variants.length);
    if (variant && o.firstOpenedAt) add(`v#${variant}`, 'uniqueOpen');
    if (variant && o.firstClickedAt) add(`v#${variant}`, 'uniqueClick');
  }
  return Object.fromEntries([...sums].sort());
}

let run = 0;

describe('campaign counters under failures and redeliveries', () => {
  it('equal the recipient outcomes exactly, for any events, faults, crashes and redelivery order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            type: fc.constantFrom(...TYPES),
            recipient: fc.nat({ max: RECIPIENTS.length - 1 }),
            second: fc.nat({ max: 150 }),
            link: fc.nat({ max: LINKS.length - 1 }),
          }),
          { minLength: 1, maxLength: 16 },
        ),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.constantFrom(0.05, 0.15, 0.35),
        async (specs, seed, p) => {
          const rng = seeded(seed);
          const campaignId = `journal-${run++}`;
          let now = START + 3_600_000;
          const clock = () => new Date(now);
          await new CampaignStore(raw, TABLES.campaigns, clock, TABLES.analytics).create(
            campaignRecord({
              id: campaignId,
              startedAt: new Date(START).toISOString(),
              spec: { abTest: AB_TEST as never },
            }),
          );
          // EventBridge repeats some events: the same body in two messages.
          const bodies = specs.map((spec) => sesEventOf(campaignId, spec));
          const messages = [...bodies, ...bodies.filter(() => rng.chance(0.2))];
          const invocation = () => {
            const { client, state } = faulty(rng);
            const deps: SesEventDeps = {
              campaigns: new CampaignStore(client, TABLES.campaigns, clock, TABLES.analytics, rng.next),
              analytics: new AnalyticsStore(client, TABLES.analytics, clock, rng.next, IN_FLIGHT_MS),
              suppression: { add: async () => undefined },
              clock,
            };
            return { deps, state };
          };
          const pending = new Set(messages.keys());
          for (let round = 0; round < 300 && pending.size > 0; round++) {
            const faults = round < 12;
            const deliveries = rng.chance(0.3) ? 2 : 1;
            await Promise.all(
              Array.from({ length: deliveries }, async () => {
                const batch = [...pending].sort(() => rng.next() - 0.5).slice(0, 1 + rng.int(8));
                const { deps, state } = invocation();
                state.p = faults ? p : 0;
                state.crashAt = faults && rng.chance(0.25) ? 1 + rng.int(12) : 0;
                const result = await recordSesEvents(
                  batch.map((i) => messages[i]),
                  deps,
                  { partial: true },
                ).catch(() => undefined);
                const failed =
                  state.dead || !result ? batch : result.failed.map((f) => batch[f.index] as number);
                for (const i of batch) if (!failed.includes(i)) pending.delete(i);
              }),
            );
            now += rng.int(IN_FLIGHT_MS * 1.5);
          }
          expect(pending.size).toBe(0);

          const store = new AnalyticsStore(raw, TABLES.analytics, clock);
          const outcomes = (
            await Promise.all(RECIPIENTS.map((email) => store.recipient(campaignId, addressKey(email))))
          ).filter((o): o is RecipientOutcome => o !== undefined);
          // Every distinct event is on its recipient, once.
          const distinct = new Set(
            bodies.flatMap((b) => recipientEvents(SesEventDetailSchema.parse(b.detail)).map((e) => e.id)),
          );
          expect(outcomes.reduce((n, o) => n + (o.timeline?.length ?? 0), 0)).toBe(distinct.size);
          expect(fromCounters(await store.counterItems(campaignId))).toEqual(
            fromOutcomes(campaignId, outcomes),
          );
        },
      ),
      { numRuns: Number(process.env.JOURNAL_RUNS ?? 30) },
    );
  }, 120_000);

  it('count a one-click unsubscribe once, however its POSTs fail, once one of them succeeds', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 - 1 }), async (seed) => {
        const rng = seeded(seed);
        const campaignId = `unsub-${run++}`;
        let now = START + 3_600_000;
        const clock = () => new Date(now);
        await new CampaignStore(raw, TABLES.campaigns, clock, TABLES.analytics).create(
          campaignRecord({ id: campaignId, startedAt: new Date(START).toISOString() }),
        );
        const links = new UnsubscribeLinks({
          region: 'local',
          publicBaseUrl: 'https://mail.test',
          unsubscribeSecret: 's',
        });
        const email = 'ann@example.com';
        const token = links.url({ campaignId, key: email }).split('/u/')[1] as string;
        const post = (faults: boolean) => {
          const { client, state } = faulty(rng);
          state.p = faults ? 0.4 : 0;
          state.crashAt = faults && rng.chance(0.3) ? 1 + rng.int(6) : 0;
          return unsubscribe(token, {
            links,
            suppression: { get: async () => undefined, add: async () => undefined } as never,
            campaigns: new CampaignStore(client, TABLES.campaigns, clock, TABLES.analytics, rng.next),
            analytics: new AnalyticsStore(client, TABLES.analytics, clock, rng.next, IN_FLIGHT_MS),
            clock,
          }).then(
            () => true,
            () => false,
          );
        };
        // The mail client retries a failed POST (and the recipient may click again) until one succeeds.
        let succeeded = false;
        for (let attempt = 0; attempt < 60 && !succeeded; attempt++) {
          succeeded = await post(attempt < 8);
          now += rng.int(IN_FLIGHT_MS * 1.5);
        }
        expect(succeeded).toBe(true);
        // Later clicks count nothing again.
        expect(await post(false)).toBe(true);
        const store = new AnalyticsStore(raw, TABLES.analytics, clock);
        const outcome = await store.recipient(campaignId, addressKey(email));
        const at = outcome?.unsubscribedAt as string;
        expect(at).toBeDefined();
        expect(fromCounters(await store.counterItems(campaignId))).toEqual({
          total: { unsubscribe: 1, uniqueUnsubscribe: 1 },
          [bucketOf(at, new Date(START).toISOString())]: { unsubscribe: 1 },
        });
      }),
      { numRuns: Number(process.env.JOURNAL_RUNS ?? 30) },
    );
  }, 120_000);
});
