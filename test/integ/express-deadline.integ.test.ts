/**
 * Issue 14, item 3: an EXPRESS child has its whole life (300 s on AWS, retries included), so a batch's
 * later attempts must plan from what is left of it, not from their own start. On the local engine, with
 * the child's life shrunk to 8 s and an SES that answers slowly (as a throttled send rate does): the batch's attempts stop before the
 * child would time out and the child fails with the sender's own error; with the start time not passed
 * in (the old shape of the ASL), the child times out (States.Timeout) while its Lambda is still sending.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import { SAMPLE_TEMPLATE, sampleRecipientsCsv } from '../../cli/sample.ts';
import { keys } from '../../core/config.ts';
import type { EmailSender, OutgoingEmail } from '../../core/sending/email-sender.ts';
import { ASL_PATH } from '../../local/asl.ts';
import type { LocalStack } from '../../local/stack.ts';
import { runCampaign, saveTemplate, startTestStack, uploadCsv } from '../support/local-stack.ts';
import { waitUntil } from '../support/wait.ts';

// Shrunk from 300 s, with the sender's budget in proportion (attempt 60%, reserve 10%): large enough
// that the reserve (0.8 s) covers an attempt's tail on a loaded machine.
const CHILD_MS = 8000;
const SES_LATENCY_MS = 100;

/** Accepts every email, slowly, and records when each send started. */
class SlowSes implements EmailSender {
  readonly startedAt: number[] = [];
  async send(_email: OutgoingEmail) {
    this.startedAt.push(Date.now());
    await new Promise((resolve) => setTimeout(resolve, SES_LATENCY_MS));
    return { messageId: `m-${this.startedAt.length}` };
  }
}

interface ChildResult {
  Status: string;
  Error?: string;
  StartDate: string;
  StopDate: string;
}

async function failedChildren(stack: LocalStack, campaignId: string): Promise<ChildResult[]> {
  const s3 = stack.deps.clients.s3;
  const listed = await s3.send(
    new ListObjectsV2Command({ Bucket: stack.config.bucket, Prefix: keys.results(campaignId) }),
  );
  const results: ChildResult[] = [];
  for (const object of listed.Contents ?? []) {
    if (!/FAILED_\d+\.json$/.test(object.Key ?? '')) continue;
    const body = await s3.send(new GetObjectCommand({ Bucket: stack.config.bucket, Key: object.Key }));
    const text = (await body.Body?.transformToString('utf8')) ?? '';
    for (const line of text.split('\n')) if (line.trim()) results.push(JSON.parse(line) as ChildResult);
  }
  return results;
}

async function throttledCampaign(aslPath?: string) {
  const ses = new SlowSes();
  const stack = await startTestStack({
    emails: ses,
    maxInFlight: 1,
    limits: { expressExecutionMs: CHILD_MS },
    ...(aslPath ? { aslPath } : {}),
  });
  await saveTemplate(stack, 'welcome', SAMPLE_TEMPLATE);
  const recipientsKey = await uploadCsv(stack, 'slow.csv', sampleRecipientsCsv(120));
  // One worker at 100/s gets all 120 rows in one batch; at 100 ms a send it needs 12 s, the child has 8.
  const { campaign } = await runCampaign(stack, {
    templateId: 'welcome',
    recipientsKey,
    from: 'news@sixback.example',
    data: { company: 'sixback', sender_name: 'The team' },
    rate: 100,
  });
  return { stack, ses, campaign, children: await failedChildren(stack, campaign.id) };
}

describe('a batch that SES keeps slow past its EXPRESS child', () => {
  let stack: LocalStack | undefined;
  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
  });

  it('plans every attempt from the child start: no send after the child would end, the sender names the failure', async () => {
    const run = await throttledCampaign();
    stack = run.stack;
    expect(run.children).toHaveLength(1);
    const [child] = run.children as [ChildResult];
    expect(child.Error).toBe('BatchOutOfTimeError');
    const childEnd = Date.parse(child.StartDate) + CHILD_MS;
    expect(run.ses.startedAt.length).toBeGreaterThan(0);
    // A retry did send (sends span more than one attempt's cap of 60% of the child), and all in time.
    const sends = run.ses.startedAt;
    expect(Math.max(...sends) - Math.min(...sends)).toBeGreaterThan(0.6 * CHILD_MS);
    expect(Math.max(...sends)).toBeLessThan(childEnd);
    expect(Date.parse(child.StopDate)).toBeLessThan(childEnd);
    expect(run.campaign.status).toBe('failed');
    // Rows sent before the deadline are reported as sent; the rest as failed (resendable), none lost.
    expect(run.campaign.totals?.sent).toBe(run.ses.startedAt.length);
    expect((run.campaign.totals?.sent ?? 0) + (run.campaign.totals?.failed ?? 0)).toBe(120);
  });

  it('without the child start time, the child times out with its Lambda still sending (what AWS would do)', async () => {
    const asl = JSON.parse(readFileSync(ASL_PATH, 'utf8'));
    delete asl.States.SendBatches.ItemProcessor.States.SendBatch.Parameters;
    const aslPath = join(tmpdir(), `sixback-no-start-time-${process.pid}.asl.json`);
    writeFileSync(aslPath, JSON.stringify(asl));
    const run = await throttledCampaign(aslPath);
    stack = run.stack;
    const [child] = run.children as [ChildResult];
    expect(child.Error).toBe('States.Timeout');
    const childEnd = Date.parse(child.StartDate) + CHILD_MS;
    // The campaign can finish (its Finalise is quick) before the still-running Lambda's next send starts:
    // wait for that send rather than reading the sends at the moment the campaign ended.
    const last = await waitUntil(
      'a send started after the child timed out',
      () => Math.max(...run.ses.startedAt),
      (latest) => latest > childEnd,
      5_000,
    );
    expect(last).toBeGreaterThan(childEnd);
  });
});
