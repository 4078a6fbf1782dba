/**
 * A campaign end to end on the embedded local stack: the real ASL file on the local engine, the real
 * handlers, local S3, DynamoDB and SES. Each test asserts on what landed in the SES inbox.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_TEMPLATE, sampleRecipientsCsv } from '../../cli/sample.ts';
import { createCampaign } from '../../core/campaigns/service.ts';
import { MissingVariablesError, RecipientsFileError } from '../../core/errors.ts';
import { type EmailSender, type OutgoingEmail, SesEmailSender } from '../../core/sending/email-sender.ts';
import { startSes } from '../../local/services.ts';
import type { LocalStack } from '../../local/stack.ts';
import { allSent } from '../support/guarantees.ts';
import {
  clearInbox,
  inbox,
  parseReport,
  readObject,
  runCampaign,
  saveTemplate,
  startTestStack,
  uploadCsv,
} from '../support/local-stack.ts';
import { waitUntil } from '../support/wait.ts';

const FROM = 'news@sixback.example';
const DATA = { company: 'sixback', sender_name: 'The team' };

/** The sample welcome campaign to `count` sample recipients, run to its end at 1,000/s. */
async function sendWelcome(stack: LocalStack, file: string, count: number) {
  const recipientsKey = await uploadCsv(stack, file, sampleRecipientsCsv(count));
  return runCampaign(stack, { templateId: 'welcome', recipientsKey, from: FROM, data: DATA, rate: 1000 });
}

