/**
 * The campaign page's analytics in real Chromium, against numbers the real code produced: a real local
 * campaign (ordinary addresses and SES mailbox simulator ones, so the local SES publishes Send, Delivery,
 * Bounce and Complaint events), then generated Open, Click and Bounce events (the shapes AWS documents)
 * through the deployed SES events handler, at times spread over minute and hour buckets. The test reads
 * the stats from the API and checks that the page shows exactly them: the chart's markers (value and
 * height on the axis), its data table, the funnel and rates, the link table, the bounce breakdown; then a
 * recipient lookup of a known, an unknown and a malformed address, and the refresh while sending, which
 * stops when the page is left.
 */
import fc from 'fast-check';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ApiServer } from '../../api/node.ts';
import { createCampaign } from '../../core/campaigns/service.ts';
import type { CampaignRecord } from '../../core/campaigns/store.ts';
import type { CampaignStats, RecipientOutcomeView } from '../../core/compliance/stats.ts';
import { createHandler } from '../../handlers/ses-events.ts';
import type { LocalStack } from '../../local/stack.ts';
import { launchChromium, SHOTS, startConsole } from '../support/browser.ts';
import { saveTemplate, uploadCsv } from '../support/local-stack.ts';
import { type Recipient, type SesEventType, sesEvent, sqsBatch } from '../support/ses-events.ts';

const PEOPLE = Array.from({ length: 12 }, (_, i) => `reader${i + 1}@example.com`);
const SIMULATOR = [
  'bounce@simulator.amazonses.com',
  'complaint@simulator.amazonses.com',
  'suppressionlist@simulator.amazonses.com',
];
const SEED = Number(process.env.ANALYTICS_SEED ?? Date.now() % 2 ** 31);

let stack: LocalStack;
let server: ApiServer;
let browser: Browser;
let context: BrowserContext;
let home: Page;
let current: Page | undefined;
const pageErrors: string[] = [];
let campaign: CampaignRecord;

async function call<T>(path: string): Promise<{ status: number; body: T }> {
  const response = await fetch(`${server.url}${path}`, {
    headers: { authorization: `Bearer ${server.token}` },
  });
  return { status: response.status, body: (await response.json()) as T };
}

async function open(hash: string): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(`${server.url}/${hash}`);
  current = page;
  return page;
}

async function startCampaign(name: string, emails: string[], rate?: number): Promise<string> {
  const key = await uploadCsv(
    stack,
    `${name}.csv`,
    `email,first_name\n${emails.map((e) => `${e},${e.slice(0, 4)}`).join('\n')}\n`,
  );
  const created = await createCampaign(
    { templateId: 'news', recipientsKey: key, from: 'news@example.com', name, ...(rate ? { rate } : {}) },
    stack.campaignDeps,
  );
  return created.id;
}

/** Digits of a shown number ("1,234" in the browser's locale) as a number. */
const num = (text: string | null) => Number((text ?? '').replace(/[^\d]/g, ''));

/** Generated engagement events about the campaign's recipients, at times over minute and hour buckets. */
function engagementEvents(recipients: Recipient[], startedAt: number) {
  const plan = fc.sample(
    fc.array(
      fc.record({
        type: fc.constantFrom<SesEventType>('Open', 'Open', 'Open', 'Click', 'Click', 'Bounce'),
        who: fc.nat({ max: recipients.length - 1 }),
        // Most within the first hour (per minute), some 7 to 30 hours later (per hour).
        offset: fc.oneof(
          { weight: 3, arbitrary: fc.integer({ min: 0, max: 50 * 60_000 }) },
          { weight: 1, arbitrary: fc.integer({ min: 7 * 3_600_000, max: 30 * 3_600_000 }) },
        ),
        seed: fc.nat(),
      }),
      { minLength: 40, maxLength: 90 },
    ),
    { numRuns: 1, seed: SEED },
  )[0] as { type: SesEventType; who: number; offset: number; seed: number }[];
  return plan.map(({ type, who, offset, seed }) => {
    const [event] = fc.sample(sesEvent(type, recipients[who] as Recipient), { numRuns: 1, seed });
    if (!event) throw new Error('no sample');
    const sub = event.detail[type.toLowerCase()] as { timestamp: string };
    sub.timestamp = new Date(startedAt + offset).toISOString();
    return event;
  });
}

