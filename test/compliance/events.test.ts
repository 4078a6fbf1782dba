/**
 * SES events through the same code the Lambda handler runs, with in-memory stand-ins for the campaign
 * store and the suppression list: counters, suppression, and the alarms a stream of events raises.
 */
import { describe, expect, it } from 'vitest';
import type { AppDeps } from '../../core/app.ts';
import { METRIC_NAMESPACE, RATE_METRICS } from '../../core/aws/metrics.ts';
import type { CampaignRecord } from '../../core/campaigns/store.ts';
import {
  buildSesEvent,
  type InjectEvent,
  recordSesEvent,
  recordSesEvents,
  type SesEventDeps,
} from '../../core/compliance/events.ts';
import { campaignHealth, updateAlarms } from '../../core/compliance/health.ts';
import type { SuppressionReason } from '../../core/compliance/suppression.ts';
import { ValidationError } from '../../core/errors.ts';
import { createLogger } from '../../core/logging.ts';
import { createHandler } from '../../handlers/ses-events.ts';
import { stdoutOf } from '../support/stdout.ts';

function world(sent: number) {
  const record = {
    id: 'c1',
    progress: { sent },
    events: undefined,
    alarms: undefined,
  } as unknown as CampaignRecord;
  const suppressed = new Map<string, { reason: SuppressionReason; source: string }>();
  const metrics: Record<string, unknown>[] = [];
  let patches = 0;
  const deps: SesEventDeps = {
    campaigns: {
      async addEvents(id, counts) {
        if (id !== record.id) return undefined;
        record.events ??= {};
        for (const [k, v] of Object.entries(counts)) record.events[k] = (record.events[k] ?? 0) + (v ?? 0);
        return structuredClone(record);
      },
      async patch(_id, patch) {
        patches++;
        Object.assign(record, patch);
      },
    },
    suppression: {
      async add(address, reason, source) {
        suppressed.set(address.toLowerCase(), { reason, source });
      },
    },
    clock: () => new Date('2026-11-25T12:00:00Z'),
    emitMetrics: (line) => metrics.push(JSON.parse(line)),
  };
  const send = (type: InjectEvent['type'], email: string, campaignId = 'c1') =>
    recordSesEvent(buildSesEvent({ type, email, campaignId }), deps);
  return { record, suppressed, metrics, deps, send, patches: () => patches };
}

describe('SES events', () => {
  it('suppresses permanent bounces and complaints, not soft bounces, and counts each type', async () => {
    const w = world(100);
    await w.send('bounce', 'Hard@Example.com');
    await w.send('soft-bounce', 'full@example.com');
    await w.send('complaint', 'angry@example.com');
    await w.send('delivery', 'ok@example.com');
    await w.send('open', 'ok@example.com');
    expect([...w.suppressed.entries()]).toEqual([
      ['hard@example.com', { reason: 'bounce', source: 'ses:bounce:c1' }],
      ['angry@example.com', { reason: 'complaint', source: 'ses:complaint:c1' }],
    ]);
    expect(w.record.events).toEqual({ bounce: 1, transientBounce: 1, complaint: 1, delivery: 1, open: 1 });
  });

  it('accepts the bare detail, upper-case types, and events for unknown campaigns', async () => {
    const w = world(10);
    const event = buildSesEvent({ type: 'bounce', email: 'x@example.com', campaignId: 'other' });
    const result = await recordSesEvent({ ...event.detail, eventType: 'BOUNCE' }, w.deps);
    expect(result).toMatchObject({ counter: 'bounce', campaignId: 'other', suppressed: ['x@example.com'] });
    expect(result.health).toBeUndefined();
  });

  it('refuses input that is not an SES event, saying what is wrong', async () => {
    const w = world(10);
    await expect(recordSesEvent({ detail: { mail: {} } }, w.deps)).rejects.toThrow(ValidationError);
    await expect(recordSesEvent('bounce', w.deps)).rejects.toThrow(/Invalid SES event/);
  });

  it('raises the complaint alarm once the rate passes 0.1%, once, and publishes the rates', async () => {
    const w = world(2000);
    for (let i = 0; i < 1990; i++) await w.send('delivery', `r${i}@example.com`);
    // 2 complaints in 2,000 = 0.1%: at the threshold, not over it.
    await w.send('complaint', 'a@example.com');
    await w.send('complaint', 'b@example.com');
    expect(w.record.alarms).toBeUndefined();
    const third = await w.send('complaint', 'c@example.com');
    expect(third.raised).toEqual([{ metric: 'complaintRate', value: 0.0015, threshold: 0.001 }]);
    expect(w.record.alarms).toEqual([
      { metric: 'complaintRate', value: 0.0015, threshold: 0.001, raisedAt: '2026-11-25T12:00:00.000Z' },
    ]);
    const fourth = await w.send('complaint', 'd@example.com');
    expect(fourth.raised).toEqual([]);
    expect(w.record.alarms?.[0]?.value).toBe(0.002);

    const rateLines = w.metrics.filter((m) => RATE_METRICS.complaintRate in m);
    const last = rateLines.at(-1) as Record<string, unknown> & {
      _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] };
    };
    expect(last[RATE_METRICS.complaintRate]).toBeCloseTo(0.2);
    expect(last._aws.CloudWatchMetrics[0]).toMatchObject({
      Namespace: METRIC_NAMESPACE,
      Dimensions: [['Service'], ['Service', 'CampaignId']],
    });
    expect(w.metrics.filter((m) => m.CampaignAlarmRaised === 1)).toHaveLength(1);
  });

  it('raises the bounce alarm past 5% and not before', async () => {
    const w = world(100);
    for (let i = 0; i < 5; i++) await w.send('bounce', `b${i}@example.com`);
    expect(w.record.alarms).toBeUndefined();
    const sixth = await w.send('bounce', 'b5@example.com');
    expect(sixth.raised.map((b) => b.metric)).toEqual(['bounceRate']);
    expect(sixth.health).toMatchObject({ status: 'alarm', bounceRate: 0.06, complaintRate: 0 });
  });
});

