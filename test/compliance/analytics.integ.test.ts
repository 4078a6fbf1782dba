/**
 * What happened after "sent", on the embedded local stack: SES events in AWS's documented shapes, in SQS
 * batches of EventBridge events through the deployed handler's code, joined to the campaign's recipients;
 * a redelivered batch changes nothing; shuffled and repeated event sequences give the counts a model of
 * the distinct events gives; the stats and recipient routes over HTTP; the report's outcome columns;
 * webhooks and the event bus get each recorded event once, with a stable id, even across a failed publish.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sesEventDeps } from '../../core/app.ts';
import type { CampaignRecord } from '../../core/campaigns/store.ts';
import { recordSesEvents, webhookEventOf } from '../../core/compliance/events.ts';
import { recipientEvents } from '../../core/compliance/outcomes.ts';
import { SesEventDetailSchema } from '../../core/compliance/ses-event.ts';
import type { CampaignStats } from '../../core/compliance/stats.ts';
import { EventPublishError } from '../../core/errors.ts';
import type { WebhookEvent } from '../../core/webhooks/events.ts';
import { createHandler } from '../../handlers/ses-events.ts';
import { type ApiTest, postUpload, startApiTest } from '../api/support.ts';
import { parseReport } from '../support/local-stack.ts';
import { EVENT_TYPES, type Recipient, type SesEventType, sesEvent, sqsBatch } from '../support/ses-events.ts';

const TEMPLATE = {
  subject: 'News for {{ first_name }}',
  html: '<p>Hello {{ first_name }}</p><p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
};
const PEOPLE = ['ann@example.com', 'bob@example.com', 'cy@example.com', 'dee@example.com'];

let api: ApiTest;
let campaign: CampaignRecord;
/** The campaign the local SES published events for. */
let original: CampaignRecord;
let recipients: Map<string, Recipient>;

/** One generated event of this type (reproducible: a seed per call site), adjusted by `patch`. */
function one(
  type: SesEventType,
  r: Recipient,
  seed: number,
  patch?: (detail: Record<string, unknown>) => void,
) {
  const [event] = fc.sample(sesEvent(type, r), { numRuns: 1, seed });
  if (!event) throw new Error('no sample');
  patch?.(event.detail);
  return event;
}

const withoutTime = (stats: CampaignStats) => ({ ...stats, generatedAt: '' });

beforeAll(async () => {
  api = await startApiTest();
  expect((await api.call('PUT', '/v1/templates/news', TEMPLATE)).status).toBe(201);
  const presigned = await api.call('POST', '/v1/uploads', { kind: 'recipients', contentType: 'text/csv' });
  const csv = `email,first_name\n${PEOPLE.map((e) => `${e},${e.slice(0, 3)}`).join('\n')}\n`;
  expect(await postUpload(presigned.body as never, csv)).toBeLessThan(300);
  const created = await api.call('POST', '/v1/campaigns', {
    templateId: 'news',
    recipientsKey: presigned.body.key as string,
    from: 'news@sixback.example',
  });
  expect(created.status, created.text).toBe(201);
  await api.stack.engine.wait(created.body.executionArn as string);
  const sent = await api.stack.deps.campaigns.get(created.body.id as string);
  expect(sent.status).toBe('completed');
  // The local SES publishes its own Send and Delivery events for this campaign. The events under test
  // go to a copy (same report, same ledger entries), so they are the only ones it sees.
  await api.stack.ses?.events.idle();
  original = sent;
  campaign = { ...sent, id: `${sent.id}-copy` };
  await api.stack.deps.campaigns.create(campaign);
  const ledger = await api.stack.deps.ledger.lookup(sent.id, PEOPLE);
  await api.stack.deps.ledger.record(campaign.id, [...ledger.values()]);
  recipients = new Map(
    PEOPLE.map((email) => [
      email,
      { email, campaignId: campaign.id, messageId: ledger.get(email)?.messageId as string },
    ]),
  );
}, 60_000);

