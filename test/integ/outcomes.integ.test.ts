/**
 * The issue's "done when", end to end on the local stack: a marketing campaign to ordinary addresses and
 * the SES mailbox simulator's five, sent through the API; the local SES publishes what SES documents for
 * each address; one recipient opens the mail in the local inbox and follows its tracked link. The
 * per-recipient report, the stats API, the CLI (`sixback stats`, table and --json) and a webhook
 * subscriber then show exactly those outcomes, and a redelivery of every SES event (SQS is at least once)
 * changes none of them and publishes nothing.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CampaignStats } from '../../core/compliance/stats.ts';
import { RECIPIENT_EVENT_TYPES } from '../../core/webhooks/events.ts';
import type { LocalWebhookPublisher } from '../../core/webhooks/publish.ts';
import { createHandler } from '../../handlers/ses-events.ts';
import type { SesEventBridgeEvent } from '../../local/ses/events.ts';
import { type ApiTest, postUpload, startApiTest } from '../api/support.ts';
import { sixback as cli, lastJson } from '../support/cli-process.ts';
import { type InboxEmail, inbox, parseReport } from '../support/local-stack.ts';
import { sqsBatch } from '../support/ses-events.ts';

const FROM = 'news@sixback.example';
const LINK = 'https://example.com/offer';
const sim = (mailbox: string) => `${mailbox}@simulator.amazonses.com`;
const ORDINARY = ['ann@example.com', 'bob@example.com'];
const SIMULATOR = ['success', 'bounce', 'ooto', 'complaint', 'suppressionlist'].map(sim);

interface Hook {
  id: string;
  type: string;
  data: { campaignId: string; recipients: string[]; [key: string]: unknown };
}

async function until<T>(what: string, read: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const end = Date.now() + 30_000;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('a campaign to ordinary and mailbox simulator addresses, end to end', () => {
  let t: ApiTest;
  let receiver: Server;
  const tapped: SesEventBridgeEvent[] = [];
  const hooks: Hook[] = [];

  beforeAll(async () => {
    t = await startApiTest({ stack: { sesEventsTap: (events) => tapped.push(...events) } });
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        hooks.push(JSON.parse(body));
        res.end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  it('shows what SES documents for each address in the report, the stats API, the CLI and webhooks, once', {
    timeout: 180_000,
  }, async () => {
    const hook = await t.call('POST', '/v1/webhooks', {
      url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`,
      events: [...RECIPIENT_EVENT_TYPES],
    });
    expect(hook.status, hook.text).toBe(201);
    const template = await t.call('PUT', '/v1/templates/news', {
      subject: 'News for {{ first_name }}',
      html: `<p>Hi {{ first_name }}</p><p><a href="${LINK}">Offer</a></p><p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>`,
    });
    expect(template.status, template.text).toBe(201);
    const upload = await t.call('POST', '/v1/uploads', { kind: 'recipients', contentType: 'text/csv' });
    const csv = `email,first_name\n${[...ORDINARY, ...SIMULATOR].map((e) => `${e},X`).join('\n')}\n`;
    expect(await postUpload(upload.body as never, csv)).toBeLessThan(300);
    // A marketing campaign: open and click tracking on by default.
    const created = await t.call('POST', '/v1/campaigns', {
      templateId: 'news',
      recipientsKey: upload.body.key as string,
      from: FROM,
    });
    expect(created.status, created.text).toBe(201);
    const id = created.body.id as string;
    await t.stack.engine.wait(created.body.executionArn as string);
    expect((await t.stack.deps.campaigns.get(id)).status).toBe('completed');
    await t.stack.ses?.events.idle();

    // Ann opens her mail in the local inbox (its images load) and follows the tracked link.
    const mail = (await inbox(t.stack)).find((e) => e.destination.to[0] === 'ann@example.com') as InboxEmail;
    const html = mail.body.html as string;
    const pixel = /<img[^>]*src="([^"]*\/t\/o\/[^"]*)"/.exec(html)?.[1];
    const tracked = /href="([^"]*\/t\/c\/[^"]*)"/.exec(html)?.[1];
    expect(pixel && tracked).toBeTruthy();
    await (await fetch(pixel as string)).arrayBuffer();
    const followed = await fetch(tracked as string, { redirect: 'manual' });
    expect(followed.headers.get('location')).toBe(LINK);
    const statsOf = async () => (await t.call('GET', `/v1/campaigns/${id}/stats`)).body as CampaignStats;
    await until('the open and the click counted', async () => {
      const s = await statsOf();
      return s.counts.opened.unique === 1 && s.counts.clicked.unique === 1 ? s : undefined;
    });
    await t.stack.ses?.events.idle();

    // The stats API: exactly the documented outcomes.
    const stats = await statsOf();
    expect(stats.sent).toBe(7);
    expect(stats.counts).toEqual({
      // ordinary x2, success@, ooto@ (an automatic reply, no bounce) and complaint@
      delivered: 5,
      // bounce@ (Permanent/General) and suppressionlist@ (Permanent/Suppressed)
      bounced: { hard: 2, soft: 0, total: 2 },
      complained: 1,
      rejected: 0,
      delayed: 0,
      renderingFailed: 0,
      opened: { unique: 1, total: 1 },
      clicked: { unique: 1, total: 1 },
      unsubscribed: 0,
    });
    expect(stats.rates.delivery).toBeCloseTo(5 / 7);
    expect(stats.rates.hardBounce).toBeCloseTo(2 / 7);
    expect(stats.rates.complaint).toBeCloseTo(1 / 7);
    expect(stats.rates.open).toBeCloseTo(1 / 5);
    expect(stats.links).toEqual([{ url: LINK, unique: 1, total: 1 }]);

    // The per-recipient report.
    const reportOf = async () => {
      const report = await t.call('GET', `/v1/campaigns/${id}/report?format=csv`);
      expect(report.status, report.text).toBe(200);
      return new Map(parseReport(report.text).map((row) => [row.email as string, row]));
    };
    const rows = await reportOf();
    expect([...rows.keys()].sort()).toEqual([...ORDINARY, ...SIMULATOR].sort());
    for (const row of rows.values()) expect(row.state).toBe('sent');
    const delivered = (email: string) => rows.get(email)?.delivered_at !== '';
    expect([...rows.keys()].filter(delivered).sort()).toEqual(
      ['ann@example.com', 'bob@example.com', sim('success'), sim('ooto'), sim('complaint')].sort(),
    );
    expect(rows.get(sim('bounce'))).toMatchObject({
      bounce_type: 'Permanent/General',
      bounce_reason: 'smtp; 550 5.1.1 user unknown',
    });
    expect(rows.get(sim('suppressionlist'))?.bounce_type).toBe('Permanent/Suppressed');
    expect(rows.get(sim('ooto'))?.bounce_type).toBe('');
    expect([...rows.keys()].filter((e) => rows.get(e)?.complained_at !== '')).toEqual([sim('complaint')]);
    expect(rows.get('ann@example.com')).toMatchObject({ opens: '1', clicks: '1', links_clicked: LINK });
    expect(rows.get('ann@example.com')?.first_opened_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    for (const email of [...rows.keys()].filter((e) => e !== 'ann@example.com'))
      expect(rows.get(email), email).toMatchObject({ opens: '0', clicks: '0', first_opened_at: '' });

    // The CLI, for people and for scripts.
    const connect = ['--api', t.server.url, '--token', t.server.token];
    const [table, json, person] = await Promise.all([
      cli(['stats', id, ...connect]),
      cli(['stats', id, '--json', ...connect]),
      cli(['stats', id, '--recipient', sim('suppressionlist'), ...connect]),
    ]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^sent\s+7\s*$/m);
    expect(table.stdout).toMatch(/^delivered\s+5\s+71\.4%$/m);
    expect(table.stdout).toMatch(/^bounced \(hard\)\s+2\s+28\.6%$/m);
    expect(table.stdout).toMatch(/^bounced \(soft\)\s+0\s+0\.0%$/m);
    expect(table.stdout).toMatch(/^complained\s+1\s+14\.3%$/m);
    expect(table.stdout).toMatch(/^opened \(unique\)\s+1\s+20\.0%$/m);
    expect(table.stdout).toMatch(/^clicked \(unique\)\s+1\s+20\.0%$/m);
    expect(table.stdout).toMatch(new RegExp(`^${LINK.replaceAll('.', '\\.')}\\s+1\\s+1$`, 'm'));
    expect(json.code).toBe(0);
    const fromCli = lastJson(json.stdout) as CampaignStats;
    expect({ ...fromCli, generatedAt: '' }).toEqual({ ...stats, generatedAt: '' });
    expect(person.code).toBe(0);
    expect(person.stdout).toMatch(/^bounce\s+Permanent\/Suppressed\b/m);

    // Webhooks: each outcome once, with an id to deduplicate on.
    const publisher = t.stack.deps.publisher as LocalWebhookPublisher;
    await publisher.idle();
    const ofCampaign = () => hooks.filter((h) => h.data.campaignId === id);
    const heard = await until('every recipient event at the subscriber', () =>
      ofCampaign().length >= 10 ? ofCampaign() : undefined,
    );
    const who = (type: string) =>
      heard
        .filter((h) => h.type === type)
        .flatMap((h) => h.data.recipients)
        .sort();
    expect(who('recipient.delivered')).toEqual(
      ['ann@example.com', 'bob@example.com', sim('success'), sim('ooto'), sim('complaint')].sort(),
    );
    expect(who('recipient.bounced')).toEqual([sim('bounce'), sim('suppressionlist')]);
    expect(who('recipient.complained')).toEqual([sim('complaint')]);
    expect(who('recipient.opened')).toEqual(['ann@example.com']);
    expect(who('recipient.clicked')).toEqual(['ann@example.com']);
    expect(heard.find((h) => h.type === 'recipient.clicked')?.data.link).toBe(LINK);
    expect(heard).toHaveLength(10);
    expect(new Set(heard.map((h) => h.id)).size).toBe(10);

    // SQS redelivers every SES event of the campaign, in batches, twice and in another order.
    const events = tapped.filter(
      (e) => (e.detail.mail.tags as Record<string, string[]>).campaign?.[0] === id,
    );
    expect(events.map((e) => e.detail.eventType).sort()).toEqual(
      [
        ...Array(7).fill('Send'),
        ...Array(5).fill('Delivery'),
        'Bounce',
        'Bounce',
        'Complaint',
        'Open',
        'Click',
      ].sort(),
    );
    const handler = createHandler(t.stack.deps);
    for (const batch of [events, [...events].reverse()])
      for (let i = 0; i < batch.length; i += 6) await handler(sqsBatch(batch.slice(i, i + 6)));
    await publisher.idle();
    const after = await statsOf();
    expect({ ...after, generatedAt: '' }).toEqual({ ...stats, generatedAt: '' });
    expect(await reportOf()).toEqual(rows);
    const again = await cli(['stats', id, '--json', ...connect]);
    expect(lastJson(again.stdout).counts).toEqual(stats.counts);
    expect(ofCampaign()).toHaveLength(10);
  });
});