describe('campaignHealth', () => {
  it('measures against the largest count that implies a send, so early events do not divide by zero', () => {
    expect(campaignHealth({}, 0)).toMatchObject({ sent: 0, complaintRate: 0, bounceRate: 0, status: 'ok' });
    expect(campaignHealth({ complaint: 1 }, 0)).toMatchObject({ sent: 1, complaintRate: 1, status: 'alarm' });
    expect(campaignHealth({ delivery: 990, bounce: 10 }, 500)).toMatchObject({
      sent: 1000,
      bounceRate: 0.01,
    });
  });

  it('keeps an alarm once raised even when later deliveries dilute the rate', () => {
    const now = new Date('2026-11-25T00:00:00Z');
    const first = updateAlarms([], campaignHealth({ complaint: 2 }, 1000), now);
    expect(first.raised).toHaveLength(1);
    const later = updateAlarms(first.alarms, campaignHealth({ complaint: 2 }, 100_000), now);
    expect(later).toMatchObject({ raised: [], changed: false });
    expect(later.alarms).toHaveLength(1);
  });
});

describe('the ses-events Lambda handler', () => {
  it('drops what is not an SES event instead of failing (retries cannot fix it)', async () => {
    const w = world(1);
    const errors: string[] = [];
    const logger = createLogger({ level: 'WARN', format: 'json', sink: (line) => void errors.push(line) });
    const handler = createHandler({ ...w.deps, logger } as unknown as AppDeps);
    expect(await handler({ 'detail-type': 'Scheduled Event', detail: {} })).toMatchObject({
      ignored: expect.stringContaining('Invalid SES event'),
    });
    expect(errors).toHaveLength(1);
    expect(JSON.parse(errors[0] as string)).toMatchObject({
      level: 'WARN',
      problem: expect.stringContaining('Invalid'),
    });
    expect(w.suppressed.size).toBe(0);
  });
});

