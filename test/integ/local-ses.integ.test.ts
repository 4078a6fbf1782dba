/**
 * The local SES behaves like SES: a campaign's events reach the SES events handler as SES would publish
 * them (the mailbox simulator's addresses each with their documented outcome), open and click tracking
 * rewrites what the configuration set says and reports opens and clicks, and the mailbox survives a
 * restart and stays usable at tens of thousands of messages.
 */
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetConfigurationSetCommand,
  GetConfigurationSetEventDestinationsCommand,
  SESv2Client,
  SendEmailCommand,
} from '@aws-sdk/client-sesv2';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SesEventBridgeEvent } from '../../local/ses/events.ts';
import { type LocalSes, startLocalSes } from '../../local/ses/server.ts';
import { MailStore } from '../../local/ses/store.ts';
import { LOCAL_CONFIGURATION_SET, type LocalStack } from '../../local/stack.ts';
import {
  type InboxEmail,
  inbox,
  runCampaign,
  saveTemplate,
  startTestStack,
  uploadCsv,
} from '../support/local-stack.ts';
import { waitUntil } from '../support/wait.ts';

const FROM = 'news@sixback.example';
const SIMULATOR = ['success', 'bounce', 'ooto', 'complaint', 'suppressionlist'].map(
  (mailbox) => `${mailbox}@simulator.amazonses.com`,
);

const client = (url: string) =>
  new SESv2Client({
    region: 'us-east-1',
    endpoint: url,
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    maxAttempts: 1,
  });

const campaignOfEvent = (event: SesEventBridgeEvent) =>
  (event.detail.mail.tags as Record<string, string[]> | undefined)?.campaign?.[0];

