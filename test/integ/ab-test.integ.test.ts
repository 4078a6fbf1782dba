/**
 * A/B tests end to end on the local stack, through the real ASL: the sample goes out by variant, opens and
 * clicks arrive through the SES events handler (SQS batches, as on AWS) at different rates per variant,
 * PickWinner decides, and the remainder goes out with the winner. The PickWinner step's clock is moved forward
 * to the decision time instead of waiting for it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportVariant } from '../../core/abtest/assign.ts';
import { cancelCampaign, createCampaign } from '../../core/campaigns/service.ts';
import type { CampaignRecord } from '../../core/campaigns/store.ts';
import { buildSesEvent } from '../../core/compliance/events.ts';
import { getCampaignStats } from '../../core/compliance/stats.ts';
import { pickVariant } from '../../core/workflow/ab-test.ts';
import { createHandler as sesEvents } from '../../handlers/ses-events.ts';
import { type LocalStack, startLocalStack } from '../../local/stack.ts';
import { waitFor } from '../support/guarantees.ts';
import {
  clearInbox,
  type InboxEmail,
  inbox,
  parseReport,
  readObject,
  saveTemplate,
  startTestStack,
  uploadCsv,
} from '../support/local-stack.ts';
import { seeded } from '../support/seeded.ts';

const FROM = 'news@sixback.example';
const ROWS = 600;
const csv = () => {
  const lines = ['email,first_name'];
  for (let i = 1; i <= ROWS; i++) lines.push(`ab${i}@example.com,Name ${i}`);
  return `${lines.join('\n')}\n`;
};

let offsetMs = 0;
const clock = () => new Date(Date.now() + offsetMs);

async function injectEvents(stack: LocalStack, campaignId: string, type: 'open' | 'click', emails: string[]) {
  const handler = sesEvents(stack.deps);
  for (let i = 0; i < emails.length; i += 100) {
    const Records = emails.slice(i, i + 100).map((email) => ({
      eventSource: 'aws:sqs',
      body: JSON.stringify(buildSesEvent({ type, email, campaignId })),
    }));
    await handler({ Records });
  }
}

const untilPhase = (stack: LocalStack, id: string, phases: string[]) =>
  waitFor(`the test ${phases.join(' or ')}`, async () => {
    const c = await stack.deps.campaigns.get(id);
    return c.abTest && phases.includes(c.abTest.phase) ? c : undefined;
  });

/** Each recipient's emails, by the subject that names the variant ("A: Hello ..."). */
function byRecipient(emails: InboxEmail[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const email of emails) {
    const to = (email.destination.to[0] ?? '').toLowerCase();
    out.set(to, [...(out.get(to) ?? []), email.subject.slice(0, 1)]);
  }
  return out;
}

