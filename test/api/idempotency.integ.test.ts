/** Idempotency-Key under concurrency (issue 12, item 7): one campaign per key, 409 for another body. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { campaignIdForKey } from '../../core/campaigns/service.ts';
import { type ApiTest, postUpload, startApiTest, TEMPLATE } from './support.ts';

const FROM = 'news@sixback.example';
let t: ApiTest;
let key: string;

beforeAll(async () => {
  t = await startApiTest();
  expect((await t.call('PUT', '/v1/templates/news', TEMPLATE)).status).toBe(201);
  const presigned = await t.call('POST', '/v1/uploads', { kind: 'recipients', contentType: 'text/csv' });
  await postUpload(presigned.body as never, 'email,first_name,city\nada@example.com,Ada,London\n');
  key = presigned.body.key as string;
});
afterAll(() => t?.stop());

/** Campaigns scheduled an hour ahead, so nothing is sent while the test looks at them. */
const request = (rate: number) => ({
  templateId: 'news',
  recipientsKey: key,
  from: FROM,
  rate,
  sendAt: new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z'),
});

describe('Idempotency-Key under concurrency', () => {
  it('many concurrent requests with one key and two bodies: one 201, replays of it, 409 for the other body', async () => {
    const idempotencyKey = `race-${Date.now()}`;
    const a = request(10);
    const b = { ...a, rate: 20 };
    const bodies = Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? a : b));
    const answers = await Promise.all(
      bodies.map((body) => t.call('POST', '/v1/campaigns', body, { 'idempotency-key': idempotencyKey })),
    );
    const created = answers.filter((r) => r.status === 201);
    expect(created, answers.map((r) => r.status).join(',')).toHaveLength(1);
    const winner = created[0]!;
    const stored = await t.stack.deps.campaigns.get(campaignIdForKey(idempotencyKey));
    expect(stored.id).toBe(winner.body.id);
    const winnerRate = stored.spec.rate;
    expect(winner.headers.get('idempotent-replayed')).toBeNull();
    answers.forEach((answer, i) => {
      if (answer === winner) return;
      const sameBody = bodies[i]!.rate === winnerRate;
      if (sameBody) {
        expect(answer.status, answer.text).toBe(200);
        expect(answer.headers.get('idempotent-replayed')).toBe('true');
        expect(answer.body.id).toBe(winner.body.id);
      } else {
        expect(answer.status, answer.text).toBe(409);
        expect(answer.body).toMatchObject({ error: { code: 'conflict' } });
      }
    });
    await t.call('POST', `/v1/campaigns/${stored.id}/cancel`);
  });

  it('concurrent replays of one request are all marked replayed, and only one campaign exists', async () => {
    const idempotencyKey = `same-${Date.now()}`;
    const body = request(15);
    const answers = await Promise.all(
      Array.from({ length: 12 }, () =>
        t.call('POST', '/v1/campaigns', body, { 'idempotency-key': idempotencyKey }),
      ),
    );
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    for (const answer of answers) {
      if (answer.status === 200) expect(answer.headers.get('idempotent-replayed')).toBe('true');
    }
    expect(new Set(answers.map((r) => r.body.id)).size).toBe(1);
    // Sequentially afterwards, the same holds.
    expect((await t.call('POST', '/v1/campaigns', body, { 'idempotency-key': idempotencyKey })).status).toBe(
      200,
    );
    const other = await t.call(
      'POST',
      '/v1/campaigns',
      { ...body, rate: 99 },
      { 'idempotency-key': idempotencyKey },
    );
    expect(other.status).toBe(409);
    await t.call('POST', `/v1/campaigns/${answers[0]!.body.id}/cancel`);
  });
});