describe('a campaign on the local SES', () => {
  let stack: LocalStack;
  const received: SesEventBridgeEvent[] = [];

  beforeAll(async () => {
    stack = await startTestStack({
      sesEventsTap: (events) => received.push(...events),
      sesEvents: { batchSize: 10, windowMs: 20 },
    });
    await saveTemplate(stack, 'news', {
      subject: 'News for {{ first_name }}',
      html:
        '<html><body><h1>Hi {{ first_name }}</h1>' +
        '<p><a href="https://example.com/offer?a=1&amp;b=2" ses:tags="section:hero;kind:offer">Offer</a></p>' +
        '<p><a ses:no-track href="https://example.com/private">Private</a></p>' +
        '<p><a href="mailto:help@example.com">Mail us</a></p>' +
        '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p></body></html>',
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('reports what SES documents for ordinary and mailbox simulator addresses, to the SES events handler', async () => {
    const ordinary = ['ann@example.com', 'bob@example.com', 'cy@example.com'];
    const csv = `email,first_name\n${[...ordinary, ...SIMULATOR].map((e) => `${e},X`).join('\n')}\n`;
    const recipientsKey = await uploadCsv(stack, 'mixed.csv', csv);
    const { campaign } = await runCampaign(stack, {
      templateId: 'news',
      recipientsKey,
      from: FROM,
      tracking: { opens: false, clicks: false },
    });
    expect(campaign.totals?.sent).toBe(8);
    await stack.ses?.events.idle();

    const mine = received.filter((e) => campaignOfEvent(e) === campaign.id);
    const byAddress = new Map<string, SesEventBridgeEvent[]>();
    for (const event of mine) {
      const to = (event.detail.mail as { destination: string[] }).destination[0] as string;
      byAddress.set(to, [...(byAddress.get(to) ?? []), event]);
    }
    const summary = (address: string) =>
      (byAddress.get(address) ?? []).map((e) => {
        const bounce = e.detail.bounce as { bounceType: string; bounceSubType: string } | undefined;
        return bounce
          ? `${e.detail.eventType} ${bounce.bounceType}/${bounce.bounceSubType}`
          : e.detail.eventType;
      });
    for (const address of ordinary) expect(summary(address), address).toEqual(['Send', 'Delivery']);
    expect(summary('success@simulator.amazonses.com')).toEqual(['Send', 'Delivery']);
    expect(summary('bounce@simulator.amazonses.com')).toEqual(['Send', 'Bounce Permanent/General']);
    expect(summary('ooto@simulator.amazonses.com')).toEqual(['Send', 'Delivery']);
    expect(summary('complaint@simulator.amazonses.com')).toEqual(['Send', 'Delivery', 'Complaint']);
    expect(summary('suppressionlist@simulator.amazonses.com')).toEqual([
      'Send',
      'Bounce Permanent/Suppressed',
    ]);

    // The EventBridge envelope and the SES event record, as SES publishes them.
    const delivery = (byAddress.get('ann@example.com') ?? [])[1] as SesEventBridgeEvent;
    expect(delivery).toMatchObject({
      source: 'aws.ses',
      'detail-type': 'Email Delivered',
      detail: {
        eventType: 'Delivery',
        mail: {
          source: FROM,
          destination: ['ann@example.com'],
          commonHeaders: { from: [FROM], to: ['ann@example.com'], subject: 'News for X' },
          tags: { campaign: [campaign.id], 'ses:configuration-set': [LOCAL_CONFIGURATION_SET] },
        },
        delivery: { recipients: ['ann@example.com'], smtpResponse: expect.stringMatching(/^250 /) },
      },
    });
    const headers = (delivery.detail.mail as { headers: { name: string }[] }).headers.map((h) => h.name);
    expect(headers).toEqual(expect.arrayContaining(['From', 'To', 'Subject', 'List-Unsubscribe']));
    const complaint = (byAddress.get('complaint@simulator.amazonses.com') ?? [])[2] as SesEventBridgeEvent;
    expect(complaint.detail.complaint).toMatchObject({
      complainedRecipients: [{ emailAddress: 'complaint@simulator.amazonses.com' }],
      complaintFeedbackType: 'abuse',
    });
    // The message id in each event is the one SendEmail returned (the ledger's).
    const ids = new Set((await inbox(stack)).map((e) => e.messageId));
    for (const event of mine) expect(ids.has(event.detail.mail.messageId as string)).toBe(true);

    // What the handler made of them: counted on the campaign, hard bounces and complaints suppressed.
    const record = await stack.deps.campaigns.get(campaign.id);
    expect(record.events).toMatchObject({ send: 8, delivery: 6, bounce: 2, complaint: 1 });
    for (const address of ['bounce', 'suppressionlist', 'complaint'])
      expect(await stack.deps.suppression.get(`${address}@simulator.amazonses.com`), address).toBeDefined();
    expect(await stack.deps.suppression.get('ooto@simulator.amazonses.com')).toBeUndefined();

    // ooto@ answered the sender with an automatic reply, as the simulator does.
    const reply = (await inbox(stack)).find((e) => e.from === 'ooto@simulator.amazonses.com');
    expect(reply?.destination.to).toEqual([FROM]);
    expect(reply?.headers).toEqual(
      expect.arrayContaining([{ name: 'Auto-Submitted', value: 'auto-replied' }]),
    );
  });

  it('tracks opens and clicks for marketing mail the way SES does, and leaves unsubscribe links alone', async () => {
    const recipientsKey = await uploadCsv(stack, 'tracked.csv', 'email,first_name\ndee@example.com,Dee\n');
    const { campaign } = await runCampaign(stack, { templateId: 'news', recipientsKey, from: FROM });
    const email = (await inbox(stack)).find((e) => e.destination.to[0] === 'dee@example.com') as InboxEmail;
    const html = email.body.html as string;
    // The tracked link points at the click redirect; the no-track, mailto and unsubscribe links do not.
    const clickUrls = [...html.matchAll(/href="([^"]*\/t\/c\/[^"]*)"/g)].map((m) => m[1] as string);
    expect(clickUrls).toHaveLength(1);
    expect(html).not.toContain('https://example.com/offer');
    expect(html).toContain('href="https://example.com/private"');
    expect(html).toContain('href="mailto:help@example.com"');
    expect(html).toMatch(/<a ses:no-track href="http:\/\/localhost:8787\/u\/[^"]+">Unsubscribe<\/a>/);
    const pixel = /<img[^>]*src="([^"]*\/t\/o\/[^"]*)"/.exec(html)?.[1] as string;
    expect(pixel).toBeDefined();
    // Headers are never rewritten.
    const listUnsubscribe = email.headers?.find((h) => h.name === 'List-Unsubscribe')?.value;
    expect(listUnsubscribe).toMatch(/^<http:\/\/localhost:8787\/u\//);

    const opened = await fetch(pixel, { headers: { 'user-agent': 'test-mail-client/1.0' } });
    expect(opened.headers.get('content-type')).toBe('image/gif');
    const clicked = await fetch(clickUrls[0] as string, { redirect: 'manual' });
    expect(clicked.status).toBe(302);
    expect(clicked.headers.get('location')).toBe('https://example.com/offer?a=1&b=2');

    const events = await waitUntil(
      'open and click events',
      async () => received.filter((e) => campaignOfEvent(e) === campaign.id),
      (list) =>
        list.some((e) => e.detail.eventType === 'Click') && list.some((e) => e.detail.eventType === 'Open'),
    );
    const open = events.find((e) => e.detail.eventType === 'Open') as SesEventBridgeEvent;
    expect(open['detail-type']).toBe('Email Opened');
    expect(open.detail.open).toMatchObject({
      userAgent: 'test-mail-client/1.0',
      ipAddress: expect.any(String),
    });
    const click = events.find((e) => e.detail.eventType === 'Click') as SesEventBridgeEvent;
    expect(click['detail-type']).toBe('Email Clicked');
    expect(click.detail.click).toMatchObject({
      link: 'https://example.com/offer?a=1&b=2',
      linkTags: { section: ['hero'], kind: ['offer'] },
    });
    expect(click.detail.mail.tags).toMatchObject({
      'ses:configuration-set': [`${LOCAL_CONFIGURATION_SET}-tracked`],
    });
    const record = await waitUntil(
      'open and click counted',
      () => stack.deps.campaigns.get(campaign.id),
      (r) => (r.events?.open ?? 0) >= 1 && (r.events?.click ?? 0) >= 1,
    );
    expect(record.events).toMatchObject({ send: 1, delivery: 1, open: 1, click: 1 });
  });

  it('does not track transactional mail unless asked to', async () => {
    const recipientsKey = await uploadCsv(stack, 'receipt.csv', 'email,first_name\neve@example.com,Eve\n');
    await runCampaign(stack, { templateId: 'news', recipientsKey, from: FROM, transactional: true });
    const html = (await inbox(stack)).find((e) => e.destination.to[0] === 'eve@example.com')?.body.html ?? '';
    expect(html).toContain('href="https://example.com/offer?a=1&amp;b=2"');
    expect(html).not.toMatch(/\/t\/[oc]\//);
    const onlyOpens = await uploadCsv(stack, 'opens.csv', 'email,first_name\nfay@example.com,Fay\n');
    await runCampaign(stack, {
      templateId: 'news',
      recipientsKey: onlyOpens,
      from: FROM,
      tracking: { opens: true, clicks: false },
    });
    const fay = (await inbox(stack)).find((e) => e.destination.to[0] === 'fay@example.com')?.body.html ?? '';
    expect(fay).toMatch(/\/t\/o\//);
    expect(fay).not.toMatch(/\/t\/c\//);
  });
});

describe('the local SES API', () => {
  let ses: LocalSes;
  let directory: string;
  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'sixback-ses-'));
    ses = await startLocalSes({
      directory,
      configurationSets: [{ name: 'plain', eventTypes: ['SEND', 'DELIVERY'] }],
    });
  });
  afterAll(async () => {
    await ses?.close();
    rmSync(directory, { recursive: true, force: true });
  });

  const simple = (overrides: Record<string, unknown> = {}) =>
    new SendEmailCommand({
      FromEmailAddress: FROM,
      Destination: { ToAddresses: ['a@example.com'] },
      Content: { Simple: { Subject: { Data: 'Hi' }, Body: { Html: { Data: '<p>Hi</p>' } } } },
      ...overrides,
    });

  it("answers with SES's error names, as the SDK raises them", async () => {
    const sdk = client(ses.url);
    const failure = (command: SendEmailCommand) =>
      sdk.send(command).then(
        () => 'accepted',
        (e: Error) => e.name,
      );
    expect(await failure(simple({ ConfigurationSetName: 'nope' }))).toBe('NotFoundException');
    expect(await failure(simple({ Destination: { ToAddresses: ['not-an-address'] } }))).toBe(
      'BadRequestException',
    );
    expect(await failure(simple({ Destination: { ToAddresses: [] } }))).toBe('BadRequestException');
    const many = Array.from({ length: 51 }, (_, i) => `r${i}@example.com`);
    expect(await failure(simple({ Destination: { ToAddresses: many } }))).toBe('MessageRejected');
    expect(await failure(simple({ EmailTags: [{ Name: 'campaign', Value: 'has space' }] }))).toBe(
      'BadRequestException',
    );
    expect(await failure(simple({ ConfigurationSetName: 'plain' }))).toBe('accepted');
    await expect(
      sdk.send(new GetConfigurationSetCommand({ ConfigurationSetName: 'nope' })),
    ).rejects.toMatchObject({
      name: 'NotFoundException',
    });
    const destinations = await sdk.send(
      new GetConfigurationSetEventDestinationsCommand({ ConfigurationSetName: 'plain' }),
    );
    expect(destinations.EventDestinations?.[0]?.MatchingEventTypes).toEqual(['SEND', 'DELIVERY']);
    sdk.destroy();
  });

  it('accepts Raw content and shows it in the inbox', async () => {
    const sdk = client(ses.url);
    const raw = [
      `From: ${FROM}`,
      'To: raw@example.com',
      'Subject: Raw hello',
      'MIME-Version: 1.0',
      'Content-Type: text/html; charset=UTF-8',
      '',
      '<p>Raw <b>body</b></p>',
    ].join('\r\n');
    const out = await sdk.send(new SendEmailCommand({ Content: { Raw: { Data: Buffer.from(raw) } } }));
    const page = await (await fetch(`${ses.url}/?q=${encodeURIComponent('to:raw@')}`)).text();
    expect(page).toContain('Raw hello');
    const framed = await fetch(`${ses.url}/messages/${out.MessageId}/html`);
    expect(await framed.text()).toContain('Raw <b>body</b>');
    sdk.destroy();
  });
});

describe('the local mailbox', () => {
  it('survives a restart, drops a torn last append, and keeps tracked links working on the new port', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'sixback-ses-'));
    try {
      const sets = [{ name: 'tracked', eventTypes: ['SEND', 'DELIVERY', 'OPEN', 'CLICK'] }];
      const first = await startLocalSes({ directory, configurationSets: sets });
      const sdk = client(first.url);
      const sent = await sdk.send(
        new SendEmailCommand({
          FromEmailAddress: FROM,
          Destination: { ToAddresses: ['keep@example.com'] },
          ConfigurationSetName: 'tracked',
          Content: {
            Simple: {
              Subject: { Data: 'Kept' },
              Body: { Html: { Data: '<a href="https://example.com/x">x</a>' } },
            },
          },
        }),
      );
      sdk.destroy();
      await first.close();
      // A crash in the middle of the next append leaves half a line in each file.
      appendFileSync(join(directory, 'messages.jsonl'), '{"messageId":"torn');
      appendFileSync(join(directory, 'index.jsonl'), '{"id":"torn","t":1');

      const received: SesEventBridgeEvent[] = [];
      const second = await startLocalSes({
        directory,
        configurationSets: sets,
        onEvents: async (events) => {
          received.push(...events);
        },
        events: { windowMs: 5 },
      });
      try {
        const emails = ((await (await fetch(`${second.url}/store`)).json()) as { emails: InboxEmail[] })
          .emails;
        expect(emails.map((e) => e.messageId)).toEqual([sent.MessageId]);
        const html = emails[0]?.body.html as string;
        const click = /href="([^"]+)"/.exec(html)?.[1] as string;
        expect(click.startsWith(`${second.url}/t/c/`)).toBe(true);
        const followed = await fetch(click, { redirect: 'manual' });
        expect(followed.headers.get('location')).toBe('https://example.com/x');
        await second.events.idle();
        expect(received.map((e) => e.detail.eventType)).toEqual(['Click']);
        // And it keeps appending after the recovered end.
        const again = client(second.url);
        await again.send(
          new SendEmailCommand({
            FromEmailAddress: FROM,
            Destination: { ToAddresses: ['next@example.com'] },
            Content: { Simple: { Subject: { Data: 'Next' }, Body: { Text: { Data: 'next' } } } },
          }),
        );
        again.destroy();
        expect(second.store.count).toBe(2);
        expect(second.store.page({ query: 'next@' }).items[0]?.subject).toBe('Next');
      } finally {
        await second.close();
      }
      const third = new MailStore(directory);
      expect(third.count).toBe(2);
      third.close();
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('pages and searches 20,000 stored messages, and renders the inbox and a message', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'sixback-ses-'));
    try {
      const store = new MailStore(directory);
      const started = Date.parse('2026-11-01T00:00:00Z');
      const campaignOf = (i: number) => `cmp${i % 7}`;
      for (let i = 0; i < 20_000; i++) {
        store.add({
          messageId: `m-${i}`,
          at: new Date(started + i * 1000).toISOString(),
          from: FROM,
          destination: { to: [`user${i}@example.com`], cc: [], bcc: [] },
          replyTo: [],
          subject: `Issue ${i % 13} for user ${i}`,
          body: { html: `<p>Body ${i}</p><script>parent.document.title='owned'</script>`, text: `Body ${i}` },
          headers: [],
          tags: { campaign: [campaignOf(i)] },
        });
      }
      store.close();
      const ses = await startLocalSes({ directory });
      try {
        const json = async (query: string, offset = 0, limit = 50) =>
          (await (
            await fetch(
              `${ses.url}/api/messages?${new URLSearchParams({ q: query, offset: String(offset), limit: String(limit) })}`,
            )
          ).json()) as { total: number; items: { id: string }[] };
        const firstPage = await json('');
        expect(firstPage.total).toBe(20_000);
        expect(firstPage.items.map((e) => e.id).slice(0, 3)).toEqual(['m-19999', 'm-19998', 'm-19997']);
        const deep = await json('', 19_990, 50);
        expect(deep.items.map((e) => e.id)).toEqual(Array.from({ length: 10 }, (_, k) => `m-${9 - k}`));

        // Search by campaign, subject or recipient counts exactly what a scan of the same data finds.
        await fc.assert(
          fc.asyncProperty(
            fc.oneof(
              fc.integer({ min: 0, max: 8 }).map((n) => `campaign:cmp${n}`),
              fc.integer({ min: 0, max: 14 }).map((n) => `subject:issue ${n} for`),
              fc.integer({ min: 0, max: 25_000 }).map((n) => `user${n}@`),
            ),
            async (query) => {
              const expected = Array.from({ length: 20_000 }, (_, i) => i).filter((i) => {
                if (query.startsWith('campaign:')) return campaignOf(i) === query.slice(9);
                if (query.startsWith('subject:'))
                  return `issue ${i % 13} for user ${i}`.includes(query.slice(8));
                return `user${i}@example.com`.includes(query);
              });
              const page = await json(query, 0, 20);
              expect(page.total).toBe(expected.length);
              expect(page.items.map((e) => e.id)).toEqual(
                expected
                  .reverse()
                  .slice(0, 20)
                  .map((i) => `m-${i}`),
              );
            },
          ),
          { numRuns: 25 },
        );

        const list = await fetch(`${ses.url}/?q=campaign%3Acmp3&offset=50&limit=50`);
        expect(list.headers.get('content-type')).toContain('text/html');
        const page = await list.text();
        expect(page).toContain('51–100 of 2857');
        expect(page.match(/<tr data-message-id=/g)).toHaveLength(50);
        expect(page).toContain('rel="next"');
        expect(page).toContain('rel="prev"');

        const message = await (await fetch(`${ses.url}/messages/m-42`)).text();
        expect(message).toContain('Issue 3 for user 42');
        expect(message).toMatch(
          /<iframe[^>]*sandbox="allow-popups allow-popups-to-escape-sandbox"[^>]*src="\/messages\/m-42\/html"/,
        );
        const framed = await fetch(`${ses.url}/messages/m-42/html`);
        // The message's own script cannot run: the frame has a CSP sandbox without allow-scripts.
        expect(framed.headers.get('content-security-policy')).toMatch(
          /^sandbox allow-popups allow-popups-to-escape-sandbox;/,
        );
        expect(await framed.text()).toContain('<p>Body 42</p>');
        expect((await fetch(`${ses.url}/messages/nope`)).status).toBe(404);
      } finally {
        await ses.close();
      }
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