describe('A/B tests on the local stack', () => {
  let stack: LocalStack;
  let recipientsKey: string;

  beforeAll(async () => {
    stack = await startTestStack({ abTestClock: clock, waitTimeOverrides: { WaitForDecision: 20 } });
    await saveTemplate(stack, 'promo', {
      subject: 'Base {{ first_name }}',
      html: '<p>Hi {{ first_name }} <a href="https://example.com/sale">sale</a></p>',
    });
    await saveTemplate(stack, 'promo-c', {
      subject: 'C: Other body {{ first_name }}',
      html: '<p>Another body for {{ first_name }}</p>',
    });
    recipientsKey = await uploadCsv(stack, 'ab.csv', csv());
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
  });

  const request = (abTest: Record<string, unknown>) => ({
    templateId: 'promo',
    recipientsKey,
    from: FROM,
    transactional: true,
    tracking: { opens: true, clicks: true },
    rate: 500,
    abTest: {
      variants: [{ subject: 'A: Hello {{ first_name }}' }, { subject: 'B: Sale for {{ first_name }}' }],
      sample: 0.4,
      metric: 'clicks',
      decideAfter: '4h',
      ...abTest,
    },
  });

  async function finished(id: string): Promise<CampaignRecord> {
    const created = await stack.deps.campaigns.get(id);
    await stack.engine.wait(created.executionArn as string);
    return stack.deps.campaigns.get(id);
  }

  /** Every row mailed exactly once, with the variant its report line names. */
  async function expectEachOnceWithReportedVariant(campaign: CampaignRecord) {
    const mails = byRecipient(await inbox(stack));
    const rows = parseReport(await readObject(stack, campaign.reportKey as string));
    expect(rows).toHaveLength(ROWS);
    for (const row of rows) {
      expect(row.state).toBe('sent');
      expect(mails.get(row.email as string), row.email).toEqual([row.variant]);
      expect(row.variant).toBe(reportVariant(campaign, row.email as string, 'sent'));
    }
    expect([...mails.keys()]).toHaveLength(ROWS);
    return rows;
  }

  it('picks the variant with the higher click rate and sends it to the rest', {
    timeout: 120_000,
  }, async () => {
    offsetMs = 0;
    await clearInbox(stack);
    const created = await createCampaign(request({}), stack.campaignDeps);
    const waiting = await untilPhase(stack, created.id, ['waiting']);
    expect(waiting.status).toBe('sending');
    const sent = waiting.abTest?.sent ?? {};
    expect((sent.A ?? 0) + (sent.B ?? 0)).toBe(
      (waiting.abTest?.assigned?.A ?? 0) + (waiting.abTest?.assigned?.B ?? 0),
    );
    // Roughly 40% of the rows, split evenly: the hash spreads addresses uniformly.
    expect(sent.A).toBeGreaterThan(ROWS * 0.2 * 0.6);
    expect(sent.B).toBeGreaterThan(ROWS * 0.2 * 0.6);

    // The sample's mail is in the inbox; clicks at 8% for A and 35% for B, opens at 50% for both.
    const mails = await inbox(stack);
    expect(mails.length).toBe((sent.A ?? 0) + (sent.B ?? 0));
    const random = seeded(16);
    const clicks: string[] = [];
    const opens: string[] = [];
    for (const mail of mails) {
      const to = mail.destination.to[0] as string;
      if (random.chance(mail.subject.startsWith('A') ? 0.08 : 0.35)) clicks.push(to);
      if (random.chance(0.5)) opens.push(to);
    }
    await injectEvents(stack, created.id, 'click', clicks);
    // Redelivered (SQS is at least once): unique counts do not move.
    await injectEvents(stack, created.id, 'click', clicks);
    await injectEvents(stack, created.id, 'open', opens);

    offsetMs = 4 * 3600_000 + 1000;
    const done = await finished(created.id);
    expect(done.status).toBe('completed');
    expect(done.abTest?.decision).toMatchObject({ variant: 'B', by: 'test' });
    const result = done.abTest?.result;
    const rateOf = (v: string) => result?.variants.find((x) => x.variant === v);
    expect((rateOf('A')?.successes ?? 0) + (rateOf('B')?.successes ?? 0)).toBe(new Set(clicks).size);
    expect(rateOf('B')?.rate).toBeGreaterThan(rateOf('A')?.rate ?? 1);
    expect(result?.comparisons[0]?.pValue).toBeLessThan(0.05);
    // One source of truth: each variant's successes are its sample recipients whose outcome (the
    // analytics store the report and stats read) has a click, and together the stats' unique clicks.
    const outcomes = await stack.deps.analytics.recipients(
      created.id,
      mails.map((m) => (m.destination.to[0] as string).toLowerCase()),
    );
    for (const v of ['A', 'B']) {
      const clickers = [...outcomes.values()].filter(
        (o) => (o.clicks ?? 0) > 0 && reportVariant(done, o.email, 'sent') === v,
      );
      expect(rateOf(v)?.successes, v).toBe(clickers.length);
    }
    const stats = await getCampaignStats(created.id, stack.deps);
    expect((rateOf('A')?.successes ?? 0) + (rateOf('B')?.successes ?? 0)).toBe(stats.counts.clicked.unique);
    const rows = await expectEachOnceWithReportedVariant(done);
    // The remainder (60% of the rows) all got B.
    expect(rows.filter((r) => r.variant === 'B').length).toBeGreaterThan(ROWS * 0.6);
  });

  it('applies the fallback (variant A) when the variants tie', { timeout: 120_000 }, async () => {
    offsetMs = 0;
    await clearInbox(stack);
    const created = await createCampaign(
      request({ variants: [{ subject: 'A: one' }, { subject: 'B: two' }, { templateId: 'promo-c' }] }),
      stack.campaignDeps,
    );
    const waiting = await untilPhase(stack, created.id, ['waiting']);
    // The same number of clickers in each variant: a tie whatever the exact sample sizes are close to.
    const perVariant = new Map<string, string[]>();
    for (const mail of await inbox(stack)) {
      const v = mail.subject.slice(0, 1);
      perVariant.set(v, [...(perVariant.get(v) ?? []), mail.destination.to[0] as string]);
    }
    expect([...perVariant.keys()].sort()).toEqual(['A', 'B', 'C']);
    const sent = waiting.abTest?.sent ?? {};
    const smallest = Math.min(...Object.values(sent));
    for (const [v, list] of perVariant) {
      // Equal rates: clickers in proportion to each variant's sends (20% of each).
      await injectEvents(stack, created.id, 'click', list.slice(0, Math.round((sent[v] ?? 0) * 0.2)));
    }
    expect(smallest).toBeGreaterThan(20);
    offsetMs = 4 * 3600_000 + 1000;
    const done = await finished(created.id);
    expect(done.status).toBe('completed');
    expect(done.abTest?.result?.winner).toBeUndefined();
    expect(done.abTest?.decision).toMatchObject({ variant: 'A', by: 'fallback' });
    await expectEachOnceWithReportedVariant(done);
  });

  it('a manual pick ends the wait early', { timeout: 120_000 }, async () => {
    offsetMs = 0;
    await clearInbox(stack);
    const created = await createCampaign(request({ decideAfter: '30d' }), stack.campaignDeps);
    await untilPhase(stack, created.id, ['waiting']);
    await expect(pickVariant(created.id, { variant: 'F' }, stack.deps)).rejects.toThrow(/variant/);
    await pickVariant(created.id, { variant: 'B' }, stack.deps);
    await expect(pickVariant(created.id, { variant: 'A' }, stack.deps)).rejects.toThrow(/decided already/);
    const done = await finished(created.id);
    expect(done.status).toBe('completed');
    expect(done.abTest?.decision).toMatchObject({ variant: 'B', by: 'manual' });
    await expectEachOnceWithReportedVariant(done);
  });

  it('holds for a manual pick when the fallback says so', { timeout: 120_000 }, async () => {
    offsetMs = 0;
    await clearInbox(stack);
    const created = await createCampaign(request({ fallback: 'hold' }), stack.campaignDeps);
    await untilPhase(stack, created.id, ['waiting']);
    offsetMs = 4 * 3600_000 + 1000;
    const held = await untilPhase(stack, created.id, ['held']);
    expect(held.abTest?.result?.winner).toBeUndefined();
    expect(held.status).toBe('sending');
    await pickVariant(created.id, { variant: 'A' }, stack.deps);
    const done = await finished(created.id);
    expect(done.abTest?.decision).toMatchObject({ variant: 'A', by: 'manual' });
    await expectEachOnceWithReportedVariant(done);
  });

  it('cancel during the wait, then resume: the sample is not sent again', { timeout: 120_000 }, async () => {
    offsetMs = 0;
    await clearInbox(stack);
    const created = await createCampaign(request({}), stack.campaignDeps);
    const waiting = await untilPhase(stack, created.id, ['waiting']);
    const sampleMails = (await inbox(stack)).length;
    const cancelled = await cancelCampaign(created.id, stack.campaignDeps);
    expect(cancelled.status).toBe('cancelled');
    const { resumeCampaign } = await import('../../core/campaigns/runs.ts');
    await resumeCampaign(created.id, stack.campaignDeps);
    const again = await waitFor('the resumed run waiting', async () => {
      const c = await stack.deps.campaigns.get(created.id);
      return c.abTest?.sentRun === 2 ? c : undefined;
    });
    expect(again.abTest?.phase).toBe('waiting');
    expect(again.status).toBe('sending');
    // Same phase, same decision time: the resumed run did not restart the wait.
    expect(again.abTest?.decisionDue).toBe(waiting.abTest?.decisionDue);
    expect(again.abTest?.sent).toEqual(waiting.abTest?.sent);
    expect((await inbox(stack)).length).toBe(sampleMails);
    offsetMs = 4 * 3600_000 + 1000;
    const done = await finished(created.id);
    expect(done.status).toBe('completed');
    expect(done.abTest?.decision?.by).toBe('fallback');
    await expectEachOnceWithReportedVariant(done);
  });

  it('refuses bad test specs with clear 400s', async () => {
    const bad = [
      [{ variants: [{ subject: 'only one' }] }, /2 to 5 variants/],
      [{ sample: 1.5 }, /sample/],
      [{ decideAfter: 'soon' }, /duration/],
      [{ decideAt: new Date(Date.now() + 3600_000).toISOString() }, /exactly one of decideAt/],
      [{ metric: 'revenue' }, /metric/],
      [{ variants: [{ subject: 'A' }, {}] }, /subject, a templateId, or both/],
      [{ variants: [{ subject: 'A' }, { subject: '{{ missing_column }}' }] }, /missing_column/],
    ] as const;
    const untracked = { ...request({}), tracking: { clicks: false } };
    await expect(createCampaign(untracked, stack.campaignDeps)).rejects.toThrow(/click tracking is off/);
    for (const [spec, message] of bad) {
      await expect(createCampaign(request(spec), stack.campaignDeps)).rejects.toThrow(message);
    }
  });
});