afterAll(async () => {
  await api?.stop();
});

describe('SES events joined to recipients', () => {
  it("counts the local SES's own events: every recipient sent and delivered, once", async () => {
    const stats = (await api.call('GET', `/v1/campaigns/${original.id}/stats`)).body as CampaignStats;
    expect(stats.sent).toBe(PEOPLE.length);
    expect(stats.counts.delivered).toBe(PEOPLE.length);
    expect(stats.rates.delivery).toBe(1);
    const person = await api.call('GET', `/v1/campaigns/${original.id}/recipients/ann@example.com`);
    expect((person.body.timeline as { type: string }[]).map((e) => e.type).sort()).toEqual([
      'delivery',
      'send',
    ]);
  });

  it('a batch and its redelivery count once; stats, recipient timeline and report say what happened', async () => {
    const [ann, bob, cy, dee] = PEOPLE.map((e) => recipients.get(e) as Recipient) as [
      Recipient,
      Recipient,
      Recipient,
      Recipient,
    ];
    const clickTo = (url: string) => (d: Record<string, unknown>) => {
      (d.click as { link: string }).link = url;
    };
    const events = [
      ...PEOPLE.map((e, i) => one('Send', recipients.get(e) as Recipient, i)),
      one('Delivery', ann, 10),
      one('Delivery', cy, 11),
      one('Delivery', dee, 12),
      one('Bounce', bob, 13, (d) => {
        Object.assign(d.bounce as object, { bounceType: 'Permanent', bounceSubType: 'General' });
        (d.bounce as { bouncedRecipients: { diagnosticCode: string }[] }).bouncedRecipients[0] = {
          emailAddress: bob.email,
          action: 'failed',
          status: '5.1.1',
          diagnosticCode: 'smtp; 550 5.1.1 user unknown',
        } as never;
      }),
      one('Complaint', cy, 14),
      one('Open', ann, 15),
      one('Open', ann, 16),
      one('Click', ann, 17, clickTo('https://sixback.example/offer')),
      one('Click', ann, 18, clickTo('https://sixback.example/blog')),
      one('DeliveryDelay', dee, 19),
      one('Subscription', dee, 20),
    ];
    const handler = createHandler(api.stack.deps);
    const first = (await handler(sqsBatch(events))) as { recorded: number; counted: Record<string, unknown> };
    expect(first.recorded).toBe(events.length);
    const stats = await api.call('GET', `/v1/campaigns/${campaign.id}/stats`);
    expect(stats.status, stats.text).toBe(200);

    // SQS redelivers the batch (and EventBridge repeats two events), in another order.
    const again = (await handler(sqsBatch([...events].reverse().concat(events.slice(0, 2))))) as {
      counted: Record<string, unknown>;
    };
    expect(again.counted).toEqual({});
    const after = await api.call('GET', `/v1/campaigns/${campaign.id}/stats`);
    expect(withoutTime(after.body as CampaignStats)).toEqual(withoutTime(stats.body as CampaignStats));

    const s = stats.body as CampaignStats;
    expect(s.sent).toBe(4);
    expect(s.counts).toEqual({
      delivered: 3,
      bounced: { hard: 1, soft: 0, total: 1 },
      complained: 1,
      rejected: 0,
      delayed: 1,
      renderingFailed: 0,
      opened: { unique: 1, total: 2 },
      clicked: { unique: 1, total: 2 },
      unsubscribed: 1,
    });
    expect(s.rates.delivery).toBeCloseTo(0.75);
    expect(s.rates.hardBounce).toBeCloseTo(0.25);
    expect(s.rates.open).toBeCloseTo(1 / 3);
    expect(s.links).toEqual([
      { url: 'https://sixback.example/blog', unique: 1, total: 1 },
      { url: 'https://sixback.example/offer', unique: 1, total: 1 },
    ]);
    expect(s.bounces).toEqual([{ type: 'Permanent', subType: 'General', hard: true, unique: 1, total: 1 }]);
    const series = s.series.points.reduce(
      (sum, p) => ({ delivered: sum.delivered + p.delivered, opened: sum.opened + p.opened }),
      { delivered: 0, opened: 0 },
    );
    expect(series).toEqual({ delivered: 3, opened: 2 });

    // The campaign's deliverability view counts each event once too.
    const status = await api.call('GET', `/v1/campaigns/${campaign.id}`);
    expect(status.body.deliverability).toMatchObject({ events: { delivery: 3, bounce: 1, complaint: 1 } });

    // One person's timeline.
    const person = await api.call(
      'GET',
      `/v1/campaigns/${campaign.id}/recipients/${encodeURIComponent('Ann@Example.com')}`,
    );
    expect(person.status, person.text).toBe(200);
    expect(person.body).toMatchObject({
      email: 'ann@example.com',
      send: { state: 'sent', messageId: ann.messageId },
      outcome: {
        opens: 2,
        clicks: 2,
        linksClicked: ['https://sixback.example/blog', 'https://sixback.example/offer'],
        bounceType: null,
      },
    });
    const timeline = person.body.timeline as { at: string; type: string }[];
    expect(timeline.map((e) => e.type).sort()).toEqual([
      'click',
      'click',
      'delivery',
      'open',
      'open',
      'send',
    ]);
    expect(timeline.map((e) => e.at)).toEqual(timeline.map((e) => e.at).sort());
    expect((await api.call('GET', `/v1/campaigns/${campaign.id}/recipients/nobody@example.com`)).status).toBe(
      404,
    );

    // The report gains the outcome columns.
    const report = await api.call('GET', `/v1/campaigns/${campaign.id}/report?format=csv`);
    expect(report.status).toBe(200);
    const rows = parseReport(report.text);
    const byEmail = new Map(rows.map((row) => [row.email, row]));
    expect(byEmail.get('ann@example.com')).toMatchObject({ opens: '2', clicks: '2', bounce_type: '' });
    expect(byEmail.get('ann@example.com')?.delivered_at).toMatch(/^2026-12-0/);
    expect(byEmail.get('bob@example.com')).toMatchObject({
      bounce_type: 'Permanent/General',
      bounce_reason: 'smtp; 550 5.1.1 user unknown',
      delivered_at: '',
    });
    expect(byEmail.get('cy@example.com')?.complained_at).not.toBe('');
  });

  it('shuffled, repeated and re-batched event sequences give the counts of the distinct events', async () => {
    const deps = sesEventDeps(api.stack.deps);
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom(...EVENT_TYPES), fc.integer({ min: 0, max: 2 }), fc.integer()), {
          minLength: 1,
          maxLength: 14,
        }),
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.integer({ min: 1, max: 6 }),
        fc.infiniteStream(fc.nat()),
        async (picks, repeats, batchSize, order) => {
          run++;
          // A campaign of its own for each run, a copy of the real one.
          const id = `${campaign.id}-p${run}`;
          await api.stack.deps.campaigns.create({ ...campaign, id });
          const people = PEOPLE.slice(0, 3).map((email, i) => ({
            email,
            campaignId: id,
            messageId: `msg-${run}-${i}`,
          }));
          const distinct = picks.map(([type, who, seed]) => one(type, people[who] as Recipient, seed));
          const sequence = [...distinct, ...repeats.map((i) => distinct[i % distinct.length])];
          const shuffled = sequence
            .map((event) => ({ event, rank: order.next().value as number }))
            .sort((a, b) => a.rank - b.rank)
            .map((x) => x.event);
          for (let i = 0; i < shuffled.length; i += batchSize)
            await recordSesEvents(shuffled.slice(i, i + batchSize), deps);

          // The model: each distinct recipient event once; each recipient once per kind.
          const model = new Map<string, ReturnType<typeof recipientEvents>[number]>();
          for (const event of distinct)
            for (const r of recipientEvents(SesEventDetailSchema.parse(event.detail))) model.set(r.id, r);
          const all = [...model.values()];
          const recipientsWith = (test: (r: (typeof all)[number]) => boolean) =>
            new Set(all.filter(test).map((r) => r.key)).size;
          const total = (type: string) => all.filter((r) => r.type === type).length;
          const hard = (r: (typeof all)[number]) => r.type === 'bounce' && r.bounceType === 'Permanent';
          const soft = (r: (typeof all)[number]) => r.type === 'bounce' && r.bounceType !== 'Permanent';
          const stats = (await api.call('GET', `/v1/campaigns/${id}/stats`)).body as CampaignStats;
          expect(stats.counts).toEqual({
            delivered: recipientsWith((r) => r.type === 'delivery'),
            bounced: { hard: recipientsWith(hard), soft: recipientsWith(soft), total: total('bounce') },
            complained: recipientsWith((r) => r.type === 'complaint'),
            rejected: recipientsWith((r) => r.type === 'reject'),
            delayed: total('deliveryDelay'),
            renderingFailed: total('renderingFailure'),
            opened: { unique: recipientsWith((r) => r.type === 'open'), total: total('open') },
            clicked: { unique: recipientsWith((r) => r.type === 'click'), total: total('click') },
            unsubscribed: recipientsWith((r) => r.type === 'subscription' && r.unsubscribed === true),
          });
          const clicks = all.filter((r) => r.type === 'click');
          expect(stats.links.map((l) => [l.url, l.total, l.unique]).sort()).toEqual(
            [...new Set(clicks.map((c) => c.link))]
              .map((url) => [
                url,
                clicks.filter((c) => c.link === url).length,
                new Set(clicks.filter((c) => c.link === url).map((c) => c.key)).size,
              ])
              .sort(),
          );
          // The bounce breakdown: events per type and sub-type as the model has them; each recipient counted
          // once among the hard rows and once among the soft ones, so the rows add up to the counts.
          const bounces = all.filter((r) => r.type === 'bounce');
          const kinds = [...new Set(bounces.map((b) => `${b.bounceType}/${b.bounceSubType ?? ''}`))].sort();
          expect(stats.bounces.map((b) => `${b.type}/${b.subType}`).sort()).toEqual(kinds);
          for (const row of stats.bounces) {
            const mine = bounces.filter(
              (b) => b.bounceType === row.type && (b.bounceSubType ?? '') === row.subType,
            );
            expect(row.total).toBe(mine.length);
            expect(row.hard).toBe(row.type === 'Permanent');
            expect(row.unique).toBeLessThanOrEqual(new Set(mine.map((b) => b.key)).size);
          }
          const sum = (hard: boolean) =>
            stats.bounces.filter((b) => b.hard === hard).reduce((n, b) => n + b.unique, 0);
          expect([sum(true), sum(false)]).toEqual([stats.counts.bounced.hard, stats.counts.bounced.soft]);
          // The time series adds up to the totals, and each recipient's first open is the earliest one.
          expect(stats.series.points.reduce((n, p) => n + p.opened, 0)).toBe(total('open'));
          for (const person of people) {
            const opens = all
              .filter((r) => r.type === 'open' && r.key === person.email)
              .map((r) => r.at)
              .sort();
            const outcome = await api.stack.deps.analytics.recipient(id, person.email);
            expect(outcome?.firstOpenedAt).toBe(opens[0]);
          }
        },
      ),
      { numRuns: 12 },
    );
  }, 120_000);

  it('publishes each recorded event once with a stable id: nothing for a redelivery, late but not lost after a failed publish', async () => {
    const id = `${campaign.id}-hooks`;
    await api.stack.deps.campaigns.create({ ...campaign, id });
    const [ann, bob, cy, dee] = PEOPLE.map((email, i) => ({
      email,
      campaignId: id,
      messageId: `hook-${i}`,
    })) as [Recipient, Recipient, Recipient, Recipient];
    const events = [
      one('Send', ann, 30),
      one('Delivery', ann, 31),
      one('Delivery', bob, 32),
      one('Open', ann, 33),
      one('Open', ann, 34),
      one('Click', bob, 35),
      one('Bounce', cy, 36),
      one('Complaint', bob, 37),
    ];
    // What subscribers should hear of: every distinct recipient event of a kind they are told about.
    const expectedIds = (list: typeof events) =>
      list
        .flatMap((e) => recipientEvents(SesEventDetailSchema.parse(e.detail)))
        .flatMap((r) => webhookEventOf(r)?.id ?? [])
        .sort();
    const published: WebhookEvent[] = [];
    const deps = {
      ...sesEventDeps(api.stack.deps),
      publish: async (batch: WebhookEvent[]) => {
        published.push(...batch);
      },
    };
    // EventBridge repeats one event inside the first batch already.
    await recordSesEvents([...events, events[3]], deps);
    const firstIds = published.map((e) => e.id).sort();
    expect(firstIds).toEqual(expectedIds(events));
    expect(firstIds).toHaveLength(7);
    expect(new Set(firstIds).size).toBe(firstIds.length);
    const opens = published.filter((e) => e.type === 'recipient.opened');
    expect(opens.map((e) => e.data.recipients)).toEqual([[ann.email], [ann.email]]);
    expect(published.find((e) => e.type === 'recipient.clicked')?.data).toMatchObject({
      campaignId: id,
      messageId: bob.messageId,
      recipients: [bob.email],
      link: expect.stringMatching(/^https:/),
    });

    // SQS redelivers the batch, in another order, then EventBridge repeats two: nothing is published.
    published.length = 0;
    await recordSesEvents([...events].reverse(), deps);
    await recordSesEvents(events.slice(3, 5), deps);
    expect(published).toEqual([]);

    // New events whose publish fails for one of them (PutEvents refused an entry): the batch is recorded
    // and counted, then fails, so SQS delivers it again; the retry counts nothing and publishes exactly
    // the one that did not get out, with the id it had.
    const more = [one('Open', dee, 40), one('Click', dee, 41), one('Delivery', dee, 42)];
    let attempted: WebhookEvent[] = [];
    const failing = {
      ...deps,
      publish: async (batch: WebhookEvent[]) => {
        attempted = batch;
        throw new EventPublishError('1 of 3 events not published', [batch[1]?.id as string]);
      },
    };
    await expect(recordSesEvents(more, failing)).rejects.toThrow(EventPublishError);
    expect(attempted.map((e) => e.id).sort()).toEqual(expectedIds(more));
    const counted = (await api.call('GET', `/v1/campaigns/${id}/stats`)).body as CampaignStats;
    expect(counted.counts.opened.total).toBe(3);
    const retry = await recordSesEvents(more, deps);
    expect(retry.counted).toEqual({});
    expect(published.map((e) => e.id)).toEqual([attempted[1]?.id]);
    expect(published[0]).toEqual(attempted[1]);

    // A publish that dies outright (the process, the bus): all of them wait for the retry.
    const last = [one('Open', cy, 50), one('Open', cy, 51)];
    const dead = {
      ...deps,
      publish: async () => {
        throw new Error('connect ECONNREFUSED');
      },
    };
    await expect(recordSesEvents(last, dead)).rejects.toThrow(/not published/);
    published.length = 0;
    await recordSesEvents([...last, ...more], deps);
    expect(published.map((e) => e.id).sort()).toEqual(expectedIds(last));
    published.length = 0;
    await recordSesEvents([...events, ...more, ...last], deps);
    expect(published).toEqual([]);
    const stats = (await api.call('GET', `/v1/campaigns/${id}/stats`)).body as CampaignStats;
    expect(stats.counts.opened).toEqual({ unique: 3, total: 5 });
  });
});
