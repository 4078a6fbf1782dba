/**
 * Work that can outlast API Gateway's 29 s runs as a job: a cancel answers 202 at once and a job writes
 * the report; GET /report of a stopped campaign answers 202 with the job until the report is there; an
 * import of an uploaded suppression file answers 202 with a job. The client polls GET /v1/jobs/:id.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopCampaign } from '../../core/campaigns/service.ts';
import { waitFor, waitUntil } from '../support/wait.ts';
import { type ApiTest, postUpload, startApiTest, TEMPLATE } from './support.ts';

type Json = Record<string, unknown>;
const FROM = 'news@sixback.example';
// Within the local engine's longest single wait (24.8 days), so the Wait really holds the campaign.
const IN_TWO_DAYS = new Date(Date.now() + 2 * 24 * 3600 * 1000).toISOString();

describe('jobs', () => {
  let t: ApiTest;
  beforeAll(async () => {
    t = await startApiTest();
    expect((await t.call('PUT', '/v1/templates/jobs', TEMPLATE)).status).toBe(201);
  });
  afterAll(() => t?.stop());

  async function upload(content: string): Promise<string> {
    const presigned = await t.call('POST', '/v1/uploads', { kind: 'recipients', contentType: 'text/csv' });
    expect(await postUpload(presigned.body as never, content)).toBeLessThan(300);
    return presigned.body.key as string;
  }

  /** Polls the job until it ends, keeping every progress seen. */
  async function finished(job: Json): Promise<{ job: Json; seen: Json[] }> {
    const seen: Json[] = [];
    if (job.status !== 'running') return { job, seen };
    const done = await waitFor(
      `job ${job.id} to end`,
      async () => {
        const polled = await t.call('GET', `/v1/jobs/${job.id}`);
        expect(polled.status).toBe(200);
        seen.push(polled.body);
        return polled.body.status === 'running' ? undefined : polled.body;
      },
      30_000,
    );
    return { job: done, seen };
  }

  it('cancels at once (202) and writes the report in a job the client polls', async () => {
    const csv =
      'email,first_name,city\n' +
      Array.from({ length: 1500 }, (_, i) => `p${i}@example.com,P${i},X`).join('\n');
    const key = await upload(`${csv}\n`);
    const created = await t.call('POST', '/v1/campaigns', {
      templateId: 'jobs',
      recipientsKey: key,
      from: FROM,
      sendAt: IN_TWO_DAYS,
    });
    expect(created.status, created.text).toBe(201);
    const id = created.body.id as string;
    // Prepared (the file is read before the Wait): the report has every row to account for.
    await waitUntil(
      'the campaign scheduled',
      async () => (await t.call('GET', `/v1/campaigns/${id}`)).body.status,
      (status) => status === 'scheduled',
      10_000,
      50,
    );

    const cancel = await t.call('POST', `/v1/campaigns/${id}/cancel`);
    expect(cancel.status, cancel.text).toBe(202);
    expect(cancel.body.status).toBe('cancelled');
    const job = cancel.body.job as Json;
    expect(job).toMatchObject({ type: 'report', subject: id, status: 'running' });
    expect(cancel.headers.get('location')).toBe(`/v1/jobs/${job.id}`);

    const { job: done } = await finished(job);
    expect(done).toMatchObject({
      status: 'succeeded',
      progress: { done: 1500, total: 1500, unit: 'rows' },
      result: { campaignId: id, reportKey: `campaigns/${id}/report.csv` },
    });
    const report = await t.call('GET', `/v1/campaigns/${id}/report?format=csv`);
    expect(report.status).toBe(200);
    expect(report.text.trim().split('\n')).toHaveLength(1501);
    await t.stack.engine.wait(created.body.executionArn as string);
  });

  it('answers GET /report of a stopped campaign with 202 and the job, then with the report', async () => {
    const key = await upload('email,first_name,city\nada@example.com,Ada,London\n');
    const created = await t.call('POST', '/v1/campaigns', {
      templateId: 'jobs',
      recipientsKey: key,
      from: FROM,
      sendAt: IN_TWO_DAYS,
    });
    const id = created.body.id as string;
    // Stopped without a report (as a failure before the finaliser leaves it).
    await stopCampaign(id, t.stack.campaignDeps);
    const pending = await t.call('GET', `/v1/campaigns/${id}/report`);
    expect(pending.status).toBe(202);
    const job = pending.body.job as Json;
    expect(job.id).toBe(`j-report-${id}-r1`);
    // Asking again joins the same job instead of starting another.
    const again = await t.call('GET', `/v1/campaigns/${id}/report`);
    expect(again.status === 200 || (again.body.job as Json).id === job.id).toBe(true);
    const { job: done } = await finished(job);
    expect(done.status).toBe('succeeded');
    const link = await t.call('GET', `/v1/campaigns/${id}/report`);
    expect(link.status).toBe(200);
    expect(link.body).toMatchObject({ campaignId: id, url: expect.stringMatching(/^http/) });
    await t.stack.engine.wait(created.body.executionArn as string);
  });

  it('imports an uploaded suppression file in a job, reporting rows and problems', async () => {
    const rows = Array.from({ length: 2500 }, (_, i) => `s${i}@example.net`);
    const key = await upload(`email\n${rows.join('\n')}\nnot-an-address\n`);
    const started = await t.call('POST', '/v1/suppression/import', { key, name: 'big.csv' });
    expect(started.status, started.text).toBe(202);
    const { job: done, seen } = await finished(started.body.job as Json);
    expect(done).toMatchObject({
      type: 'suppression-import',
      status: 'succeeded',
      result: { rows: 2501, added: 2500, invalid: 1 },
    });
    expect(seen.length).toBeGreaterThan(0);
    expect((await t.call('GET', '/v1/suppression/s2499@example.net')).body).toMatchObject({
      source: 'import:big.csv',
    });
  });

  it('fails a job with the reason, and answers 404 for an unknown job', async () => {
    const started = await t.call('POST', '/v1/suppression/import', { key: 'uploads/recipients/none.csv' });
    expect(started.status).toBe(202);
    const { job } = await finished(started.body.job as Json);
    expect(job).toMatchObject({ status: 'failed', error: { code: 'recipients_file' } });
    expect((await t.call('GET', '/v1/jobs/j-nope')).status).toBe(404);
    expect((await t.call('GET', '/v1/jobs/not-a-job')).status).toBe(400);
  });
});
