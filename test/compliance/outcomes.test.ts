/**
 * SES events (generated in AWS's documented shapes) to per-recipient outcomes, event identity, the
 * counters a first-time event adds, and the stats arithmetic over counter items.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bucketOf, eventDeltas, type OutcomeType, recipientEvents } from '../../core/compliance/outcomes.ts';
import { SesEventDetailSchema } from '../../core/compliance/ses-event.ts';
import { campaignStats } from '../../core/compliance/stats.ts';
import { EVENT_TYPES, type SesEventType, sesDetail } from '../support/ses-events.ts';

const EXPECTED_TYPE: Record<SesEventType, OutcomeType> = {
  Send: 'send',
  Delivery: 'delivery',
  Bounce: 'bounce',
  Complaint: 'complaint',
  Reject: 'reject',
  DeliveryDelay: 'deliveryDelay',
  RenderingFailure: 'renderingFailure',
  Open: 'open',
  Click: 'click',
  Subscription: 'subscription',
};

const recipient = fc.record({
  email: fc.emailAddress().filter((e) => e.length < 100 && /^[a-z0-9._+-]+@[a-z0-9.-]+$/i.test(e)),
  messageId: fc.uuid().map((u) => `0100018c-${u}-000000`),
  campaignId: fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/),
});

const parse = (detail: unknown) => SesEventDetailSchema.parse(detail);

/** The same JSON with every object's keys in reverse order (as another serialiser might send it). */
const reverseKeys = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(reverseKeys)
    : value && typeof value === 'object'
      ? Object.fromEntries(
          Object.entries(value)
            .reverse()
            .map(([k, v]) => [k, reverseKeys(v)]),
        )
      : value;