describe('SES events in batches (the queue between EventBridge and the function)', () => {
  /** An SQS event as Lambda delivers it: each body one EventBridge event. */
  const sqsEvent = (bodies: unknown[]) => ({
    Records: bodies.map((body, i) => ({
      messageId: `m${i}`,
      eventSource: 'aws:sqs',
      body: typeof body === 'string' ? body : JSON.stringify(body),
    })),
  });

  it('sums a batch into one counter write per campaign, and suppresses each bounce and complaint', async () => {
    const w = world(1000);
    let writes = 0;
    const addEvents = w.deps.campaigns.addEvents;
    w.deps.campaigns.addEvents = (id, counts) => {
      writes++;
      return addEvents(id, counts);
    };
    const bodies = [
      ...Array.from({ length: 95 }, (_, i) =>
        buildSesEvent({ type: 'delivery', email: `r${i}@example.com`, campaignId: 'c1' }),
      ),
      buildSesEvent({ type: 'bounce', email: 'hard@example.com', campaignId: 'c1' }),
      buildSesEvent({ type: 'complaint', email: 'angry@example.com', campaignId: 'c1' }),
      buildSesEvent({ type: 'delivery', email: 'x@example.com', campaignId: 'other' }),
      buildSesEvent({ type: 'delivery', email: 'y@example.com', campaignId: 'other' }),
    ];
    const handler = createHandler(w.deps as unknown as AppDeps);
    // The handler writes its EMF lines on stdout, as Lambda wants them.
    const { result, lines } = await stdoutOf(() => handler(sqsEvent(bodies)));
    const out = result as { recorded: number; counted: Record<string, unknown> };
    const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(out.recorded).toBe(99);
    expect(out.counted).toEqual({ c1: { delivery: 95, bounce: 1, complaint: 1 }, other: { delivery: 2 } });
    // Two campaigns, two writes (the world knows c1 only, so "other" is counted nowhere but asked once).
    expect(writes).toBe(2);
    expect(w.record.events).toEqual({ delivery: 95, bounce: 1, complaint: 1 });
    expect([...w.suppressed.keys()]).toEqual(['hard@example.com', 'angry@example.com']);
    // Metrics: one line per campaign and event type with the summed value, not one per event.
    const deliveries = logged
      .filter((m) => m.eventType === 'DELIVERY')
      .map((m) => [m.CampaignId, m.EmailDelivered]);
    expect(deliveries).toEqual([
      ['c1', 95],
      ['other', 2],
    ]);
  });

  it('counts what one-at-a-time delivery would count, for the same events', async () => {
    const events = [
      ...Array.from({ length: 40 }, (_, i) =>
        buildSesEvent({ type: 'delivery', email: `r${i}@example.com`, campaignId: 'c1' }),
      ),
      ...Array.from({ length: 3 }, (_, i) =>
        buildSesEvent({ type: 'complaint', email: `c${i}@example.com`, campaignId: 'c1' }),
      ),
    ];
    const one = world(100);
    for (const event of events) await recordSesEvent(event, one.deps);
    const batched = world(100);
    const out = await recordSesEvents(events, batched.deps);
    expect(batched.record.events).toEqual(one.record.events);
    expect(batched.record.alarms).toEqual(one.record.alarms);
    expect(out.raised.map((b) => b.metric)).toEqual(['complaintRate']);
  });

  it('logs and drops messages that are not SES events, and records the rest of the batch', async () => {
    const w = world(10);
    const errors: string[] = [];
    const logger = createLogger({ level: 'WARN', format: 'json', sink: (line) => void errors.push(line) });
    const handler = createHandler({ ...w.deps, logger } as unknown as AppDeps);
    const out = await handler(
      sqsEvent([
        'not json',
        { 'detail-type': 'Scheduled Event', detail: {} },
        buildSesEvent({ type: 'open', email: 'a@example.com', campaignId: 'c1' }),
      ]),
    );
    expect(out).toMatchObject({ recorded: 1, ignored: 2, batchItemFailures: [] });
    const lines = errors.map(
      (line) => JSON.parse(line) as { message: string; index?: number; messageIds?: string[] },
    );
    // One line per dropped message (its index in the batch), and the queue's message ids for the operator.
    expect(
      lines.filter((line) => line.message.includes('not an SES event')).map((line) => line.index),
    ).toEqual([0, 1]);
    expect(lines.find((line) => line.messageIds)?.messageIds).toEqual(['m0', 'm1']);
    expect(w.record.events).toEqual({ open: 1 });
  });

  it('fails the whole batch when the store fails for every message, so the queue delivers it again', async () => {
    const w = world(10);
    w.deps.campaigns.addEvents = async () => {
      throw Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' });
    };
    const handler = createHandler(w.deps as unknown as AppDeps);
    const errors = console.error;
    console.error = () => undefined;
    try {
      await expect(
        handler(sqsEvent([buildSesEvent({ type: 'delivery', email: 'a@example.com', campaignId: 'c1' })])),
      ).rejects.toMatchObject({
        name: 'FullBatchFailureError',
        recordErrors: [expect.objectContaining({ message: 'throttled' })],
      });
    } finally {
      console.error = errors;
    }
  });
});
