/**
 * The operational logs of a whole campaign on the local stack, read from the stack's log sink: the same
 * logger the handlers and the engine get from createAppDeps, so these are the lines `sixback dev` prints
 * (as JSON here, to be read back). One line per step and per batch, the counts adding up, and not one
 * recipient's address anywhere, even where a row's own problem quotes it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_TEMPLATE, sampleRecipientsCsv } from '../../cli/sample.ts';
import { recipientHash } from '../../core/logging.ts';
import type { LocalStack } from '../../local/stack.ts';
import { runCampaign, saveTemplate, startTestStack, uploadCsv } from '../support/local-stack.ts';

type Line = Record<string, unknown>;

describe('logs of a campaign on the local stack', () => {
  let stack: LocalStack;
  const raw: string[] = [];
  const lines = () => raw.map((line) => JSON.parse(line) as Line);

  beforeAll(async () => {
    stack = await startTestStack({
      logLevel: 'INFO',
      logFormat: 'json',
      logSink: (line) => raw.push(line),
    });
    await saveTemplate(stack, 'welcome', SAMPLE_TEMPLATE);
  });
  afterAll(() => stack?.stop());

  it('a line per step and per batch, with counts that add up and addresses hashed', async () => {
    const csv = `${sampleRecipientsCsv(30)}not-an-address@@example.com,Zed 31,Oslo,free\n`;
    const recipientsKey = await uploadCsv(stack, 'logs.csv', csv);
    const { campaign, execution } = await runCampaign(stack, {
      templateId: 'welcome',
      recipientsKey,
      from: 'news@sixback.example',
      data: { company: 'sixback', sender_name: 'The team' },
      // Four workers at 250/s each (the default maxWorkerRate), so the 31 rows go in four batches.
      rate: 1000,
    });
    expect(execution.status).toBe('SUCCEEDED');
    expect(campaign.totals).toMatchObject({ rows: 31, sent: 30, invalid: 1 });

    const mine = lines().filter((l) => l.campaignId === campaign.id);
    const step = (name: string) => mine.filter((l) => l.step === name);
    expect(mine.find((l) => l.message === 'campaign created')).toMatchObject({ run: 1, rate: 1000 });
    expect(step('Prepare')).toEqual([
      expect.objectContaining({
        level: 'INFO',
        message: 'Prepare done',
        run: 1,
        rows: 31,
        valid: 30,
        invalid: 1,
        durationMs: expect.any(Number),
      }),
    ]);
    expect(step('BeginSending')).toEqual([expect.objectContaining({ message: 'BeginSending done', run: 1 })]);
    const batches = step('SendBatch');
    expect(batches.length).toBeGreaterThan(1);
    for (const batch of batches)
      expect(batch).toMatchObject({
        message: 'SendBatch done',
        run: 1,
        rate: expect.any(Number),
        throttles: 0,
        durationMs: expect.any(Number),
      });
    const sum = (key: string) => batches.reduce((n, b) => n + (b[key] as number), 0);
    expect(sum('rows')).toBe(31);
    expect(sum('sent')).toBe(30);
    expect(sum('invalid')).toBe(1);
    // Every prepared row is in exactly one batch line's range.
    const covered = batches.flatMap((b) =>
      Array.from(
        { length: (b.lastRow as number) - (b.firstRow as number) + 1 },
        (_, k) => (b.firstRow as number) + k,
      ),
    );
    expect(covered.sort((a, b) => a - b)).toEqual(Array.from({ length: 31 }, (_, i) => i));
    expect(step('Finalise')).toEqual([
      expect.objectContaining({
        message: 'Finalise done',
        status: 'completed',
        rows: 31,
        sent: 30,
        invalid: 1,
      }),
    ]);
    const executionName = campaign.id;
    expect(lines()).toContainEqual(
      expect.objectContaining({ message: 'execution ended', execution: executionName, status: 'SUCCEEDED' }),
    );

    const text = raw.join('\n').toLowerCase();
    for (let i = 1; i <= 30; i++) expect(text).not.toContain(`user${i}@example.com`);
    expect(text).not.toContain('not-an-address@@example.com');
    expect(text).not.toContain('news@sixback.example');
    // The stack's logger hashes with the data folder's own log key (core/logging.ts), and only with it:
    // any pseudonym printed is one of these addresses' under that key.
    const key = stack.config.logKey as string;
    expect(key.length).toBeGreaterThanOrEqual(32);
    stack.deps.logger.warn('probe', { email: 'User1@example.com' });
    expect(raw.join('\n')).toContain(recipientHash('user1@example.com', key));
    const addresses = [
      ...Array.from({ length: 30 }, (_, i) => `user${i + 1}@example.com`),
      'news@sixback.example',
    ];
    const known = new Set([...addresses, 'not-an-address@@example.com'].map((a) => recipientHash(a, key)));
    for (const pseudonym of raw.join('\n').match(/r_[0-9a-f]{10}/g) ?? []) expect(known).toContain(pseudonym);
  });
});