describe('SES event -> recipient outcome', () => {
  for (const type of EVENT_TYPES) {
    it(`${type}: joined to its recipient and campaign, with the event's own time and particulars`, () => {
      fc.assert(
        fc.property(
          recipient.chain((r) => fc.tuple(fc.constant(r), sesDetail(type, r))),
          ([r, detail]) => {
            const events = recipientEvents(parse(detail));
            expect(events).toHaveLength(1);
            const [event] = events;
            const sub = (detail[
              type === 'RenderingFailure' ? 'failure' : type[0]?.toLowerCase() + type.slice(1)
            ] ?? {}) as Record<string, unknown>;
            expect(event).toMatchObject({
              type: EXPECTED_TYPE[type],
              campaignId: r.campaignId,
              key: r.email.toLowerCase(),
              messageId: r.messageId,
              at: (sub.timestamp as string | undefined) ?? '2026-12-01T09:00:00.000Z',
            });
            if (type === 'Bounce') {
              const bounce = detail.bounce as {
                bounceType: string;
                bounceSubType: string;
                bouncedRecipients: { diagnosticCode: string }[];
              };
              expect(event?.bounceType).toBe(bounce.bounceType);
              expect(event?.bounceSubType).toBe(bounce.bounceSubType);
              expect(event?.reason).toBe(bounce.bouncedRecipients[0]?.diagnosticCode);
            }
            if (type === 'Click') expect(event?.link).toBe((detail.click as { link: string }).link);
            if (type === 'Subscription') {
              // OptOut of a topic or unsubscribeAll: either is an unsubscribe (the generator makes both).
              expect(event?.unsubscribed).toBe(true);
            }
            if (type === 'Reject') expect(event?.reason).toBe('Bad content');
          },
        ),
        { numRuns: 50 },
      );
    });
  }

  it('gives a repeated event the same identity (key order and all), and two occurrences different ones', () => {
    fc.assert(
      fc.property(
        recipient.chain((r) =>
          fc
            .tuple(fc.constantFrom(...EVENT_TYPES), fc.constant(r))
            .chain(([type]) => fc.tuple(sesDetail(type, r), sesDetail(type, r))),
        ),
        ([a, b]) => {
          const reordered = reverseKeys(a);
          const [first] = recipientEvents(parse(a));
          const [again] = recipientEvents(parse(JSON.parse(JSON.stringify(a))));
          expect(again?.id).toBe(first?.id);
          expect(recipientEvents(parse(reordered))[0]?.id).toBe(first?.id);
          const [other] = recipientEvents(parse(b));
          if (JSON.stringify(a) !== JSON.stringify(b)) expect(other?.id).not.toBe(first?.id);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('ignores mail without a campaign tag (test sends) and not-spam feedback', () => {
    const r = { email: 'ann@example.com', messageId: 'm1', campaignId: 'c1' };
    const detail = fc.sample(sesDetail('Delivery', r), 1)[0] as { mail: { tags: Record<string, unknown> } };
    delete detail.mail.tags.campaign;
    expect(recipientEvents(parse(detail))).toEqual([]);
    const complaint = fc.sample(sesDetail('Complaint', r), 1)[0] as { complaint: Record<string, unknown> };
    complaint.complaint.complaintFeedbackType = 'not-spam';
    expect(recipientEvents(parse(complaint))).toEqual([]);
  });
});

describe('counter deltas of a new event', () => {
  const event = (type: OutcomeType, extra = {}) => ({
    id: 'x',
    campaignId: 'c',
    key: 'a@b.c',
    email: 'a@b.c',
    type,
    at: '2026-12-01T09:00:00.000Z',
    ...extra,
  });
  it('counts a recipient once per kind: on the first delivery, open, click, and hard or soft bounce', () => {
    expect(eventDeltas(event('delivery'), {}).counts).toEqual({ delivery: 1, uniqueDelivery: 1 });
    expect(eventDeltas(event('delivery'), { deliveredAt: 'x' }).counts).toEqual({ delivery: 1 });
    expect(eventDeltas(event('open'), { firstOpenedAt: 'x' }).counts).toEqual({ open: 1 });
    expect(eventDeltas(event('bounce', { bounceType: 'Permanent' }), {}).counts).toEqual({
      bounce: 1,
      uniqueHardBounce: 1,
    });
    expect(eventDeltas(event('bounce', { bounceType: 'Transient' }), { softBounces: 2 }).counts).toEqual({
      transientBounce: 1,
    });
    const click = event('click', { link: 'https://x/a' });
    expect(eventDeltas(click, {})).toEqual({ counts: { click: 1, uniqueClick: 1 }, newLink: true });
    expect(eventDeltas(click, { firstClickedAt: 'x', links: new Set(['https://x/a']) })).toEqual({
      counts: { click: 1 },
      newLink: false,
    });
    expect(eventDeltas(click, { firstClickedAt: 'x', links: new Set(['https://x/b']) }).newLink).toBe(true);
  });
});

describe('time buckets and stats', () => {
  it('buckets per minute for the first six hours after the start, per hour after', () => {
    const start = '2026-12-01T09:00:00.000Z';
    expect(bucketOf('2026-12-01T09:05:31.000Z', start)).toBe('m#2026-12-01T09:05');
    expect(bucketOf('2026-12-01T14:59:59.999Z', start)).toBe('m#2026-12-01T14:59');
    expect(bucketOf('2026-12-01T15:00:00.000Z', start)).toBe('h#2026-12-01T15');
    expect(bucketOf('2026-12-03T01:02:03.000Z', start)).toBe('h#2026-12-03T01');
  });

  it('sums shards, computes rates over sent and delivered, merges links and buckets across shards', () => {
    const record = {
      id: 'c1',
      progress: { sent: 10, duplicate: 0, suppressed: 0, invalid: 0, failed: 0 },
      startedAt: '2026-12-01T09:00:00.000Z',
      events: { delivery: 8, bounce: 1, transientBounce: 2, open: 9, click: 3, complaint: 1 },
      uniqueEvents: {
        uniqueDelivery: 8,
        uniqueHardBounce: 1,
        uniqueSoftBounce: 1,
        uniqueOpen: 4,
        uniqueClick: 2,
        uniqueComplaint: 1,
      },
    };
    const items = [
      { pk: 'c1#s0', sk: 'm#2026-12-01T09:01', delivery: 5, open: 1 },
      { pk: 'c1#s3', sk: 'm#2026-12-01T09:01', delivery: 3 },
      { pk: 'c1#s3', sk: 'h#2026-12-02T10', open: 8, click: 3 },
      { pk: 'c1#s1', sk: 'l#aaa', url: 'https://x/a', total: 2, unique: 1 },
      { pk: 'c1#s2', sk: 'l#aaa', url: 'https://x/a', total: 0, unique: 1 },
      { pk: 'c1#s2', sk: 'l#bbb', url: 'https://x/b', total: 1, unique: 1 },
    ];
    const stats = campaignStats(record as never, items, new Date('2026-12-02T12:00:00Z'));
    expect(stats.sent).toBe(10);
    expect(stats.counts).toMatchObject({
      delivered: 8,
      bounced: { hard: 1, soft: 1, total: 3 },
      opened: { unique: 4, total: 9 },
      clicked: { unique: 2, total: 3 },
      complained: 1,
    });
    expect(stats.rates.delivery).toBeCloseTo(0.8);
    expect(stats.rates.open).toBeCloseTo(0.5);
    expect(stats.rates.clickToOpen).toBeCloseTo(0.5);
    expect(stats.rates.bounce).toBeCloseTo(0.2);
    expect(stats.links).toEqual([
      { url: 'https://x/a', unique: 2, total: 2 },
      { url: 'https://x/b', unique: 1, total: 1 },
    ]);
    expect(stats.series.points.map((p) => [p.start, p.resolution, p.delivered, p.opened])).toEqual([
      ['2026-12-01T09:01:00.000Z', 'minute', 8, 1],
      ['2026-12-02T10:00:00.000Z', 'hour', 0, 8],
    ]);
    expect(stats.series.minutesUntil).toBe('2026-12-01T15:00:00.000Z');
  });
});
