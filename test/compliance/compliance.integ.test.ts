/**
 * Deliverability on the embedded local stack, through the HTTP API: the one-click unsubscribe headers in
 * the raw MIME SES received (parsed with mailparser), GET vs POST on the unsubscribe link, forged tokens,
 * a hard bounce that makes the next campaign skip the address, and the campaign-start checks.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCampaign } from '../../core/campaigns/service.ts';
import type { CampaignRecord } from '../../core/campaigns/store.ts';
import { buildSesEvent } from '../../core/compliance/events.ts';
import { SenderNotAllowedError } from '../../core/errors.ts';
import { createHandler } from '../../handlers/ses-events.ts';
import { type ApiTest, startApiTest } from '../api/support.ts';
import { inbox, parseReport, readObject } from '../support/local-stack.ts';
import { stdoutOf } from '../support/stdout.ts';

const TEMPLATE = {
  subject: 'News for {{ first_name }}',
  // No text part: sixback derives one from the HTML.
  html: '<h1>Hello {{ first_name }}</h1><p>Our news.</p><p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
};

let api: ApiTest;

async function rawMessage(messageId: string) {
  const response = await fetch(
    `${api.stack.urls.ses}/get-emlContent?messageId=${encodeURIComponent(messageId)}`,
  );
  const eml = (await response.json()) as { body: { type: 'Buffer'; data: number[] } | string };
  const raw = typeof eml.body === 'string' ? eml.body : Buffer.from(eml.body.data);
  return simpleParser(raw);
}

/** The recipients list's key, issued by the API in beforeAll. */
let LIST = '';

async function runToEnd(request: Record<string, unknown>): Promise<CampaignRecord> {
  const created = await api.call('POST', '/v1/campaigns', request);
  expect(created.status, created.text).toBe(201);
  const id = created.body.id as string;
  await api.stack.engine.wait(created.body.executionArn as string);
  return api.stack.deps.campaigns.get(id);
}

const tokenOf = (url: string) => url.slice(url.indexOf('/u/') + 3);

