/**
 * The campaign counters on the local stack when DynamoDB fails under the SES events function: the local
 * SES publishes each recipient's Send and Delivery events through the local queue to the events function,
 * and a front in front of the local DynamoDB throttles the analytics table's counter writes for a while,
 * loses the answer of a count journal write and of a recipient write (made, then an error: the SDK tries
 * again). The queue delivers the failed messages again until the function takes them; then the campaign's
 * counters, rates and time series say exactly what the recipients' outcomes say: every Send and Delivery
 * once, never twice, none missing.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CampaignStats } from '../../core/compliance/stats.ts';
import type { RunningService } from '../../local/services.ts';
import { type ApiTest, postUpload, startApiTest } from '../api/support.ts';

const PEOPLE = Array.from({ length: 8 }, (_, i) => `person${i}@example.com`);
const TEMPLATE = {
  subject: 'Hello {{ first_name }}',
  html: '<p>Hi {{ first_name }}</p><p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
};

type Fault = 'before' | 'after' | undefined;

/** The faults the front injects, by what a request is: counted so the test can check each one fired. */
const faults = { counterWrites: 0, journalPuts: 0, recipientWrites: 0, on: false };

function decide(target: string, body: string): Fault {
  if (!faults.on || !body.includes('sixback-analytics')) return undefined;
  // Counter items are `<campaign>#s<n>`, journals `<campaign>#j<n>`, recipients `<campaign>#r<n>`.
  if (target.endsWith('.UpdateItem') && /#s\d+"/.test(body) && faults.counterWrites < 12) {
    faults.counterWrites++;
    return 'before';
  }
  if (target.endsWith('.PutItem') && /#j\d+"/.test(body) && faults.journalPuts < 1) {
    faults.journalPuts++;
    return 'after';
  }
  if (target.endsWith('.UpdateItem') && /#r\d+"/.test(body) && faults.recipientWrites < 2) {
    faults.recipientWrites++;
    return 'after';
  }
  return undefined;
}

/** An HTTP front that forwards DynamoDB calls and fails the ones `decide` picks, before or after forwarding. */
async function faultyFront(upstream: string): Promise<RunningService> {
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const fault = decide(String(req.headers['x-amz-target'] ?? ''), body.toString('utf8'));
    const throttle = () => {
      res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(
        JSON.stringify({
          __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
          message: 'Rate of requests exceeds the allowed throughput (the test front).',
        }),
      );
    };
    if (fault === 'before') return throttle();
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers))
      if (typeof value === 'string' && !['host', 'connection', 'content-length'].includes(name))
        headers[name] = value;
    const response = await fetch(`${upstream}${req.url ?? '/'}`, {
      method: req.method ?? 'POST',
      headers,
      body,
    });
    const answer = Buffer.from(await response.arrayBuffer());
    if (fault === 'after') return throttle();
    res.writeHead(response.status, {
      'content-type': response.headers.get('content-type') ?? 'application/json',
    });
    res.end(answer);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

let api: ApiTest;
let batches = 0;

beforeAll(async () => {
  api = await startApiTest({
    stack: {
      dynamoFront: faultyFront,
      // A small batch so the campaign's events arrive in several; a redelivery a few hundred ms later.
      sesEvents: { batchSize: 5, retryMs: 300, maxReceives: 8 },
      countInFlightMs: 1_000,
      sesEventsTap: () => {
        batches++;
      },
    },
  });
}, 60_000);

afterAll(async () => {
  await api?.stop();
});

describe('campaign counters when DynamoDB fails under the SES events function', () => {
  it('converge to exactly the recipient outcomes through the queue redelivering what failed', async () => {
    expect((await api.call('PUT', '/v1/templates/hello', TEMPLATE)).status).toBe(201);
    const presigned = await api.call('POST', '/v1/uploads', { kind: 'recipients', contentType: 'text/csv' });
    const csv = `email,first_name\n${PEOPLE.map((e) => `${e},${e.slice(0, 7)}`).join('\n')}\n`;
    expect(await postUpload(presigned.body as never, csv)).toBeLessThan(300);
    faults.on = true;
    const created = await api.call('POST', '/v1/campaigns', {
      templateId: 'hello',
      recipientsKey: presigned.body.key as string,
      from: 'news@sixback.example',
    });
    expect(created.status, created.text).toBe(201);
    const id = created.body.id as string;
    await api.stack.engine.wait(created.body.executionArn as string);
    expect((await api.stack.deps.campaigns.get(id)).status).toBe('completed');
    // Every event handed over, those that failed included, however many deliveries that took.
    await api.stack.ses?.events.idle();

    expect(faults).toMatchObject({ counterWrites: 12, journalPuts: 1, recipientWrites: 2 });
    // 16 events in batches of 5 are 4 batches; the failed messages came back in more.
    expect(batches).toBeGreaterThan(4);

    const stats = (await api.call('GET', `/v1/campaigns/${id}/stats`)).body as CampaignStats;
    const outcomes = await Promise.all(
      PEOPLE.map(async (email) => (await api.call('GET', `/v1/campaigns/${id}/recipients/${email}`)).body),
    );
    // What the recipients' items say: each sent and delivered once.
    for (const person of outcomes) {
      expect((person.outcome as { deliveredAt: string | null }).deliveredAt).not.toBeNull();
      expect((person.timeline as { type: string }[]).map((e) => e.type).sort()).toEqual(['delivery', 'send']);
    }
    expect(stats.sent).toBe(PEOPLE.length);
    expect(stats.counts.delivered).toBe(PEOPLE.length);
    expect(stats.rates.delivery).toBe(1);
    const series = stats.series.points.reduce(
      (sums, point) => ({ sent: sums.sent + point.sent, delivered: sums.delivered + point.delivered }),
      { sent: 0, delivered: 0 },
    );
    expect(series).toEqual({ sent: PEOPLE.length, delivered: PEOPLE.length });
    const record = await api.stack.deps.campaigns.get(id);
    expect(record.events).toEqual({ send: PEOPLE.length, delivery: PEOPLE.length });
  }, 120_000);
});