describe('an A/B test across an engine restart', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'sixback-ab-restart-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('picks up in the wait, keeps its decision time and sends each recipient once', {
    timeout: 180_000,
  }, async () => {
    offsetMs = 0;
    const options = { dataDir, abTestClock: clock, waitTimeOverrides: { WaitForDecision: 20 } };
    const first = await startLocalStack(options);
    let id: string;
    let before: CampaignRecord;
    let firstMails: InboxEmail[];
    try {
      await clearInbox(first);
      await saveTemplate(first, 'promo', { subject: 'Base', html: '<p>Hi {{ first_name }}</p>' });
      const recipientsKey = await uploadCsv(first, 'ab.csv', csv());
      const created = await createCampaign(
        {
          templateId: 'promo',
          recipientsKey,
          from: FROM,
          transactional: true,
          tracking: { opens: true },
          rate: 500,
          abTest: {
            variants: [{ subject: 'A: one' }, { subject: 'B: two' }],
            sample: 0.3,
            metric: 'opens',
            decideAfter: '2h',
          },
        },
        first.campaignDeps,
      );
      id = created.id;
      before = await untilPhase(first, id, ['waiting']);
      firstMails = await inbox(first);
      // B opened far more often than A.
      const opened = firstMails
        .filter((m) => m.subject.startsWith('B'))
        .map((m) => m.destination.to[0] as string);
      await injectEvents(first, id, 'open', opened.slice(0, Math.round(opened.length * 0.5)));
      await injectEvents(
        first,
        id,
        'open',
        firstMails
          .filter((m) => m.subject.startsWith('A'))
          .slice(0, 5)
          .map((m) => m.destination.to[0] as string),
      );
    } finally {
      // The engine goes down in the middle of the wait.
      await first.stop();
    }
    const second = await startLocalStack(options);
    try {
      expect(second.restarted.map((c) => c.id)).toEqual([id]);
      const resumed = await waitFor('the second run waiting', async () => {
        const c = await second.deps.campaigns.get(id);
        return c.abTest?.sentRun === 2 ? c : undefined;
      });
      expect(resumed.abTest?.phase).toBe('waiting');
      expect(resumed.abTest?.decisionDue).toBe(before.abTest?.decisionDue);
      expect(resumed.abTest?.sent).toEqual(before.abTest?.sent);
      // The inbox still holds the sample's mail, and the new run added nothing to it (the sample was not
      // sent again).
      expect(await inbox(second)).toHaveLength(firstMails.length);
      offsetMs = 2 * 3600_000 + 1000;
      const created = await second.deps.campaigns.get(id);
      await second.engine.wait(created.executionArn as string);
      const done = await second.deps.campaigns.get(id);
      expect(done.status).toBe('completed');
      expect(done.abTest?.decision, JSON.stringify(done.abTest?.result)).toMatchObject({
        variant: 'B',
        by: 'test',
      });
      const all = byRecipient(await inbox(second));
      const rows = parseReport(await readObject(second, done.reportKey as string));
      expect(rows).toHaveLength(ROWS);
      for (const row of rows) expect(all.get(row.email as string), row.email).toEqual([row.variant]);
      expect(all.size).toBe(ROWS);
    } finally {
      await second.stop();
    }
  });
});