describe('deliverability on the local stack', () => {
  let first: CampaignRecord;
  let links: Map<string, string>;

  beforeAll(async () => {
    api = await startApiTest();
    expect((await api.call('PUT', '/v1/templates/news', TEMPLATE)).status).toBe(201);
    // The API accepts only keys it issued: ask for one, then store the file under it.
    const presigned = await api.call('POST', '/v1/uploads', { kind: 'recipients', contentType: 'text/csv' });
    LIST = presigned.body.key as string;
    await api.stack.deps.clients.s3.send(
      new PutObjectCommand({
        Bucket: api.stack.config.bucket,
        Key: LIST,
        Body: 'email,first_name\nann@example.com,Ann\nbob@example.com,Bob\ncy@example.com,Cy\n',
        ContentType: 'text/csv',
      }),
    );
    first = await runToEnd({
      templateId: 'news',
      recipientsKey: LIST,
      from: 'news@sixback.example',
    });
    links = new Map();
  });
  afterAll(async () => {
    await api?.stop();
  });

  it('sends every email with RFC 8058 headers, a signed link in the body, and a text part', async () => {
    expect(first.status).toBe('completed');
    const emails = await inbox(api.stack);
    expect(emails).toHaveLength(3);
    for (const email of emails) {
      const parsed = await rawMessage(email.messageId);
      const to = email.destination.to[0] as string;
      const list = parsed.headers.get('list') as {
        unsubscribe: { url: string };
        'unsubscribe-post': { name: string };
      };
      expect(list['unsubscribe-post'].name).toBe('List-Unsubscribe=One-Click');
      const url = list.unsubscribe.url;
      expect(url).toMatch(
        new RegExp(`^http://localhost:8787/u/${first.id}\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$`),
      );
      expect(
        parsed.headerLines.find((h) => h.key === 'list-unsubscribe')?.line.replace(/\r\n(?=[ \t])/g, ''),
      ).toBe(`List-Unsubscribe: <${url}>`);
      // The same link the template shows, and a text part that carries it too.
      expect(parsed.html).toContain(`href="${url}"`);
      expect(parsed.text).toContain(`Unsubscribe (${url})`);
      expect(parsed.text).toMatch(/^Hello (Ann|Bob|Cy)\n\nOur news\./);
      links.set(to, url);
    }
    expect(new Set(links.values()).size).toBe(3);
  });

  it('GET shows a confirmation page and unsubscribes nobody; POST one-click unsubscribes', async () => {
    const token = tokenOf(links.get('ann@example.com') as string);
    const page = await fetch(`${api.server.url}/u/${token}`);
    const html = await page.text();
    expect(page.status).toBe(200);
    expect(html).toContain('ann@example.com');
    expect(html).toMatch(/<form method="post" action="\.\/[^"]+">/);
    // A link scanner fetching it twice changes nothing.
    await fetch(`${api.server.url}/u/${token}`);
    expect(await api.stack.deps.suppression.get('ann@example.com')).toBeUndefined();

    const post = await fetch(`${api.server.url}/u/${token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(post.status).toBe(200);
    expect(await api.stack.deps.suppression.get('ann@example.com')).toMatchObject({
      reason: 'unsubscribe',
      source: `unsubscribe:${first.id}`,
    });
    // A mail client retrying the POST is harmless and counts once.
    expect(
      (await fetch(`${api.server.url}/u/${token}`, { method: 'POST', body: 'List-Unsubscribe=One-Click' }))
        .status,
    ).toBe(200);
    expect((await api.stack.deps.campaigns.get(first.id)).events).toMatchObject({ unsubscribe: 1 });
  });

  it('refuses forged and altered tokens on GET and POST, without authentication being the reason', async () => {
    const [campaignId, , mac] = tokenOf(links.get('bob@example.com') as string).split('.');
    const swapped = `${campaignId}.${Buffer.from('cy@example.com').toString('base64url')}.${mac}`;
    for (const token of [swapped, `${campaignId}.Ym9iQGV4YW1wbGUuY29t.AAAAAAAAAAAAAAAAAAAAAA`, 'nonsense']) {
      const get = await fetch(`${api.server.url}/u/${token}`);
      expect(get.status).toBe(400);
      expect(await get.text()).toContain('not valid');
      const post = await fetch(`${api.server.url}/u/${token}`, {
        method: 'POST',
        body: 'List-Unsubscribe=One-Click',
      });
      expect(post.status).toBe(400);
    }
    expect(await api.stack.deps.suppression.get('cy@example.com')).toBeUndefined();
    expect(await api.stack.deps.suppression.get('bob@example.com')).toBeUndefined();
  });

  it('a hard bounce suppresses the address, counts on the campaign, and the next campaign skips it', async () => {
    // The local SES's own Send and Delivery events for the three emails, handled before the injected ones.
    await api.stack.ses?.events.idle();
    const injected = await api.call('POST', '/v1/local/ses-events', {
      type: 'bounce',
      email: 'bob@example.com',
      campaignId: first.id,
    });
    expect(injected.status, injected.text).toBe(201);
    expect(injected.body.suppressed).toEqual(['bob@example.com']);
    const soft = await api.call('POST', '/v1/local/ses-events', {
      type: 'soft-bounce',
      email: 'cy@example.com',
      campaignId: first.id,
    });
    expect(soft.body.suppressed).toEqual([]);

    const record = await api.stack.deps.campaigns.get(first.id);
    expect(record.events).toEqual({ unsubscribe: 1, bounce: 1, transientBounce: 1, send: 3, delivery: 3 });
    // The injected bounces come on top of the local SES's three deliveries, so the rates' denominator is
    // the outcomes reported (3 deliveries + the bounces), not the three sends: one permanent bounce in
    // four outcomes when it was injected, far over 5%.
    expect(record.alarms).toEqual([
      expect.objectContaining({ metric: 'bounceRate', value: 1 / 4, threshold: 0.05 }),
    ]);

    // The campaign status shows the counters, the rates and the alarm.
    const status = await api.call('GET', `/v1/campaigns/${first.id}`);
    expect(status.body.deliverability).toMatchObject({
      events: { bounce: 1, transientBounce: 1, unsubscribe: 1, complaint: 0 },
      bounceRate: 1 / 5,
      complaintRate: 0,
      status: 'alarm',
      alarms: [{ metric: 'bounceRate' }],
    });

    const second = await runToEnd({
      templateId: 'news',
      recipientsKey: LIST,
      from: 'news@sixback.example',
    });
    expect(second.totals).toMatchObject({ sent: 1, suppressed: 2 });
    const report = parseReport(await readObject(api.stack, second.reportKey as string));
    expect(Object.fromEntries(report.map((r) => [r.email, r.state]))).toEqual({
      'ann@example.com': 'suppressed',
      'bob@example.com': 'suppressed',
      'cy@example.com': 'sent',
    });
    const delivered = (await inbox(api.stack)).map((e) => e.destination.to[0]);
    expect(delivered.filter((to) => to === 'cy@example.com')).toHaveLength(2);
    expect(delivered.filter((to) => to === 'bob@example.com')).toHaveLength(1);
  });

  it('the deployed events Lambda handler suppresses a complaint (EventBridge event in, EMF metrics out)', async () => {
    const { result: out, lines } = await stdoutOf(() =>
      createHandler(api.stack.deps)(
        buildSesEvent({ type: 'complaint', email: 'Cy@Example.com', campaignId: first.id }),
      ),
    );
    expect(out).toEqual({
      eventType: 'COMPLAINT',
      campaignId: first.id,
      suppressed: ['Cy@Example.com'],
      alarms: ['complaintRate'],
    });
    expect(await api.stack.deps.suppression.get('cy@example.com')).toMatchObject({ reason: 'complaint' });
    const metrics = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(metrics.some((m) => m.EmailComplaint === 1)).toBe(true);
    expect(metrics.find((m) => 'CampaignComplaintRate' in m)).toMatchObject({
      CampaignId: first.id,
      CampaignAlarmRaised: 1,
    });
    // Put cy back for the campaigns below: removing a suppression is what the DELETE route does.
    await api.stack.deps.suppression.remove('cy@example.com');
  });

  it('refuses a campaign whose template has no unsubscribe link unless it is transactional', async () => {
    await api.call('PUT', '/v1/templates/receipt', {
      subject: 'Your receipt',
      html: '<p>Thanks {{ first_name }}</p>',
    });
    const request = {
      templateId: 'receipt',
      recipientsKey: LIST,
      from: 'shop@sixback.example',
    };
    const refused = await api.call('POST', '/v1/campaigns', request);
    expect(refused.status).toBe(422);
    expect(refused.body.error).toMatchObject({ code: 'unsubscribe_link_missing' });
    expect((refused.body.error as { message: string }).message).toContain('{{ unsubscribe_url }}');
    const allowed = await api.call('POST', '/v1/campaigns', { ...request, transactional: true });
    expect(allowed.status, allowed.text).toBe(201);
    await api.stack.engine.wait(allowed.body.executionArn as string);
  });

  it('refuses a From address outside the configured sender identities', async () => {
    const deps = { ...api.stack.campaignDeps, senderIdentities: ['sixback.example', 'ceo@other.example'] };
    const request = { templateId: 'news', recipientsKey: LIST };
    await expect(createCampaign({ ...request, from: 'x@evil.example' }, deps)).rejects.toThrow(
      SenderNotAllowedError,
    );
    await expect(createCampaign({ ...request, from: 'cfo@other.example' }, deps)).rejects.toThrow(
      /SIXBACK_SENDER_IDENTITIES/,
    );
  });

  it('manages the suppression list: add, search, page, import a CSV, remove', async () => {
    const added = await api.call('POST', '/v1/suppression', { email: ' Dee@Example.com ' });
    expect(added.status, added.text).toBe(201);
    expect(added.body).toMatchObject({ key: 'dee@example.com', reason: 'manual', source: 'api:local' });
    expect((await api.call('POST', '/v1/suppression', { email: 'not-an-address' })).status).toBe(400);

    const csv = 'Name,EMAIL\nEve,eve@example.com\nFay,fay@example.org\nBad,nope\nEve again,EVE@example.com\n';
    const imported = await api.call('POST', '/v1/suppression/import?name=old-tool.csv', csv, {
      'content-type': 'text/csv',
    });
    expect(imported.status, imported.text).toBe(200);
    expect(imported.body).toMatchObject({ rows: 4, added: 2, invalid: 1, problems: [{ line: 4 }] });
    expect((await api.call('GET', '/v1/suppression/eve@example.com')).body).toMatchObject({
      reason: 'manual',
      source: 'import:old-tool.csv',
    });

    const search = await api.call('GET', '/v1/suppression?search=example.org');
    expect((search.body.items as { key: string }[]).map((i) => i.key)).toEqual(['fay@example.org']);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await api.call('GET', `/v1/suppression?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect((page.body.items as unknown[]).length).toBeLessThanOrEqual(2);
      seen.push(...(page.body.items as { key: string }[]).map((i) => i.key));
      cursor = page.body.cursor as string | null;
    } while (cursor);
    expect(seen.sort()).toEqual([
      'ann@example.com',
      'bob@example.com',
      'dee@example.com',
      'eve@example.com',
      'fay@example.org',
    ]);

    expect((await api.call('DELETE', '/v1/suppression/dee%40example.com')).status).toBe(204);
    expect((await api.call('GET', '/v1/suppression/dee@example.com')).status).toBe(404);
    expect((await api.call('DELETE', '/v1/suppression/dee@example.com')).status).toBe(404);
  });

  it('keeps the suppression routes behind authentication and the unsubscribe routes open', async () => {
    expect((await fetch(`${api.server.url}/v1/suppression`)).status).toBe(401);
    expect((await fetch(`${api.server.url}/v1/local/ses-events`, { method: 'POST' })).status).toBe(401);
    expect(
      (await fetch(`${api.server.url}/u/${tokenOf(links.get('cy@example.com') as string)}`)).status,
    ).toBe(200);
  });
});