describe(`campaign analytics in the console (seed ${SEED})`, () => {
  beforeAll(async () => {
    ({ stack, server } = await startConsole());
    await saveTemplate(stack, 'news', {
      subject: 'News for {{ first_name }}',
      html:
        '<p>Hello {{ first_name }}</p><p><a href="https://sixback.example/offer">Offer</a> ' +
        '<a href="https://docs.sixback.example/start#intro">Docs</a></p>' +
        '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
    });
    const id = await startCampaign('Analytics', [...PEOPLE, ...SIMULATOR]);
    const record = await stack.deps.campaigns.get(id);
    await stack.engine.wait(record.executionArn as string);
    await stack.ses?.events.idle();
    campaign = await stack.deps.campaigns.get(id);
    expect(campaign.status).toBe('completed');
    const ledger = await stack.deps.ledger.lookup(id, PEOPLE);
    const recipients = PEOPLE.map((email) => ({
      email,
      campaignId: id,
      messageId: ledger.get(email)?.messageId as string,
    }));
    const events = engagementEvents(recipients, Date.parse(campaign.startedAt as string));
    const handler = createHandler(stack.deps);
    for (let i = 0; i < events.length; i += 25) await handler(sqsBatch(events.slice(i, i + 25)));

    browser = await launchChromium();
    context = await browser.newContext({
      viewport: { width: 1366, height: 900 },
      timezoneId: 'Asia/Kolkata',
    });
    context.setDefaultTimeout(15_000);
    home = await context.newPage();
    home.on('pageerror', (error) => pageErrors.push(error.message));
    await home.goto(`${server.url}/#token=${server.token}`);
    await home.getByRole('heading', { name: 'Campaigns' }).waitFor();
  });

  afterEach(async (test) => {
    if (test.task.result?.state === 'fail' && current && !current.isClosed())
      await current.screenshot({
        path: `${SHOTS}/FAILED-analytics-${test.task.name.slice(0, 30)}.png`,
        fullPage: true,
      });
    if (current && !current.isClosed()) await current.close();
    current = undefined;
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await stack?.stop();
  });

  it('draws the chart, its data table, the funnel, the links and the bounces from exactly the stats the API returns', async () => {
    const { status, body: stats } = await call<CampaignStats>(`/v1/campaigns/${campaign.id}/stats`);
    expect(status).toBe(200);
    // The generated events reach both resolutions, so the chart has minute and hour buckets.
    expect(new Set(stats.series.points.map((p) => p.resolution))).toEqual(new Set(['minute', 'hour']));
    expect(stats.links.length).toBeGreaterThan(0);

    const page = await open(`#/campaigns/${encodeURIComponent(campaign.id)}`);
    const chart = page.getByTestId('events-chart');
    await chart.waitFor();
    await page.screenshot({ path: `${SHOTS}/20-campaign-analytics.png`, fullPage: true });

    const drawn = await chart.evaluate((svg) => {
      const centre = (el: Element) => {
        const b = (el as SVGGraphicsElement).getBBox();
        return { x: b.x + b.width / 2, y: b.y + b.height / 2 };
      };
      return {
        role: svg.getAttribute('role'),
        title: svg.querySelector('title')?.textContent ?? '',
        labelledBy: svg.getAttribute('aria-labelledby') ?? '',
        ticks: Array.from(svg.querySelectorAll('.y-axis text[data-value]')).map((t) => ({
          label: t.textContent,
          value: Number(t.getAttribute('data-value')),
          y: Number(t.getAttribute('y')),
        })),
        markers: Array.from(svg.querySelectorAll('g.series')).flatMap((g) =>
          Array.from(g.querySelectorAll('.marker')).map((m) => ({
            series: g.getAttribute('data-series'),
            start: m.getAttribute('data-start'),
            value: Number(m.getAttribute('data-value')),
            ...centre(m),
          })),
        ),
      };
    });
    expect(drawn.role).toBe('img');
    expect(drawn.title).toMatch(/Delivered, opened, clicked and bounced/);
    expect(drawn.labelledBy.split(' ')).toHaveLength(2);

    // What each line must show, per bucket the API returned.
    const expected = stats.series.points.flatMap((p) => [
      ['delivered', p.start, p.delivered],
      ['opened', p.start, p.opened],
      ['clicked', p.start, p.clicked],
      ['bounced', p.start, p.bouncedHard + p.bouncedSoft],
    ]);
    expect(drawn.markers.map((m) => [m.series, m.start, m.value]).sort()).toEqual(expected.sort());

    // The axis: labelled ticks from 0, the top one at or above the largest count, and each marker at the
    // height its count reads on that axis.
    const zero = drawn.ticks[0] as (typeof drawn.ticks)[number];
    const top = drawn.ticks[drawn.ticks.length - 1] as (typeof drawn.ticks)[number];
    expect(zero.value).toBe(0);
    for (const t of drawn.ticks) expect(num(t.label)).toBe(t.value);
    expect(top.value).toBeGreaterThanOrEqual(Math.max(...expected.map((e) => e[2] as number)));
    for (const m of drawn.markers) {
      const read = ((zero.y - m.y) / (zero.y - top.y)) * top.value;
      expect(Math.abs(read - m.value), `${m.series} ${m.start}`).toBeLessThan(
        (top.value / (zero.y - top.y)) * 1.01,
      );
    }
    // Later buckets to the right: minutes in time order, then hours in time order.
    for (const series of ['delivered', 'opened']) {
      const xs = drawn.markers.filter((m) => m.series === series);
      const minutes = xs.filter(
        (m) => stats.series.points.find((p) => p.start === m.start)?.resolution === 'minute',
      );
      const hours = xs.filter(
        (m) => stats.series.points.find((p) => p.start === m.start)?.resolution === 'hour',
      );
      for (const run of [minutes, hours]) {
        const byTime = [...run].sort((a, b) => Date.parse(a.start as string) - Date.parse(b.start as string));
        for (let i = 1; i < byTime.length; i++)
          expect((byTime[i] as { x: number }).x).toBeGreaterThan((byTime[i - 1] as { x: number }).x);
      }
      expect(Math.max(...minutes.map((m) => m.x))).toBeLessThan(Math.min(...hours.map((m) => m.x)));
    }

    // The data table fallback holds the same numbers.
    const rows = await page.getByTestId('series-table').evaluate((table) =>
      Array.from(table.querySelectorAll('tbody tr')).map((tr) => ({
        start: tr.getAttribute('data-start'),
        cells: Object.fromEntries(
          Array.from(tr.querySelectorAll('td[data-series]')).map((td) => [
            td.getAttribute('data-series'),
            td.textContent,
          ]),
        ),
      })),
    );
    expect(rows).toHaveLength(stats.series.points.length);
    for (const p of stats.series.points) {
      const row = rows.find((r) => r.start === p.start);
      expect(row, p.start).toBeDefined();
      const cells = row?.cells as Record<string, string>;
      expect(
        ['sent', 'delivered', 'opened', 'clicked', 'bounced', 'complained', 'unsubscribed'].map((k) =>
          num(cells[k] ?? null),
        ),
      ).toEqual([
        p.sent,
        p.delivered,
        p.opened,
        p.clicked,
        p.bouncedHard + p.bouncedSoft,
        p.complained,
        p.unsubscribed,
      ]);
    }

    // The funnel: recipients at each step and the API's rates, as percentages to a tenth.
    const funnel = page.getByTestId('funnel');
    const text = async (id: string) => funnel.getByTestId(id).textContent();
    expect(num(await text('funnel-sent'))).toBe(stats.sent);
    expect(num(await text('funnel-delivered'))).toBe(stats.counts.delivered);
    expect(num(await text('funnel-opened'))).toBe(stats.counts.opened.unique);
    expect(num(await text('funnel-clicked'))).toBe(stats.counts.clicked.unique);
    expect(num(await text('funnel-opened-total'))).toBe(stats.counts.opened.total);
    expect(num(((await text('funnel-clicked-total')) ?? '').split(' ')[0] ?? '')).toBe(
      stats.counts.clicked.total,
    );
    for (const [id, rate] of [
      ['funnel-delivered-rate', stats.rates.delivery],
      ['funnel-opened-rate', stats.rates.open],
      ['funnel-clicked-rate', stats.rates.click],
    ] as const) {
      const shown = Number.parseFloat(((await text(id)) ?? '').replace('%', ''));
      expect(Math.abs(shown - rate * 100), id).toBeLessThanOrEqual(0.0501);
    }
    const aside = async (id: string) =>
      num((await funnel.getByTestId(id).locator('dd').textContent())?.split(' ')[0] ?? '');
    expect(await aside('aside-bounced-hard')).toBe(stats.counts.bounced.hard);
    expect(await aside('aside-bounced-soft')).toBe(stats.counts.bounced.soft);
    expect(await aside('aside-complained')).toBe(stats.counts.complained);
    // The simulator's complaint@ and bounce@ did what SES documents.
    expect(stats.counts.complained).toBeGreaterThanOrEqual(1);
    expect(stats.counts.bounced.hard).toBeGreaterThanOrEqual(2);
    expect(await funnel.getByTestId('machine-opens').textContent()).toContain('does not mark');

    // Clicks per link, busiest first, as the API lists them.
    const links = await page
      .getByTestId('link-clicks')
      .locator('tbody tr')
      .evaluateAll((trs) =>
        trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent)),
      );
    expect(links.map(([url, unique, total]) => [url, num(unique ?? null), num(total ?? null)])).toEqual(
      stats.links.map((l) => [l.url, l.unique, l.total]),
    );

    // Bounces by type and sub-type; the hard rows add up to the hard bounce count.
    const bounces = await page
      .getByTestId('bounce-breakdown')
      .locator('tbody tr')
      .evaluateAll((trs) =>
        trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent)),
      );
    expect(
      bounces.map(([kind, type, sub, unique, total]) => [
        kind,
        type,
        sub,
        num(unique ?? null),
        num(total ?? null),
      ]),
    ).toEqual(
      stats.bounces.map((b) => [b.hard ? 'hard' : 'soft', b.type, b.subType || '–', b.unique, b.total]),
    );
    const hardRows = stats.bounces.filter((b) => b.hard).reduce((n, b) => n + b.unique, 0);
    expect(hardRows).toBe(stats.counts.bounced.hard);
    expect(stats.bounces.filter((b) => !b.hard).reduce((n, b) => n + b.unique, 0)).toBe(
      stats.counts.bounced.soft,
    );
    expect(stats.bounces.some((b) => b.type === 'Permanent' && b.subType === 'Suppressed')).toBe(true);
  });

  it('looks up a recipient: the timeline of a known address, a clear message for an unknown or malformed one', async () => {
    // The reader with the most events.
    const outcomes = await Promise.all(
      PEOPLE.map(
        async (email) =>
          (await call<RecipientOutcomeView>(`/v1/campaigns/${campaign.id}/recipients/${email}`)).body,
      ),
    );
    const known = outcomes.reduce((a, b) => (b.timeline.length > a.timeline.length ? b : a));
    expect(known.timeline.length).toBeGreaterThan(2);

    const page = await open(`#/campaigns/${encodeURIComponent(campaign.id)}`);
    const lookup = page.getByTestId('recipient-lookup');
    await lookup.getByLabel('Recipient address').fill(known.email.toUpperCase());
    await lookup.getByRole('button', { name: 'Look up' }).click();
    const timeline = lookup.getByTestId('recipient-timeline');
    await timeline.waitFor();
    const entries = await timeline
      .locator('li')
      .evaluateAll((lis) =>
        lis.map((li) => [li.getAttribute('data-type'), li.querySelector('time')?.getAttribute('datetime')]),
      );
    expect(entries).toEqual(known.timeline.map((e) => [e.type, e.at]));
    const summary = lookup.getByTestId('recipient-summary');
    expect(num((await summary.locator('[data-field="opens"]').textContent())?.split(',')[0] ?? '')).toBe(
      known.outcome.opens,
    );
    expect(num((await summary.locator('[data-field="clicks"]').textContent())?.split(',')[0] ?? '')).toBe(
      known.outcome.clicks,
    );
    expect(await summary.locator('[data-field="links"] li').allTextContents()).toEqual(
      known.outcome.linksClicked,
    );
    expect(await summary.locator('[data-field="send"]').textContent()).toContain(
      known.send?.messageId as string,
    );
    await page.screenshot({ path: `${SHOTS}/21-recipient-lookup.png`, fullPage: true });

    // A hard-bounced simulator address shows its bounce.
    await lookup.getByLabel('Recipient address').fill('bounce@simulator.amazonses.com');
    await lookup.getByRole('button', { name: 'Look up' }).click();
    await expect
      .poll(() => lookup.locator('[data-field="bounce"]').textContent())
      .toMatch(/^hard: Permanent\/General/);

    await lookup.getByLabel('Recipient address').fill('nobody@example.com');
    await lookup.getByRole('button', { name: 'Look up' }).click();
    await expect
      .poll(() => lookup.getByRole('alert').textContent())
      .toBe(
        'nobody@example.com is not a recipient of this campaign: nothing was sent to that address and no event names it.',
      );

    const refused = await call<{ error: { message: string } }>(
      `/v1/campaigns/${campaign.id}/recipients/not-an-address`,
    );
    expect(refused.status).toBe(400);
    await lookup.getByLabel('Recipient address').fill('not-an-address');
    await lookup.getByRole('button', { name: 'Look up' }).click();
    await expect.poll(() => lookup.getByRole('alert').textContent()).toBe(refused.body.error.message);
  });

  it('refreshes the stats while the campaign sends, and stops when the page is left', async () => {
    const statsCalls: string[] = [];
    const listCalls: number[] = [];
    const id = await startCampaign(
      'Live',
      Array.from({ length: 40 }, (_, i) => `live${i}@example.com`),
      2,
    );
    const page = await open(`#/campaigns/${encodeURIComponent(id)}`);
    page.on('request', (request) => {
      const path = new URL(request.url()).pathname;
      if (path === `/v1/campaigns/${id}/stats`) statsCalls.push(path);
      if (path === '/v1/campaigns') listCalls.push(Date.now());
    });
    const delivered = page.getByTestId('funnel-delivered');
    const seen = new Set<number>();
    // The delivered count climbs on the page without a reload.
    await expect
      .poll(
        async () => {
          if (await delivered.count()) seen.add(num(await delivered.textContent()));
          return [...seen].filter((n) => n > 0).length;
        },
        { timeout: 60_000 },
      )
      .toBeGreaterThanOrEqual(2);
    expect((await stack.deps.campaigns.get(id)).status).toBe('sending');
    const shown = Math.max(...seen);
    const api = await call<CampaignStats>(`/v1/campaigns/${id}/stats`);
    expect(shown).toBeLessThanOrEqual(api.body.counts.delivered);

    // Leave for the campaigns list, which polls every 2 s while a campaign is sending: after three of its
    // polls (longer than the stats' refresh interval) the left page has asked for no stats.
    await page.getByRole('link', { name: 'Campaigns', exact: true }).click();
    await page.getByRole('heading', { name: 'Campaigns' }).waitFor();
    const before = statsCalls.length;
    const listBefore = listCalls.length;
    await expect.poll(() => listCalls.length, { timeout: 30_000 }).toBeGreaterThanOrEqual(listBefore + 3);
    expect(statsCalls.length).toBe(before);
    await stack.campaignDeps.orchestrator.stop(
      (await stack.deps.campaigns.get(id)).executionArn as string,
      'test over',
    );
  });

  it('raised no script errors', () => {
    expect(pageErrors).toEqual([]);
  });
});
