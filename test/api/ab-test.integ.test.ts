/** The A/B test through the HTTP API: create with variants, watch the test, pick by hand, read the report. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/guarantees.ts';
import { parseReport } from '../support/local-stack.ts';
import { type ApiTest, postUpload, startApiTest, TEMPLATE } from './support.ts';

describe('A/B tests through the API', () => {
  let t: ApiTest;
  let recipientsKey: string;

  beforeAll(async () => {
    t = await startApiTest({ stack: { waitTimeOverrides: { WaitForDecision: 20 } } });
    expect((await t.call('PUT', '/v1/templates/hello', TEMPLATE)).status).toBeLessThan(300);
    const lines = ['email,first_name,city'];
    for (let i = 1; i <= 200; i++) lines.push(`api${i}@example.com,N${i},Paris`);
    const presigned = await t.call('POST', '/v1/uploads', { kind: 'recipients', contentType: 'text/csv' });
    expect(await postUpload(presigned.body as never, `${lines.join('\n')}\n`)).toBeLessThan(300);
    recipientsKey = presigned.body.key as string;
  }, 60_000);
  afterAll(() => t?.stop());

  const request = (abTest: Record<string, unknown>) => ({
    templateId: 'hello',
    recipientsKey,
    from: 'news@example.com',
    abTest: {
      variants: [{ subject: 'A {{ first_name }}' }, { subject: 'B {{ first_name }}' }],
      sample: 0.5,
      metric: 'opens',
      decideAfter: '1d',
      ...abTest,
    },
  });

  it('refuses a bad test with a 400 naming the field', async () => {
    const res = await t.call(
      'POST',
      '/v1/campaigns',
      request({ variants: [{ subject: 'x' }], fallback: 'B' }),
    );
    expect(res.status).toBe(400);
    const details = (res.body.error as { details: { path: string; problem: string }[] }).details;
    expect(details.map((d) => d.path)).toEqual(
      expect.arrayContaining(['abTest.variants', 'abTest.fallback']),
    );
  });

  it('refuses a schedule whose wait, and the decision after it, would outlast the one-year execution', async () => {
    const DAY = 86_400_000;
    const at = (days: number) => new Date(Date.now() + days * DAY).toISOString();
    // A plain campaign may wait up to a year; an A/B test needs its 30 days of decision inside it too.
    const late = await t.call('POST', '/v1/campaigns', { ...request({}), sendAt: at(340) });
    expect(late.status).toBe(400);
    expect(late.body.error).toMatchObject({
      details: [{ path: 'sendAt', problem: 'more than a year ahead' }],
    });
    const { abTest: _ab, ...plain } = request({});
    const plainLate = await t.call('POST', '/v1/campaigns', { ...plain, sendAt: at(366) });
    expect(plainLate.status).toBe(400);
    const fits = await t.call('POST', '/v1/campaigns', { ...request({}), sendAt: at(330) });
    expect(fits.status, fits.text).toBe(201);
  });

  it('shows the test while it waits, takes a manual pick, and reports the variants', {
    timeout: 120_000,
  }, async () => {
    const created = await t.call('POST', '/v1/campaigns', request({}));
    expect(created.status, created.text).toBe(201);
    const id = created.body.id as string;
    expect(created.body.abTest).toMatchObject({
      phase: 'sample',
      metric: 'opens',
      sample: 0.5,
      fallback: 'A',
    });

    const waiting = await waitFor('the test waiting', async () => {
      const res = await t.call('GET', `/v1/campaigns/${id}/ab-test`);
      return res.body.phase === 'waiting' ? res.body : undefined;
    });
    const variants = waiting.variants as { name: string; sent: number; assigned: number }[];
    expect(variants.map((v) => v.name)).toEqual(['A', 'B']);
    for (const v of variants) expect(v.sent).toBe(v.assigned);
    expect(waiting.decisionDue).toEqual(expect.any(String));
    const live = waiting.live as { variants: { variant: string; sent: number; uniqueOpens: number }[] };
    expect(live.variants.map((v) => v.sent)).toEqual(variants.map((v) => v.sent));
    expect(live.variants.every((v) => v.uniqueOpens === 0)).toBe(true);

    expect((await t.call('POST', `/v1/campaigns/${id}/pick`, { variant: 'Z' })).status).toBe(400);
    const picked = await t.call('POST', `/v1/campaigns/${id}/pick`, { variant: 'B' });
    expect(picked.status).toBe(200);
    expect(picked.body.abTest).toMatchObject({ phase: 'decided', decision: { variant: 'B', by: 'manual' } });
    expect((await t.call('POST', `/v1/campaigns/${id}/pick`, { variant: 'A' })).status).toBe(409);

    await waitFor('the campaign completed', async () => {
      const res = await t.call('GET', `/v1/campaigns/${id}`);
      return res.body.status === 'completed' ? true : undefined;
    });
    const report = await t.call('GET', `/v1/campaigns/${id}/report?format=csv`);
    const rows = parseReport(report.text);
    expect(rows).toHaveLength(200);
    const sampleA = variants.find((v) => v.name === 'A')?.sent ?? 0;
    expect(rows.filter((r) => r.variant === 'A')).toHaveLength(sampleA);
    expect(rows.filter((r) => r.variant === 'B')).toHaveLength(200 - sampleA);
  });

  it('has no A/B test route for a campaign without a test', { timeout: 60_000 }, async () => {
    const created = await t.call('POST', '/v1/campaigns', {
      templateId: 'hello',
      recipientsKey,
      from: 'news@example.com',
    });
    expect(created.status).toBe(201);
    expect(created.body.abTest).toBeNull();
    expect((await t.call('GET', `/v1/campaigns/${created.body.id}/ab-test`)).status).toBe(404);
    expect((await t.call('POST', `/v1/campaigns/${created.body.id}/pick`, { variant: 'A' })).status).toBe(
      400,
    );
  });
});
