/**
 * Issue 14, item 11: every batch carries all of the campaign's data beside its rows, and a child's input
 * must fit 256 KiB (the local engine enforces it as AWS does). Campaign data shrinks the rows per batch
 * instead of breaking the limit; data over the campaign data cap (16 KiB) is refused when the campaign is
 * created, before anything is sent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_TEMPLATE, sampleRecipientsCsv } from '../../cli/sample.ts';
import { AWS_LIMITS } from '../../core/aws/limits.ts';
import { MAX_INPUT_BYTES_PER_BATCH } from '../../core/campaigns/plan.ts';
import type { LocalStack } from '../../local/stack.ts';
import { runCampaign, saveTemplate, startTestStack, uploadCsv } from '../support/local-stack.ts';

const BASE = { templateId: 'welcome', from: 'news@sixback.example', rate: 100 };

describe('campaign data and the state payload limit', () => {
  let stack: LocalStack;
  let recipientsKey: string;
  beforeAll(async () => {
    stack = await startTestStack();
    await saveTemplate(stack, 'welcome', SAMPLE_TEMPLATE);
    recipientsKey = await uploadCsv(stack, 'payload.csv', sampleRecipientsCsv(400));
  });
  afterAll(() => stack?.stop());

  it('sends a campaign with data near the cap, in batches that each fit with it', async () => {
    // Data near the cap: the rows of each batch make room for it.
    const data = { company: 'sixback', sender_name: 'The team', legal_footer: 'f'.repeat(15_000) };
    const { campaign, execution } = await runCampaign(stack, { ...BASE, recipientsKey, data });
    expect(execution.status, JSON.stringify(execution.error)).toBe('SUCCEEDED');
    expect(campaign.totals).toMatchObject({ rows: 400, sent: 400, failed: 0 });
    const plan = campaign.plan as { maxInputBytesPerBatch: number };
    expect(plan.maxInputBytesPerBatch).toBeLessThanOrEqual(MAX_INPUT_BYTES_PER_BATCH);
    expect(plan.maxInputBytesPerBatch + 15_000).toBeLessThan(AWS_LIMITS.statePayloadBytes);
  });

  it('refuses, before sending anything, data that would leave no room for the rows', async () => {
    const data = { company: 'sixback', sender_name: 'The team', legal_footer: 'f'.repeat(250_000) };
    await expect(runCampaign(stack, { ...BASE, recipientsKey, data })).rejects.toThrow(
      /data: is \d+ bytes as JSON; the limit is 16384 bytes/,
    );
  });
});
