/**
 * The web console end to end, in real Chromium: the SPA built by Vite, served by the real API server on
 * an in-process local stack, driven by playwright-core. Each screen is saved as a screenshot under
 * test-artifacts/screenshots/.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ApiServer } from '../../api/node.ts';
import type { LocalStack } from '../../local/stack.ts';
import { launchChromium, SHOTS, startConsole } from '../support/browser.ts';
import { inbox } from '../support/local-stack.ts';

/** A 1x1 PNG. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);
/** The user's zone in these tests: not the machine's, so a wrong zone would show. */
const USER_ZONE = 'Asia/Seoul';

let stack: LocalStack;
let server: ApiServer;
let browser: Browser;
let context: BrowserContext;
let home: Page | undefined;
/** The page the current test drives, screenshotted if the test fails. */
let current: Page | undefined;
const pageErrors: string[] = [];

function csv(rows: number, extra: string[] = []): string {
  const lines = ['email,first_name'];
  for (let i = 1; i <= rows; i++) lines.push(`person${i}@example.com,Person ${i}`);
  return `${[...lines, ...extra].join('\n')}\n`;
}

/** A complaint on the scheduled campaign through the API, as `sixback events inject` sends it. */
async function injectComplaint(campaignId: string): Promise<boolean> {
  const response = await fetch(`${server.url}/v1/local/ses-events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'complaint', email: 'person1@example.com', campaignId }),
  });
  const body = (await response.json()) as { alarmsRaised: unknown[] };
  return response.status === 201 && body.alarmsRaised.length > 0;
}

async function shot(page: Page, name: string) {
  await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
}

async function open(path: string): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('dialog', (dialog) => void dialog.accept());
  await page.goto(`${server.url}/${path}`);
  current = page;
  return page;
}

/** Fills the new-campaign form up to the send button. */
async function fillCampaign(page: Page, file: { name: string; body: string }, from = 'news@example.com') {
  await page.getByLabel('Template', { exact: true }).selectOption('welcome');
  await page.getByLabel('Recipients CSV').setInputFiles({
    name: file.name,
    mimeType: 'text/csv',
    buffer: Buffer.from(file.body),
  });
  await expect.poll(() => page.getByTestId('recipients-check').locator('dl.stats').count()).toBe(1);
  await page.getByLabel('From', { exact: true }).fill(from);
}

describe('web console', () => {
  beforeAll(async () => {
    ({ stack, server } = await startConsole());
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1366, height: 800 }, timezoneId: USER_ZONE });
    context.setDefaultTimeout(15_000);
    // Sign in the way `sixback dev` does: the token in the fragment of the first URL. This tab stays open:
    // console pages opened in new tabs borrow its token (sessionStorage is per tab).
    home = await context.newPage();
    home.on('pageerror', (error) => pageErrors.push(error.message));
    await home.goto(
      `${server.url}/#token=${server.token}&inbox=${encodeURIComponent(stack.urls.inbox as string)}`,
    );
    await home.getByRole('heading', { name: 'Campaigns' }).waitFor();
  });

  afterEach(async (test) => {
    if (test.task.result?.state === 'fail' && current && !current.isClosed()) {
      await current.screenshot({
        path: `${SHOTS}/FAILED-${test.task.name.slice(0, 40)}.png`,
        fullPage: true,
      });
    }
    if (current && current !== home && !current.isClosed()) await current.close();
    current = undefined;
  });

  afterAll(async () => {
    await home?.close();
    await browser?.close();
    await server?.close();
    await stack?.stop();
  });

  it('signs in from the token in the URL fragment and removes it from the address bar', async () => {
    const page = home as Page;
    expect(await page.evaluate(() => location.hash)).toBe('#/');
    expect(page.url()).not.toContain(server.token);
    expect(await page.evaluate(() => sessionStorage.getItem('sixback.token'))).toBe(server.token);
    // In local mode the navigation links to the local SES inbox.
    expect(await page.getByRole('link', { name: /Local inbox/ }).getAttribute('href')).toBe(stack.urls.inbox);
    // A second tab is signed in by the first, without the token in its URL.
    const second = await open('#/templates');
    await second.getByRole('heading', { name: 'Templates' }).waitFor();
    expect(await second.getByRole('link', { name: /Local inbox/ }).count()).toBe(1);
  });

  it('asks for the token when it has none, and refuses a wrong one', async () => {
    const fresh = await browser.newContext({ viewport: { width: 1366, height: 800 } });
    const page = await fresh.newPage();
    await page.goto(`${server.url}/#/campaigns`);
    await page.getByLabel('API token').fill('not-the-token-at-all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('bearer token is wrong');
    await shot(page, '00-sign-in');
    await page.getByLabel('API token').fill(server.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Campaigns' }).waitFor();
    await fresh.close();
  });

  it('creates a template and updates the preview as it is typed, with liquid errors at their line', async () => {
    const page = await open('#/templates/new');
    await page.getByLabel('Template id').fill('welcome');
    await page.getByLabel('Name (optional)').fill('Welcome');
    await page.getByLabel('Subject').fill('Hello {{ first_name }}');
    const html = page.getByLabel('HTML', { exact: true });
    await html.fill(
      '<h1>Hello {{ first_name }}</h1>\n<p>Welcome aboard.</p>\n<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
    );
    const frame = page.frameLocator('iframe[title="HTML preview"]');
    await expect.poll(() => frame.locator('h1').textContent()).toBe('Hello [first_name]');

    await page.getByLabel('first_name').fill('Ada <b>');
    await expect.poll(() => frame.locator('h1').textContent()).toBe('Hello Ada <b>');
    // Escaped like the sender escapes: the sample's markup is text, not an element.
    expect(await frame.locator('h1 b').count()).toBe(0);
    expect(await page.getByTestId('preview-subject').textContent()).toBe('Hello Ada <b>');

    await html.fill('<h1>Hello {{ first_name }}</h1>\n<p>{% if first_name %}Welcome{% endfi %}</p>');
    const error = page.getByTestId('liquid-error');
    await expect.poll(() => error.textContent()).toMatch(/HTML, line 2/);
    expect(await html.getAttribute('aria-invalid')).toBe('true');
    await shot(page, '02-template-error');

    await html.fill(
      '<h1>Hello {{ first_name }}</h1>\n<p>{% if first_name %}Welcome aboard.{% endif %}</p>\n<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
    );
    await expect.poll(() => error.count()).toBe(0);
    await expect.poll(() => frame.locator('p').first().textContent()).toBe('Welcome aboard.');
    await shot(page, '01-template-editor');

    // An uploaded image goes to storage through the presigned POST, and its URL into the HTML.
    await html.click();
    await html.press('End');
    await page
      .getByLabel('Insert an image')
      .setInputFiles({ name: 'logo.png', mimeType: 'image/png', buffer: PNG });
    await expect.poll(() => html.inputValue()).toMatch(/<img src="[^"]+\/images\/[^"]+\.png"/);
    await expect
      .poll(() => frame.locator('img').evaluate((img) => (img as HTMLImageElement).naturalWidth))
      .toBe(1);

    await page.getByRole('button', { name: 'Save new version' }).click();
    await expect
      .poll(() => page.getByRole('status').first().textContent())
      .toContain('Saved version 1 of welcome');
    await expect.poll(() => page.locator('.version-list li').count()).toBe(1);
    expect((await stack.deps.templates.get('welcome')).version).toBe(1);
    // Saving again from the same address makes version 2 and lists both.
    await page.getByLabel('Subject').fill('Hello {{ first_name }}!');
    await page.getByRole('button', { name: 'Save new version' }).click();
    await expect.poll(() => page.locator('.version-list li').count()).toBe(2);
    expect(await page.getByRole('status').first().textContent()).toContain('Saved version 2 of welcome');
    expect((await stack.deps.templates.get('welcome')).subject).toBe('Hello {{ first_name }}!');

    await page.goto(`${server.url}/#/templates`);
    await page.getByRole('link', { name: 'Welcome' }).waitFor();
    await shot(page, '03-templates');
    await page.close();
  });

  it('uploads a CSV with a bad row and reports it', async () => {
    const page = await open('#/campaigns/new');
    await fillCampaign(page, {
      name: 'with-bad-row.csv',
      body: csv(3, ['not-an-address,Broken', 'person1@example.com,Again']),
    });
    const check = page.getByTestId('recipients-check');
    await expect
      .poll(() => check.locator('.stat').filter({ hasText: 'Invalid' }).locator('dd').textContent())
      .toBe('1');
    expect(await check.locator('.stat').filter({ hasText: 'Duplicates' }).locator('dd').textContent()).toBe(
      '1',
    );
    expect(await check.locator('.stat').filter({ hasText: 'Rows' }).locator('dd').textContent()).toBe('5');
    const invalid = page.getByTestId('invalid-rows');
    expect(await invalid.locator('tbody tr').count()).toBe(1);
    expect(await invalid.locator('tbody td').first().textContent()).toBe('5');
    // Which variable each column feeds.
    expect(await check.locator('tr', { hasText: 'first_name' }).textContent()).toContain('{{ first_name }}');
    expect(await page.getByRole('button', { name: 'Review and send…' }).isEnabled()).toBe(true);
    await shot(page, '04-new-campaign-check');

    // A column the template needs but the file lacks blocks the send.
    await page.getByLabel('Recipients CSV').setInputFiles({
      name: 'no-names.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from('email\na@example.com\n'),
    });
    await expect.poll(() => check.textContent()).toContain('Missing variables: first_name');
    expect(await page.getByRole('button', { name: 'Review and send…' }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Add a variable' }).click();
    await page.getByLabel('Variable name').fill('first_name');
    await page.getByLabel('Value', { exact: true }).fill('friend');
    await expect.poll(() => page.getByRole('button', { name: 'Review and send…' }).isEnabled()).toBe(true);

    // A file that cannot be used at all says why.
    await page.getByLabel('Recipients CSV').setInputFiles({
      name: 'no-email.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from('name,city\nAda,Paris\n'),
    });
    await expect.poll(() => check.getByRole('alert').textContent()).toContain('No email column');
    await shot(page, '05-new-campaign-bad-file');
    await page.close();
  });

  let scheduledId = '';
  it('schedules a campaign in the user’s time zone and lists it as scheduled', async () => {
    const page = await open('#/campaigns/new');
    await fillCampaign(page, { name: 'scheduled.csv', body: csv(10) });
    await page.getByLabel('Campaign name (optional)').fill('Next week');
    // A test send first, rendered with the file's first row.
    await page.getByLabel('Send a test to (up to 5, comma-separated)').fill('me@example.com');
    await page.getByRole('button', { name: 'Send test' }).click();
    await expect.poll(() => page.getByText('Test sent to me@example.com.').count()).toBe(1);
    const tests = (await inbox(stack)).filter((e) => e.destination.to.includes('me@example.com'));
    expect(tests.map((e) => e.subject)).toEqual(['[Test] Hello Person 1!']);
    await page.getByLabel('Later, at').check();
    // A week from now, 09:30 on the user's wall clock.
    const day = new Intl.DateTimeFormat('en-CA', { timeZone: USER_ZONE }).format(Date.now() + 7 * 86_400_000);
    await page.getByLabel('Date and time').fill(`${day}T09:30`);
    await page.getByRole('button', { name: 'Review and send…' }).click();
    const summary = page.getByTestId('confirm-summary');
    await expect.poll(() => summary.textContent()).toContain('10 recipients');
    const [year, month, date] = day.split('-').map(Number) as [number, number, number];
    const monthName = new Intl.DateTimeFormat('en-US', { month: 'long', timeZone: 'UTC' }).format(
      Date.UTC(year, month - 1, date),
    );
    expect(await summary.textContent()).toContain(`${monthName} ${date}, ${year} at 9:30`);
    expect(await summary.textContent()).toContain(USER_ZONE);
    await shot(page, '06-confirm-schedule');
    // The confirmation is a modal dialog: focus starts on its main button, Escape goes back to the form.
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Schedule');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.locator('dialog[open]').count()).toBe(0);
    await page.getByRole('button', { name: 'Review and send…' }).click();
    await page.getByRole('button', { name: 'Schedule' }).click();

    await expect
      .poll(() => page.getByTestId('campaign-status').textContent(), { timeout: 30_000 })
      .toBe('scheduled');
    scheduledId = decodeURIComponent(page.url().split('#/campaigns/')[1] ?? '');
    const record = await stack.deps.campaigns.get(scheduledId);
    // 09:30 in Seoul (UTC+9, no daylight saving) is 00:30 UTC the same day.
    expect(record.sendAt).toBe(`${day}T00:30:00.000Z`);
    await shot(page, '07-campaign-scheduled');

    await page.getByRole('link', { name: 'Campaigns', exact: true }).click();
    const row = page.locator(`tr[data-campaign="${scheduledId}"]`);
    await expect.poll(() => row.getByTestId('status').textContent()).toBe('scheduled');
    expect(await row.textContent()).toContain('Next week');
    await page.close();
  });

  it('cancels the scheduled campaign', async () => {
    const page = await open(`#/campaigns/${scheduledId}`);
    await page.getByRole('button', { name: 'Cancel campaign' }).click();
    await expect
      .poll(() => page.getByTestId('campaign-status').textContent(), { timeout: 30_000 })
      .toBe('cancelled');
    expect((await stack.deps.campaigns.get(scheduledId)).status).toBe('cancelled');
    expect(await page.getByRole('button', { name: 'Cancel campaign' }).count()).toBe(0);
    // Nothing was tried: its ten rows are "not sent", in their own colour, and none is a failure.
    const notSent = page.locator('.stat[data-state="not_sent"] dd');
    await expect.poll(() => notSent.textContent(), { timeout: 30_000 }).toBe('10');
    expect(await page.locator('.stat[data-state="failed"] dd').textContent()).toBe('0');
    expect(await page.getByTestId('progress-text').textContent()).toBe(
      '0 of 10 recipients sent: 0 sent, 10 not sent (never tried).',
    );
    const colour = await page
      .locator('.bar .seg.not_sent')
      .evaluate((el) => getComputedStyle(el).backgroundColor);
    const failedColour = await page.evaluate(() =>
      getComputedStyle(document.documentElement).getPropertyValue('--failed').trim(),
    );
    expect(colour).toBe('rgb(14, 116, 144)');
    expect(failedColour).not.toBe('#0e7490');
    await shot(page, '08-campaign-cancelled');
    await page.getByRole('link', { name: 'Campaigns', exact: true }).click();
    const row = page.locator(`tr[data-campaign="${scheduledId}"]`);
    await expect.poll(() => row.textContent()).toContain('10 not sent');
    expect(await row.locator('.danger').count()).toBe(0);
    await page.close();
  });

  it('picks up a pasted #token= link on the sign-in screen without a reload', async () => {
    const fresh = await browser.newContext({ viewport: { width: 1366, height: 800 } });
    const page = await fresh.newPage();
    await page.goto(`${server.url}/#/campaigns`);
    await page.getByLabel('API token').waitFor();
    let reloaded = false;
    page.on('load', () => {
      reloaded = true;
    });
    // What pasting the printed link into the address bar does: only the fragment changes.
    await page.evaluate((token) => {
      location.hash = `#token=${token}`;
    }, server.token);
    await page.getByRole('heading', { name: 'Campaigns' }).waitFor();
    expect(reloaded).toBe(false);
    expect(page.url()).not.toContain(server.token);
    await fresh.close();
  });

  it('fits a 390 px phone: the navigation stays in the header, the campaigns table does not scroll sideways', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, timezoneId: USER_ZONE });
    const page = await phone.newPage();
    await page.goto(`${server.url}/#token=${server.token}`);
    await page.getByRole('heading', { name: 'Campaigns' }).waitFor();
    await expect.poll(() => page.locator('tbody tr').count()).toBeGreaterThan(0);
    const layout = await page.evaluate(() => {
      const header = document.querySelector('header.top') as HTMLElement;
      const box = header.getBoundingClientRect();
      const links = Array.from(header.querySelectorAll('a, button')).map((el) => el.getBoundingClientRect());
      return {
        linksInside: links.every(
          (r) => r.top >= box.top && r.bottom <= box.bottom && r.left >= box.left && r.right <= box.right,
        ),
        pageWidth: document.documentElement.scrollWidth,
        tableWidth: (document.querySelector('table.list') as HTMLElement).scrollWidth,
        viewport: window.innerWidth,
      };
    });
    await page.screenshot({ path: `${SHOTS}/14-phone-campaigns.png`, fullPage: true });
    expect(layout.linksInside).toBe(true);
    expect(layout.pageWidth).toBeLessThanOrEqual(layout.viewport);
    expect(layout.tableWidth).toBeLessThanOrEqual(layout.viewport);
    await phone.close();
  });

  it('sends a campaign of 50 and shows its progress reach 50 sent', async () => {
    const page = await open('#/campaigns/new');
    await fillCampaign(page, { name: 'fifty.csv', body: csv(50) });
    await page.getByLabel('Campaign name (optional)').fill('Fifty now');
    // Slow enough to watch: about ten seconds.
    await page.getByLabel('Rate, emails per second (optional)').fill('5');
    await page.getByRole('button', { name: 'Review and send…' }).click();
    await expect.poll(() => page.getByTestId('confirm-summary').textContent()).toContain('50 recipients');
    expect(await page.getByTestId('confirm-summary').textContent()).toContain('now');
    await page.getByRole('button', { name: 'Send now' }).click();

    const sent = page.locator('.stat[data-state="sent"] dd');
    await expect
      .poll(() => page.getByTestId('campaign-status').textContent(), { timeout: 60_000 })
      .toBe('sending');
    await shot(page, '09-campaign-sending');
    await expect.poll(() => sent.textContent(), { timeout: 90_000 }).toBe('50');
    await expect
      .poll(() => page.getByTestId('campaign-status').textContent(), { timeout: 60_000 })
      .toBe('completed');
    expect(await page.getByTestId('progress-text').textContent()).toContain('50 of 50');
    expect(await page.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('50');
    const emails = (await inbox(stack)).filter((e) => e.subject.startsWith('Hello Person'));
    expect(emails).toHaveLength(50);

    // The report downloads through a presigned link.
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: /Download the per-recipient report/ }).click();
    const file = await download;
    expect(file.suggestedFilename()).toMatch(/report\.csv$/);
    await shot(page, '10-campaign-completed');

    await page.getByRole('link', { name: 'Campaigns', exact: true }).click();
    await expect.poll(() => page.locator('tbody tr').count()).toBe(2);
    expect(await page.locator('tbody tr').first().textContent()).toContain('Fifty now');
    await shot(page, '12-campaigns');
    await page.close();
  });

  it('manages the suppression list', async () => {
    const page = await open('#/suppression');
    await page.getByRole('heading', { name: 'Suppression list' }).waitFor();
    await page.getByLabel('Email address').fill('Blocked@Example.com');
    await page.getByRole('button', { name: 'Suppress' }).click();
    await expect.poll(() => page.locator('tbody tr').count()).toBe(1);
    expect(await page.locator('tbody tr').textContent()).toContain('blocked@example.com');
    await page.getByLabel('Email address').fill('other@example.org');
    await page.getByRole('button', { name: 'Suppress' }).click();
    await expect.poll(() => page.locator('tbody tr').count()).toBe(2);
    await page.getByLabel('Search addresses').fill('example.org');
    await expect.poll(() => page.locator('tbody tr').count()).toBe(1);
    await shot(page, '11-suppression');
    await page.getByRole('button', { name: 'Remove other@example.org from the list' }).click();
    await expect.poll(() => page.locator('tbody tr').count()).toBe(0);
    expect((await stack.deps.suppression.lookup(['other@example.org', 'blocked@example.com'])).size).toBe(1);
    await page.close();
  });

  it('starts an A/B test from the form, compares the variants and takes a manual pick', async () => {
    const page = await open('#/campaigns/new');
    await fillCampaign(page, { name: 'ab.csv', body: csv(40) });
    await page.getByLabel('Test variants on a sample first, then send the winner to the rest').check();
    const variants = page.getByTestId('ab-variants');
    await variants.getByLabel('Variant subject').nth(0).fill('A: Hello {{ first_name }}');
    // An empty variant blocks the send, and says which.
    await expect.poll(() => page.locator('#blockers').textContent()).toContain('Variant B needs a subject');
    await variants.getByLabel('Variant subject').nth(1).fill('B: Offer for {{ first_name }}');
    expect(await page.getByTestId('ab-preview-B').textContent()).toContain('B: Offer for {{ first_name }}');
    await page.getByLabel('Sample, % of recipients').fill('50');
    await page.getByLabel('Decide after').fill('30d');
    await page.getByRole('button', { name: 'Review and send…' }).click();
    await page.getByRole('button', { name: 'Send now' }).click();

    const panel = page.getByTestId('ab-test');
    await expect.poll(() => panel.textContent(), { timeout: 60_000 }).toContain('waiting');
    const sentOf = async (v: string) =>
      Number(await panel.locator(`tr[data-variant="${v}"] td.num`).first().textContent());
    await expect
      .poll(async () => (await sentOf('A')) + (await sentOf('B')), { timeout: 60_000 })
      .toBeGreaterThan(0);
    // What the API says is what the page shows.
    const id = decodeURIComponent(page.url().split('#/campaigns/')[1] as string);
    const api = await stack.deps.campaigns.get(id);
    expect(await sentOf('A')).toBe(api.abTest?.sent?.A);
    expect(await sentOf('B')).toBe(api.abTest?.sent?.B);
    await shot(page, '15-ab-test-waiting');

    await panel.getByRole('button', { name: 'Send B to the rest' }).click();
    await expect.poll(() => page.getByTestId('ab-decision').textContent()).toContain('Winner: B (manual)');
    expect((await stack.deps.campaigns.get(id)).abTest?.decision?.variant).toBe('B');
    await shot(page, '16-ab-test-picked');
    await stack.campaignDeps.orchestrator.stop(api.executionArn as string, 'test over');
    await page.close();
  });

  // Last but one: the complaint suppresses its address, which the tests before must not see.
  it('shows SES event counts and a complaint-rate alarm on the campaign page', async () => {
    expect(await injectComplaint(scheduledId)).toBe(true);
    const page = await open(`#/campaigns/${scheduledId}`);
    const box = page.getByTestId('deliverability');
    await expect.poll(() => box.textContent()).toContain('ALARM complaintRate');
    expect(await box.textContent()).toMatch(/complaint 1\b/);
    expect(await box.getByRole('alert').count()).toBe(1);
    await shot(page, '13-campaign-alarm');
    await page.close();
  });

  it('raised no script errors in any page', () => {
    expect(pageErrors).toEqual([]);
  });
});
