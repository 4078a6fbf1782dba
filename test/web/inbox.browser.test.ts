/**
 * The local SES inbox in Chromium: the list renders and pages, a message opens, its HTML shows in the
 * sandboxed frame without running the message's script, loading it fires the open pixel (an Open event),
 * and following a tracked link goes through the click redirect (a Click event) to the original page.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SesEventBridgeEvent } from '../../local/ses/events.ts';
import { eventTypesFor, type LocalSes, startLocalSes } from '../../local/ses/server.ts';
import { launchChromium } from '../support/browser.ts';
import { waitFor } from '../support/wait.ts';

let browser: Browser;
let ses: LocalSes;
let landing: Server;
let landingUrl: string;
let directory: string;
const events: SesEventBridgeEvent[] = [];

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'sixback-inbox-'));
  landing = createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>Landed</h1>'),
  );
  await new Promise<void>((resolve) => landing.listen(0, '127.0.0.1', () => resolve()));
  landingUrl = `http://127.0.0.1:${(landing.address() as AddressInfo).port}/offer`;
  ses = await startLocalSes({
    directory,
    configurationSets: [{ name: 'tracked', eventTypes: eventTypesFor({ opens: true, clicks: true }) }],
    onEvents: async (batch) => {
      events.push(...batch);
    },
    events: { windowMs: 5 },
  });
  const sdk = new SESv2Client({
    region: 'us-east-1',
    endpoint: ses.url,
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
  for (let i = 0; i < 60; i++) {
    await sdk.send(
      new SendEmailCommand({
        FromEmailAddress: 'news@sixback.example',
        Destination: { ToAddresses: [`reader${i}@example.com`] },
        ConfigurationSetName: 'tracked',
        EmailTags: [{ Name: 'campaign', Value: i % 2 ? 'odd' : 'even' }],
        Content: {
          Simple: {
            Subject: { Data: `Letter ${i}` },
            Body: {
              Html: {
                Data: `<html><body><h1 id="greeting">Dear reader ${i}</h1><a id="offer" href="${landingUrl}">See the offer</a><script>document.getElementById('greeting').textContent='script ran'</script></body></html>`,
              },
            },
          },
        },
      }),
    );
  }
  sdk.destroy();
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await ses?.close();
  await new Promise((resolve) => landing?.close(resolve));
  rmSync(directory, { recursive: true, force: true });
});

describe('the local SES inbox in a browser', () => {
  it('lists, pages and searches, opens a message in a sandbox, and reports the open and the click', async () => {
    const page = await browser.newPage();
    await page.goto(`${ses.url}/?limit=25`);
    await expect(page.locator('tr[data-message-id]').count()).resolves.toBe(25);
    expect(await page.locator('.summary').textContent()).toContain('1–25 of 60');
    expect(await page.locator('tbody tr').first().textContent()).toContain('Letter 59');
    await page.click('a[rel="next"]');
    expect(await page.locator('.summary').textContent()).toContain('26–50 of 60');

    await page.fill('input[name="q"]', 'campaign:odd');
    await page.click('button[type="submit"]');
    expect(await page.locator('.summary').textContent()).toContain('of 30');

    await page.fill('input[name="q"]', 'reader7@');
    await page.click('button[type="submit"]');
    await page.click('text=Letter 7');
    const frame = page.frameLocator('iframe[title="Message HTML"]');
    // The message's markup renders, its script does not run.
    await expect(frame.locator('#greeting').textContent()).resolves.toBe('Dear reader 7');
    const id = (await page.locator('tr:has(th:text("Message ID")) td').textContent()) as string;
    await waitFor(
      'the Open event',
      () => events.some((e) => e.detail.eventType === 'Open' && e.detail.mail.messageId === id),
      20_000,
      25,
    );

    const [popup] = await Promise.all([page.waitForEvent('popup'), frame.locator('#offer').click()]);
    await popup.waitForLoadState();
    expect(popup.url()).toBe(landingUrl);
    expect(await popup.locator('h1').textContent()).toBe('Landed');
    await waitFor(
      'the Click event',
      () => events.some((e) => e.detail.eventType === 'Click' && e.detail.mail.messageId === id),
      20_000,
      25,
    );
    const click = events.find((e) => e.detail.eventType === 'Click') as SesEventBridgeEvent;
    expect(click.detail.click).toMatchObject({ link: landingUrl });
    expect((click.detail.click as { userAgent: string }).userAgent).toMatch(/Chrome/);
    await page.close();
  });
});
