/**
 * The HTTP API over real HTTP on a local port, against the embedded local stack: every route's happy path
 * and each class of error (unauthenticated, invalid body, unknown id, illegal transition, oversize upload).
 */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer } from '../../api/node.ts';
import type { ApiEnv } from '../../api/types.ts';
import { isWebPath, mountWebConsole } from '../../api/web.ts';
import { createCampaign } from '../../core/campaigns/service.ts';
import { emptyCounts } from '../../core/campaigns/status.ts';
import { UPLOAD_RULES } from '../../core/recipients/uploads.ts';
import { clearInbox, inbox } from '../support/local-stack.ts';
import { waitUntil } from '../support/wait.ts';
import { type ApiTest, postUpload, startApiTest, TEMPLATE } from './support.ts';

const FROM = 'news@sixback.example';
const CSV =
  'email,first_name,city\nada@example.com,Ada,London\ngrace@example.com,Grace,Arlington\nalan@example.com,Alan,Wilmslow\n';

type Json = Record<string, unknown>;

describe('the sixback API', () => {
  let t: ApiTest;

  beforeAll(async () => {
    t = await startApiTest({
      extraModules: [
        {
          path: '/v1/boom',
          router: () =>
            new Hono<ApiEnv>().get('/', () => {
              throw new Error('secret internal detail: arn:aws:iam::123456789012:role/x');
            }),
        },
      ],
    });
  });
  afterAll(() => t?.stop());

  async function upload(content: string): Promise<string> {
    const presigned = await t.call('POST', '/v1/uploads', { kind: 'recipients', contentType: 'text/csv' });
    expect(presigned.status).toBe(201);
    expect(await postUpload(presigned.body as never, content)).toBeLessThan(300);
    return presigned.body.key as string;
  }

  /** A key the API issued, with nothing uploaded to it yet. */
  async function issuedKey(): Promise<string> {
    const presigned = await t.call('POST', '/v1/uploads', { kind: 'recipients', contentType: 'text/csv' });
    expect(presigned.status).toBe(201);
    return presigned.body.key as string;
  }

  describe('authentication', () => {
    it('refuses a request with no credentials or a wrong token, and does nothing', async () => {
      const none = await fetch(`${t.server.url}/v1/templates/sneaky`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(TEMPLATE),
      });
      expect(none.status).toBe(401);
      expect(await none.json()).toEqual({
        error: { code: 'unauthorized', message: expect.stringMatching(/Bearer/) },
      });
      const wrong = await t.call('PUT', '/v1/templates/sneaky', TEMPLATE, {
        authorization: 'Bearer not-the-token-at-all',
      });
      expect(wrong.status).toBe(401);
      expect((await t.call('GET', '/v1/templates/sneaky')).status).toBe(404);
    });

    it('refuses unknown routes after authentication, with the one error shape', async () => {
      const anonymous = await fetch(`${t.server.url}/v1/nowhere`);
      expect(anonymous.status).toBe(401);
      const res = await t.call('GET', '/v1/nowhere');
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ error: { code: 'not_found', message: expect.any(String) } });
    });

    it('answers health with the caller', async () => {
      expect((await t.call('GET', '/v1/health')).body).toEqual({ ok: true, principal: 'local' });
    });
  });

  describe('the web console hook', () => {
    it('serves the console files without a token, and still guards every API route', async () => {
      const root = mkdtempSync(join(tmpdir(), 'sixback-web-'));
      writeFileSync(join(root, 'index.html'), '<title>sixback console</title>');
      const web = await startApiServer({
        deps: { app: t.stack.deps, campaigns: t.stack.campaignDeps },
        beforeRoutes: (app) => mountWebConsole(app, root),
        isPublicPath: isWebPath,
        log: () => undefined,
      });
      try {
        for (const path of ['/', '/campaigns/abc']) {
          const page = await fetch(`${web.url}${path}`);
          expect(page.status, path).toBe(200);
          expect(await page.text()).toContain('sixback console');
        }
        expect((await fetch(`${web.url}/v1/templates`)).status).toBe(401);
        expect((await fetch(`${web.url}/v1/local/ses-events`, { method: 'POST' })).status).toBe(401);
        const ok = await fetch(`${web.url}/v1/health`, { headers: { authorization: `Bearer ${web.token}` } });
        expect(ok.status).toBe(200);
      } finally {
        await web.close();
        rmSync(root, { recursive: true, force: true });
      }
    });
  });

  describe('errors', () => {
    it('never leaks an internal error message', async () => {
      const res = await t.call('GET', '/v1/boom');
      expect(res.status).toBe(500);
      expect(res.body).toEqual({
        error: { code: 'internal', message: 'Internal error; see the server log.' },
      });
      expect(res.text).not.toMatch(/secret|arn:aws|at .*\.ts/);
    });

    it('answers malformed JSON and non-JSON bodies with 400', async () => {
      const broken = await t.call('PUT', '/v1/templates/x', '{"subject": ');
      expect(broken.status).toBe(400);
      expect(broken.body).toMatchObject({ error: { code: 'validation_failed' } });
      const form = await t.call('PUT', '/v1/templates/x', 'subject=hi', {
        'content-type': 'application/x-www-form-urlencoded',
      });
      expect(form.status).toBe(400);
    });

    it('refuses a body over the size limit with 413', async () => {
      const res = await t.call('PUT', '/v1/templates/big', { ...TEMPLATE, html: 'x'.repeat(1_100_000) });
      expect(res.status).toBe(413);
      expect(res.body).toMatchObject({ error: { code: 'payload_too_large' } });
    });
  });

  describe('templates', () => {
    it('saves versions, lists, shows, previews and deletes', async () => {
      const first = await t.call('PUT', '/v1/templates/hello', TEMPLATE);
      expect(first.status).toBe(201);
      expect(first.body).toMatchObject({
        id: 'hello',
        version: 1,
        variables: ['city', 'first_name', 'unsubscribe_url'],
      });
      const second = await t.call('PUT', '/v1/templates/hello', {
        ...TEMPLATE,
        subject: 'Hi {{ first_name }}',
      });
      expect(second.body).toMatchObject({ version: 2 });

      const list = await t.call('GET', '/v1/templates');
      expect(list.body.items).toContainEqual(
        expect.objectContaining({ id: 'hello', version: 2, subject: 'Hi {{ first_name }}' }),
      );
      expect((await t.call('GET', '/v1/templates/hello')).body).toMatchObject({ version: 2 });
      expect((await t.call('GET', '/v1/templates/hello?version=1')).body).toMatchObject({
        version: 1,
        subject: 'Hello {{ first_name }}',
      });
      const versions = await t.call('GET', '/v1/templates/hello/versions');
      expect((versions.body.items as Json[]).map((v) => v.version)).toEqual([2, 1]);

      const preview = await t.call('POST', '/v1/templates/hello/preview', {
        version: 1,
        variables: { first_name: '<Ada>' },
      });
      expect(preview.status).toBe(200);
      expect(preview.body).toMatchObject({
        subject: 'Hello <Ada>',
        sampled: ['city'],
        template: { id: 'hello', version: 1 },
      });
      expect(preview.body.html).toContain('Hi &lt;Ada&gt; from [city].');

      const deleted = await t.call('DELETE', '/v1/templates/hello');
      expect(deleted.body).toEqual({ id: 'hello', deletedVersions: 2 });
      expect((await t.call('GET', '/v1/templates/hello')).status).toBe(404);
      expect((await t.call('DELETE', '/v1/templates/hello')).status).toBe(404);
    });

    it('previews with the first row of an uploaded CSV', async () => {
      await t.call('PUT', '/v1/templates/rowpreview', TEMPLATE);
      const key = await upload(CSV);
      const preview = await t.call('POST', '/v1/templates/rowpreview/preview', { recipientsKey: key });
      expect(preview.body).toMatchObject({ subject: 'Hello Ada', sampled: [] });
      expect(preview.body.html).toContain('from London');
    });

    it('reports liquid errors with line and column', async () => {
      const html = '<p>ok</p>\n<p>{% if first_name %}unclosed</p>';
      const draft = await t.call('POST', '/v1/templates/preview', { template: { subject: 's', html } });
      expect(draft.status).toBe(422);
      expect(draft.body).toMatchObject({
        error: { code: 'template_syntax', details: { part: 'html', line: 2, column: 4 } },
      });
      const save = await t.call('PUT', '/v1/templates/broken', { subject: 'Hi {{ name', html: '<p/>' });
      expect(save.status).toBe(422);
      expect(save.body).toMatchObject({
        error: { code: 'template_syntax', details: { part: 'subject', line: 1 } },
      });
    });

    it('refuses an invalid body, listing each problem, and an invalid id', async () => {
      const res = await t.call('PUT', '/v1/templates/x', { subject: '', html: 42 });
      expect(res.status).toBe(400);
      const paths = (res.body.error as { details: Json[] }).details.map((d) => d.path);
      expect(paths).toEqual(expect.arrayContaining(['subject', 'html']));
      expect((await t.call('PUT', '/v1/templates/has%20space', TEMPLATE)).status).toBe(400);
      expect((await t.call('GET', '/v1/templates/x?version=zero')).status).toBe(400);
    });
  });

  describe('uploads', () => {
    it('signs a POST policy that limits size, type and key; the server picks the key', async () => {
      const res = await t.call('POST', '/v1/uploads', {
        kind: 'recipients',
        contentType: 'text/csv',
        size: 1234,
        key: 'evil/x.csv',
      });
      expect(res.status).toBe(201);
      const key = res.body.key as string;
      expect(key).toMatch(/^uploads\/recipients\/\d{4}-\d{2}-\d{2}\/[0-9a-f-]{36}\.[0-9a-f]{32}\.csv$/);
      const fields = res.body.fields as Record<string, string>;
      expect(fields.key).toBe(key);
      expect(fields['Content-Type']).toBe('text/csv');
      const policy = JSON.parse(Buffer.from(fields.Policy as string, 'base64').toString('utf8'));
      expect(policy.conditions).toEqual(
        expect.arrayContaining([
          ['content-length-range', 1, UPLOAD_RULES.recipients.maxBytes],
          ['eq', '$Content-Type', 'text/csv'],
          ['eq', '$key', key],
          { bucket: t.stack.config.bucket },
        ]),
      );
      const expires = Date.parse(policy.expiration);
      expect(expires - Date.now()).toBeGreaterThan(10 * 60_000);
      expect(expires - Date.now()).toBeLessThanOrEqual(15 * 60_000 + 1000);

      const image = await t.call('POST', '/v1/uploads', { kind: 'image', contentType: 'image/png' });
      expect(image.body.key).toMatch(/^images\/.+\.png$/);
      const imagePolicy = JSON.parse(
        Buffer.from((image.body.fields as Json).Policy as string, 'base64').toString(),
      );
      expect(imagePolicy.conditions).toContainEqual(['content-length-range', 1, 5 * 1024 * 1024]);
    });

    it('refuses an oversize file or a wrong type before signing', async () => {
      const big = await t.call('POST', '/v1/uploads', {
        kind: 'image',
        contentType: 'image/png',
        size: 6 * 1024 * 1024,
      });
      expect(big.status).toBe(400);
      expect(big.body).toMatchObject({ error: { code: 'validation_failed', details: [{ path: 'size' }] } });
      const svg = await t.call('POST', '/v1/uploads', { kind: 'image', contentType: 'image/svg+xml' });
      expect(svg.status).toBe(400);
      const kind = await t.call('POST', '/v1/uploads', { kind: 'video' });
      expect(kind.status).toBe(400);
    });

    it('checks an uploaded CSV and reports its problems', async () => {
      const key = await upload(`${CSV}not-an-address,Bob,Paris\nADA@example.com,Ada again,Leeds\n`);
      const res = await t.call('POST', '/v1/uploads/check', { key });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        key,
        columns: ['email', 'first_name', 'city'],
        emailColumn: 'email',
        rows: 5,
        valid: 3,
        invalid: 1,
        duplicates: 1,
        problems: [{ row: 5, problem: expect.any(String) }],
        duplicateRows: [{ row: 6, sameAs: 2 }],
      });
    });

    it('names short rows in the check, and applies shortRows as a campaign would', async () => {
      const key = await upload(
        'email;first_name;city\r\nada@example.com;Ada\r\ntim@example.com;Tim;Leeds\r\n',
      );
      const skipped = await t.call('POST', '/v1/uploads/check', { key });
      expect(skipped.status).toBe(200);
      expect(skipped.body).toMatchObject({
        delimiter: ';',
        rows: 2,
        valid: 1,
        invalid: 1,
        shortRows: 1,
        shortRowNumbers: [2],
        problems: [{ row: 2, problem: 'has 2 fields but the header has 3 (a short row)' }],
      });
      const padded = await t.call('POST', '/v1/uploads/check', { key, shortRows: 'pad' });
      expect(padded.body).toMatchObject({ valid: 2, invalid: 0, shortRows: 1, shortRowNumbers: [2] });
      const refused = await t.call('POST', '/v1/uploads/check', { key, shortRows: 'refuse' });
      expect(refused.status).toBe(422);
      expect(refused.body).toMatchObject({
        error: { code: 'recipients_file', details: { shortRows: 1, rows: [2] } },
      });
      const wrong = await t.call('POST', '/v1/uploads/check', { key, shortRows: 'guess' });
      expect(wrong.status).toBe(400);
    });

    it('answers a file that cannot be used with 422 and what to fix', async () => {
      const key = await upload('name,city\nAda,London\n');
      const res = await t.call('POST', '/v1/uploads/check', { key });
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({
        error: { code: 'recipients_file', message: expect.stringMatching(/No email column/) },
      });
    });

    it('re-checks what S3 stored, since a local S3 ignores the policy', async () => {
      // What s3rver would accept despite the policy: an object of another type under the upload prefix.
      const key = await issuedKey();
      await t.stack.deps.clients.s3.send(
        new PutObjectCommand({
          Bucket: t.stack.config.bucket,
          Key: key,
          Body: CSV,
          ContentType: 'application/x-msdownload',
        }),
      );
      const res = await t.call('POST', '/v1/uploads/check', { key });
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({
        error: { code: 'upload_rejected', details: { problem: 'content type' } },
      });
      const missing = await t.call('POST', '/v1/uploads/check', { key: await issuedKey() });
      expect(missing.body).toMatchObject({
        error: { code: 'upload_rejected', details: { problem: 'missing' } },
      });
      const outside = await t.call('POST', '/v1/uploads/check', { key: 'campaigns/x/report.csv' });
      expect(outside.status).toBe(400);
    });

    it('accepts only keys it issued: an object written under the prefix by other means is refused', async () => {
      const key = 'uploads/recipients/2026-01-01/never-issued.csv';
      await t.stack.deps.clients.s3.send(
        new PutObjectCommand({ Bucket: t.stack.config.bucket, Key: key, Body: CSV, ContentType: 'text/csv' }),
      );
      const issued = await upload(CSV);
      const forged = issued.replace(
        /\.([0-9a-f])([0-9a-f]{31})\./,
        (_, c, rest) => `.${c === '0' ? '1' : '0'}${rest}.`,
      );
      for (const bad of [key, forged]) {
        const check = await t.call('POST', '/v1/uploads/check', { key: bad });
        expect(check.status, bad).toBe(400);
        expect(check.body).toMatchObject({
          error: { code: 'validation_failed', message: expect.stringMatching(/not a key this API issued/) },
        });
        const create = await t.call('POST', '/v1/campaigns', {
          templateId: 'news',
          recipientsKey: bad,
          from: FROM,
        });
        expect(create.status).toBe(400);
        const preview = await t.call('POST', '/v1/templates/preview', {
          template: TEMPLATE,
          recipientsKey: bad,
        });
        expect(preview.status).toBe(400);
      }
      expect((await t.call('POST', '/v1/uploads/check', { key: issued })).status).toBe(200);
    });

    it('answers a NUL or control character in an upload key with a 400, not a 500', async () => {
      const issued = await upload(CSV);
      for (const bad of [
        `${issued}\u0000`,
        'uploads/recipients/\u0000.csv',
        `${issued.slice(0, 25)}\u0000${issued.slice(25)}`,
        `${issued}\r\n`,
      ]) {
        const check = await t.call('POST', '/v1/uploads/check', { key: bad });
        expect(check.status, JSON.stringify(bad)).toBe(400);
        expect(check.body).toMatchObject({
          error: { details: [{ path: 'key', problem: 'contains a control character' }] },
        });
        const create = await t.call('POST', '/v1/campaigns', {
          templateId: 'news',
          recipientsKey: bad,
          from: FROM,
        });
        expect(create.status, JSON.stringify(bad)).toBe(400);
      }
    });
  });

  describe('campaigns', () => {
    let key: string;
    beforeAll(async () => {
      await t.call('PUT', '/v1/templates/news', TEMPLATE);
      key = await upload(CSV);
    });

    it('refuses at creation a file Prepare would refuse, however far down the problem is', async () => {
      const rows = Array.from({ length: 3000 }, (_, i) => `u${i}@example.com,U${i},Town`).join('\n');
      const bad = await upload(`${CSV}${rows}\nlast@example.com,"Last,Town\n`);
      const res = await t.call('POST', '/v1/campaigns', {
        templateId: 'news',
        recipientsKey: bad,
        from: FROM,
      });
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({
        error: {
          code: 'recipients_file',
          message: expect.stringMatching(/starts on line 3005 is never closed/),
        },
      });
      const short = await upload('email,first_name,city\nada@example.com,Ada\n');
      const refused = await t.call('POST', '/v1/campaigns', {
        ...{ templateId: 'news', recipientsKey: short, from: FROM, shortRows: 'refuse' },
      });
      expect(refused.status).toBe(422);
      const aborted = await t.call('POST', '/v1/campaigns', {
        ...{ templateId: 'news', recipientsKey: short, from: FROM, onInvalidRows: 'abort' },
      });
      expect(aborted.status).toBe(422);
      expect(aborted.body).toMatchObject({ error: { code: 'recipients_file' } });
    });

    it('serves the report of a campaign that failed in Prepare: why nothing was sent, no internal key', async () => {
      // Recorded as creation records it, over a file that changed since (creation would refuse it now).
      const recipientsKey = await upload('email,first_name,city\nada@example.com,"Ada\n');
      const created = await createCampaign(
        { templateId: 'news', recipientsKey: key, from: FROM },
        t.stack.campaignDeps,
      );
      await t.stack.engine.wait(created.executionArn as string);
      const id = 'failedinprepare1';
      const {
        executionArn: _arn,
        reportKey: _report,
        totals: _totals,
        check: _check,
        ...base
      } = await t.stack.deps.campaigns.get(created.id);
      await t.stack.deps.campaigns.create({
        ...base,
        id,
        status: 'pending',
        spec: { ...base.spec, recipientsKey },
        progress: emptyCounts(),
      });
      const { executionArn } = await t.stack.campaignDeps.orchestrator.start(id, { campaignId: id });
      await t.stack.engine.wait(executionArn);
      const report = await t.call('GET', `/v1/campaigns/${id}/report?format=csv`);
      expect(report.status).toBe(200);
      expect(report.text).toBe(
        'row,email,state,message_id,reason\n0,,not_sent,,nothing was sent: The recipients file is not a valid CSV: a quoted field that starts on line 2 is never closed. Close the quote or remove the stray quote character.\n',
      );
      const shown = await t.call('GET', `/v1/campaigns/${id}`);
      expect(shown.body).toMatchObject({ status: 'failed' });
    });

    it('starts a campaign once per Idempotency-Key, shows progress and serves the report', async () => {
      await clearInbox(t.stack);
      const request = { templateId: 'news', recipientsKey: key, from: FROM, rate: 500 };
      const headers = { 'idempotency-key': 'run-1' };
      const created = await t.call('POST', '/v1/campaigns', request, headers);
      expect(created.status).toBe(201);
      const id = created.body.id as string;
      const retry = await t.call('POST', '/v1/campaigns', request, headers);
      expect(retry.status).toBe(200);
      expect(retry.headers.get('idempotent-replayed')).toBe('true');
      expect(retry.body.id).toBe(id);
      const reused = await t.call('POST', '/v1/campaigns', { ...request, rate: 10 }, headers);
      expect(reused.status).toBe(409);
      expect(reused.body).toMatchObject({ error: { code: 'conflict' } });

      await t.stack.engine.wait(created.body.executionArn as string);
      const got = await t.call('GET', `/v1/campaigns/${id}`);
      expect(got.body).toMatchObject({
        id,
        status: 'completed',
        templateId: 'news',
        templateVersion: 1,
        schedule: { sendAt: null, sendAtLocal: null, timeZone: null },
        progress: {
          counts: { sent: 3, failed: 0, invalid: 0, duplicate: 0, suppressed: 0, not_sent: 0 },
          done: 3,
          total: 3,
          percent: 100,
        },
        executionUrl: null,
        reportAvailable: true,
      });
      expect((await inbox(t.stack)).map((e) => e.destination.to[0]).sort()).toEqual([
        'ada@example.com',
        'alan@example.com',
        'grace@example.com',
      ]);

      // The local SES's Delivery events arrive asynchronously and join the report: let them land first,
      // so both reads below see the same outcomes.
      await waitUntil(
        'the three Delivery events in the stats',
        async () => (await t.call('GET', `/v1/campaigns/${id}/stats`)).body.counts as { delivered: number },
        (counts) => counts.delivered === 3,
      );
      const link = await t.call('GET', `/v1/campaigns/${id}/report`);
      expect(link.body).toMatchObject({ campaignId: id, url: expect.stringMatching(/^http/) });
      const viaLink = await (await fetch(link.body.url as string)).text();
      const streamed = await t.call('GET', `/v1/campaigns/${id}/report?format=csv`);
      expect(streamed.headers.get('content-type')).toMatch(/^text\/csv/);
      expect(streamed.text).toBe(viaLink);
      expect(streamed.text.trim().split('\n')).toHaveLength(4);
      expect(streamed.text).toContain('grace@example.com');

      const cancel = await t.call('POST', `/v1/campaigns/${id}/cancel`);
      expect(cancel.status).toBe(409);
      expect(cancel.body).toMatchObject({
        error: { code: 'illegal_transition', details: { status: 'completed' } },
      });
    });

    it('schedules at a local time in a named zone, shows both, and cancels', async () => {
      const year = new Date().getUTCFullYear() + 1;
      const created = await t.call('POST', '/v1/campaigns', {
        templateId: 'news',
        recipientsKey: key,
        from: FROM,
        sendAt: `${year}-01-15T09:00`,
        timeZone: 'Asia/Seoul',
      });
      expect(created.status).toBe(201);
      expect(created.body.schedule).toEqual({
        sendAt: `${year}-01-15T00:00:00.000Z`,
        sendAtLocal: `${year}-01-15T09:00:00+09:00`,
        timeZone: 'Asia/Seoul',
      });
      const id = created.body.id as string;
      const report = await t.call('GET', `/v1/campaigns/${id}/report`);
      expect(report.status).toBe(409);
      const cancelled = await t.call('POST', `/v1/campaigns/${id}/cancel`);
      // Cancelled at once; the report follows in a job (test/api/jobs.integ.test.ts).
      expect(cancelled.status).toBe(202);
      expect(cancelled.body.status).toBe('cancelled');
      await t.stack.engine.wait(created.body.executionArn as string);
      // The final counts are the report job's: wait for it as a client would.
      const started = cancelled.body.job as Json;
      const job = await waitUntil(
        'the report job to end',
        async () => (await t.call('GET', `/v1/jobs/${started.id}`)).body,
        (polled) => polled.status !== 'running',
        30_000,
        50,
      );
      expect(job.status).toBe('succeeded');
      // Nothing was ever tried: every sendable row is not_sent with the reason, none failed.
      // The totals come with the report job, which runs beside the request: poll for them.
      const after = await waitUntil(
        'the report available',
        async () => (await t.call('GET', `/v1/campaigns/${id}`)).body,
        (campaign) => Boolean(campaign.reportAvailable),
        10_000,
      );
      expect((after.progress as { counts: Record<string, number> }).counts).toMatchObject({
        sent: 0,
        failed: 0,
        not_sent: 3,
      });
      const link = await t.call('GET', `/v1/campaigns/${id}/report`);
      const csv = await (await fetch(link.body.url as string)).text();
      const states = csv
        .trim()
        .split('\n')
        .slice(1)
        .map((line) => line.split(',').slice(2).join(','));
      expect(states).toEqual(Array(3).fill('not_sent,,not sent: cancelled by the user'));
    });

    it('refuses a local time without a zone, a time skipped by daylight saving, and an unknown zone', async () => {
      const base = { templateId: 'news', recipientsKey: key, from: FROM };
      const year = new Date().getUTCFullYear() + 1;
      const noZone = await t.call('POST', '/v1/campaigns', { ...base, sendAt: `${year}-01-15T09:00` });
      expect(noZone.body).toMatchObject({
        error: { code: 'validation_failed', details: [{ path: 'timeZone' }] },
      });
      // Europe/Paris skips 02:00-03:00 on the last Sunday of March.
      const lastSunday = new Date(Date.UTC(year, 2, 31));
      lastSunday.setUTCDate(31 - lastSunday.getUTCDay());
      const gap = `${lastSunday.toISOString().slice(0, 10)}T02:30`;
      const skipped = await t.call('POST', '/v1/campaigns', {
        ...base,
        sendAt: gap,
        timeZone: 'Europe/Paris',
      });
      expect(skipped.status).toBe(400);
      expect((skipped.body.error as Json).message).toMatch(/does not exist in Europe\/Paris/);
      const badZone = await t.call('POST', '/v1/campaigns', {
        ...base,
        sendAt: `${year}-01-15T09:00`,
        timeZone: 'Mars/Olympus',
      });
      expect(badZone.status).toBe(400);
    });

    it('refuses invalid bodies, unknown templates and keys outside the upload prefix', async () => {
      const invalid = await t.call('POST', '/v1/campaigns', { templateId: 'news', from: 'not an address' });
      expect(invalid.status).toBe(400);
      expect((invalid.body.error as { details: Json[] }).details.map((d) => d.path)).toEqual(
        expect.arrayContaining(['recipientsKey', 'from']),
      );
      const unknown = await t.call('POST', '/v1/campaigns', {
        templateId: 'nope',
        recipientsKey: key,
        from: FROM,
      });
      expect(unknown.status).toBe(404);
      const outside = await t.call('POST', '/v1/campaigns', {
        templateId: 'news',
        recipientsKey: 'campaigns/x/report.csv',
        from: FROM,
      });
      expect(outside.status).toBe(400);
      // An object stored under the prefix despite the policy (s3rver enforces none) is refused before use.
      const html = await issuedKey();
      await t.stack.deps.clients.s3.send(
        new PutObjectCommand({
          Bucket: t.stack.config.bucket,
          Key: html,
          Body: CSV,
          ContentType: 'text/html',
        }),
      );
      const wrongType = await t.call('POST', '/v1/campaigns', {
        templateId: 'news',
        recipientsKey: html,
        from: FROM,
      });
      expect(wrongType.status).toBe(422);
      expect(wrongType.body).toMatchObject({
        error: { code: 'upload_rejected', details: { problem: 'content type' } },
      });
      const all = (await t.call('GET', '/v1/campaigns?limit=100')).body.items as Json[];
      expect(all.some((c) => c.recipientsKey === html)).toBe(false);
    });

    it('answers unknown campaigns with 404 on every route', async () => {
      for (const [method, path] of [
        ['GET', '/v1/campaigns/nope'],
        ['POST', '/v1/campaigns/nope/cancel'],
        ['GET', '/v1/campaigns/nope/report'],
        ['POST', '/v1/campaigns/nope/test'],
      ] as const) {
        const res = await t.call(method, path, method === 'POST' ? { to: ['a@example.com'] } : undefined);
        expect(res.status, `${method} ${path}`).toBe(404);
        expect(res.body).toMatchObject({ error: { code: 'not_found' } });
      }
    });

    it('lists campaigns newest first, a page at a time', async () => {
      const first = await t.call('GET', '/v1/campaigns?limit=1');
      expect(first.body.items).toHaveLength(1);
      expect(first.body.cursor).toEqual(expect.any(String));
      const second = await t.call('GET', `/v1/campaigns?limit=1&cursor=${first.body.cursor}`);
      expect(second.body.items).toHaveLength(1);
      const [a] = first.body.items as Json[];
      const [b] = second.body.items as Json[];
      expect(a?.id).not.toBe(b?.id);
      expect(String(a?.createdAt) >= String(b?.createdAt)).toBe(true);
      expect((await t.call('GET', '/v1/campaigns?limit=0')).status).toBe(400);
      expect((await t.call('GET', '/v1/campaigns?cursor=bm90LWpzb24')).status).toBe(400);
    });

    it('answers 400, naming the cursor, for a cursor no page returned, on each paged list', async () => {
      // "not-json" in base64url: a well-formed cursor the stores cannot decode.
      for (const path of ['/v1/campaigns', '/v1/suppression']) {
        const res = await t.call('GET', `${path}?cursor=bm90LWpzb24`);
        expect(res.status, path).toBe(400);
        expect(res.body, path).toMatchObject({
          error: { code: 'validation_failed', details: [{ path: 'cursor', problem: 'unknown cursor' }] },
        });
      }
    });

    it('sends a test of a campaign to a few addresses, outside the campaign', async () => {
      const list = await t.call('GET', '/v1/campaigns?limit=50');
      const done = (list.body.items as Json[]).find((c) => c.status === 'completed') as Json;
      await clearInbox(t.stack);
      const res = await t.call('POST', `/v1/campaigns/${done.id}/test`, {
        to: ['qa@example.com', 'boss@example.com'],
      });
      expect(res.status).toBe(200);
      const mails = await inbox(t.stack);
      expect(mails.map((m) => m.destination.to[0]).sort()).toEqual(['boss@example.com', 'qa@example.com']);
      // Rendered with the first CSV row, marked as a test.
      expect(mails[0]?.subject).toBe('[Test] Hello Ada');
      const ledger = await t.stack.deps.ledger.lookup(done.id as string, ['qa@example.com']);
      expect(ledger.size).toBe(0);

      const draft = await t.call('POST', '/v1/campaigns/test', {
        templateId: 'news',
        from: FROM,
        to: ['qa@example.com'],
        variables: { first_name: 'Tester', city: 'Nowhere' },
      });
      expect(draft.status).toBe(200);
      expect((await inbox(t.stack)).some((m) => m.subject === '[Test] Hello Tester')).toBe(true);
      const tooMany = await t.call('POST', '/v1/campaigns/test', {
        templateId: 'news',
        from: FROM,
        to: ['1@x.io', '2@x.io', '3@x.io', '4@x.io', '5@x.io', '6@x.io'],
      });
      expect(tooMany.status).toBe(400);
    });

    it('refuses to delete a template an active campaign uses', async () => {
      const year = new Date().getUTCFullYear() + 1;
      await t.call('PUT', '/v1/templates/pinned', TEMPLATE);
      const created = await t.call('POST', '/v1/campaigns', {
        templateId: 'pinned',
        recipientsKey: key,
        from: FROM,
        sendAt: `${year}-06-01T08:00:00Z`,
      });
      const del = await t.call('DELETE', '/v1/templates/pinned');
      expect(del.status).toBe(409);
      expect(del.body).toMatchObject({
        error: { code: 'conflict', details: { campaigns: [created.body.id] } },
      });
      await t.call('POST', `/v1/campaigns/${created.body.id}/cancel`);
      await t.stack.engine.wait(created.body.executionArn as string);
      expect((await t.call('DELETE', '/v1/templates/pinned')).status).toBe(200);
    });

    it('resumes a cancelled campaign and refuses to resend a campaign with nothing failed', async () => {
      const year = new Date().getUTCFullYear() + 1;
      const created = await t.call('POST', '/v1/campaigns', {
        templateId: 'news',
        recipientsKey: key,
        from: FROM,
        sendAt: `${year}-03-01T08:00:00Z`,
      });
      const id = created.body.id as string;
      expect((await t.call('POST', `/v1/campaigns/${id}/cancel`)).body.status).toBe('cancelled');
      const resumed = await t.call('POST', `/v1/campaigns/${id}/resume`);
      expect(resumed.status).toBe(200);
      expect(['pending', 'scheduled']).toContain(resumed.body.status);
      expect(resumed.body.executionArn).not.toBe(created.body.executionArn);
      expect((await t.call('POST', `/v1/campaigns/${id}/resume`)).status).toBe(409);
      await t.call('POST', `/v1/campaigns/${id}/cancel`);

      const list = await t.call('GET', '/v1/campaigns?limit=50');
      const done = (list.body.items as Json[]).find((c) => c.status === 'completed') as Json;
      const resend = await t.call('POST', `/v1/campaigns/${done.id}/resend-failed`);
      expect(resend.status).toBe(409);
      expect(resend.body).toMatchObject({ error: { code: 'illegal_transition' } });
    });
  });
});