describe('a campaign on the local stack', () => {
  let stack: LocalStack;

  beforeAll(async () => {
    stack = await startTestStack();
    await saveTemplate(stack, 'welcome', SAMPLE_TEMPLATE);
  });
  afterAll(() => stack?.stop());

  it('sends 1,000 personalised emails, each to its recipient, and reports every row', async () => {
    await clearInbox(stack);
    const { campaign, execution } = await sendWelcome(stack, 'thousand.csv', 1000);

    expect(execution.status).toBe('SUCCEEDED');
    expect(campaign.status).toBe('completed');
    expect(campaign.totals).toEqual(allSent(1000));

    const emails = await inbox(stack);
    expect(emails).toHaveLength(1000);
    const byRecipient = new Map(emails.map((email) => [email.destination.to[0], email]));
    expect(byRecipient.size).toBe(1000);
    // The sample CSV row i is user{i}@example.com with first_name "<First> i", a city and a plan.
    for (const i of [1, 2, 500, 999, 1000]) {
      const email = byRecipient.get(`user${i}@example.com`);
      expect(email, `user${i}`).toBeDefined();
      expect(email?.from).toBe(FROM);
      expect(email?.subject).toMatch(new RegExp(`^Welcome to sixback, \\w+ ${i}$`));
      expect(email?.body.html).toContain(` ${i}!</h1>`);
      expect(email?.body.text).toMatch(new RegExp(`^Welcome, \\w+ ${i}!`));
    }
    const pro = byRecipient.get('user1@example.com');
    expect(pro?.body.html).toContain('Your pro features are ready.');
    expect(byRecipient.get('user2@example.com')?.body.html).not.toContain('Your pro features are ready.');

    const report = parseReport(await readObject(stack, campaign.reportKey as string));
    expect(report).toHaveLength(1000);
    expect(new Set(report.map((r) => r.email)).size).toBe(1000);
    const messageIds = new Set(emails.map((e) => e.messageId));
    for (const row of report) {
      expect(row.state).toBe('sent');
      expect(messageIds.has(row.message_id as string)).toBe(true);
    }
  });

  it('refuses a campaign whose template uses a variable nobody provides, before anything starts', async () => {
    await clearInbox(stack);
    await saveTemplate(stack, 'needs-coupon', {
      subject: 'Hi {{ first_name }}',
      html: '<p>Your code: {{ coupon_code }} {{ expiry }}</p>',
    });
    const recipientsKey = await uploadCsv(stack, 'no-coupon.csv', 'email,first_name\na@example.com,A\n');
    const error = await createCampaign(
      { templateId: 'needs-coupon', recipientsKey, from: FROM },
      stack.campaignDeps,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MissingVariablesError);
    expect((error as Error).message).toContain('"coupon_code", "expiry"');
    expect(
      (await stack.deps.campaigns.list(50)).items.filter((c) => c.spec.templateId === 'needs-coupon'),
    ).toEqual([]);
    expect(stack.engine.list().filter((e) => e.status === 'RUNNING')).toEqual([]);
    expect(await inbox(stack)).toEqual([]);
  });

  it('refuses a campaign whose recipients file has no sendable row when it is created, and sends nothing', async () => {
    await clearInbox(stack);
    // The header is fine; the full check creation runs (the one Prepare runs) finds every row unusable.
    const recipientsKey = await uploadCsv(
      stack,
      'all-bad.csv',
      'email,first_name,city,plan\nnot-an-address,A,B,C\n',
    );
    const before = (await stack.deps.campaigns.list(100)).items.length;
    const error = await createCampaign(
      { templateId: 'welcome', recipientsKey, from: FROM, data: DATA },
      stack.campaignDeps,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RecipientsFileError);
    expect((error as Error).message).toMatch(/None of the 1 rows can be sent to \(1 invalid/);
    expect((await stack.deps.campaigns.list(100)).items.length).toBe(before);
    expect(await inbox(stack)).toEqual([]);
  });

  it('holds a scheduled campaign until its time, then sends', async () => {
    await clearInbox(stack);
    const recipientsKey = await uploadCsv(stack, 'scheduled.csv', sampleRecipientsCsv(5));
    // Far enough ahead that a loaded machine still prepares it before its time.
    const sendAt = new Date(Date.now() + 6000);
    const created = await createCampaign(
      { templateId: 'welcome', recipientsKey, from: FROM, data: DATA, sendAt: sendAt.toISOString() },
      stack.campaignDeps,
    );
    // Checked and waiting: scheduled, nothing sent yet.
    const record = await waitUntil(
      'the campaign scheduled',
      () => stack.deps.campaigns.get(created.id),
      (r) => r.status !== 'pending',
      // Only until its send time: past it the campaign is sending, not scheduled.
      Math.max(0, sendAt.getTime() - Date.now() - 250),
    );
    expect(record.status).toBe('scheduled');
    expect(record.sendAt).toBe(sendAt.toISOString());
    expect(await inbox(stack)).toEqual([]);

    const execution = await stack.engine.wait(created.executionArn as string);
    expect(execution.status).toBe('SUCCEEDED');
    const done = await stack.deps.campaigns.get(created.id);
    expect(done.status).toBe('completed');
    expect(Date.parse(done.startedAt as string)).toBeGreaterThanOrEqual(sendAt.getTime());
    expect(done.startedLateBySeconds).toBeUndefined();
    const emails = await inbox(stack);
    expect(emails).toHaveLength(5);
    expect(Math.min(...emails.map((e) => (e as unknown as { at: number }).at * 1000))).toBeGreaterThanOrEqual(
      Math.floor(sendAt.getTime() / 1000) * 1000,
    );
  });
});

/** Fails the first `failures` sends with a 5xx, then passes everything through to the real local SES. */
class FlakySes implements EmailSender {
  attempts = 0;
  constructor(
    private readonly inner: EmailSender,
    private failures: number,
  ) {}
  async send(email: OutgoingEmail) {
    this.attempts++;
    if (this.failures > 0) {
      this.failures--;
      throw Object.assign(new Error('We encountered an internal error.'), {
        name: 'InternalFailure',
        $metadata: { httpStatusCode: 500 },
      });
    }
    return this.inner.send(email);
  }
}

describe('a campaign whose batches hit transient SES errors', () => {
  let stack: LocalStack;
  let ses: Awaited<ReturnType<typeof startSes>>;
  let flaky: FlakySes;

  beforeAll(async () => {
    ses = await startSes({ directory: join(mkdtempSync(join(tmpdir(), 'sixback-ses-')), 'ses') });
    const client = new SESv2Client({
      region: 'us-east-1',
      endpoint: ses.url,
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    // Enough consecutive failures to outlast the sender's own 4 attempts, so the state machine retries the batch.
    flaky = new FlakySes(new SesEmailSender(client), 10);
    stack = await startTestStack({ emails: flaky, maxInFlight: 1 });
    stack.urls.ses = ses.url;
    await saveTemplate(stack, 'welcome', SAMPLE_TEMPLATE);
  });
  afterAll(async () => {
    await stack?.stop();
    await ses?.close();
  });

  it('retries the batch through the state machine and delivers every email exactly once', async () => {
    await clearInbox(stack);
    const { campaign, execution } = await sendWelcome(stack, 'flaky.csv', 200);
    expect(execution.status).toBe('SUCCEEDED');
    expect(campaign.totals).toEqual(allSent(200));
    expect(flaky.attempts).toBe(210);
    const emails = await inbox(stack);
    const recipients = emails.map((e) => e.destination.to[0]);
    expect(recipients).toHaveLength(200);
    expect(new Set(recipients).size).toBe(200);
  });
});

/** Records what the sender hands to SES, without sending. */
class RecordingSes implements EmailSender {
  readonly sent: OutgoingEmail[] = [];
  async send(email: OutgoingEmail) {
    this.sent.push(email);
    return { messageId: `m-${this.sent.length}` };
  }
}

describe('a stack with an SES configuration set', () => {
  let stack: LocalStack;
  const recorder = new RecordingSes();

  beforeAll(async () => {
    stack = await startTestStack({ emails: recorder, configurationSet: 'sixback-events' });
    await saveTemplate(stack, 'welcome', SAMPLE_TEMPLATE);
  });
  afterAll(() => stack?.stop());

  it('names it on every email, through the state machine BatchInput, so SES publishes their events', async () => {
    const { campaign } = await sendWelcome(stack, 'events.csv', 30);
    expect(campaign.status).toBe('completed');
    expect(recorder.sent).toHaveLength(30);
    expect(new Set(recorder.sent.map((email) => email.configurationSet))).toEqual(
      new Set(['sixback-events']),
    );
    expect(
      recorder.sent.every((email) =>
        email.tags?.some((tag) => tag.name === 'campaign' && tag.value === campaign.id),
      ),
    ).toBe(true);
  });
});
