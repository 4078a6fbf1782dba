/** Deploy parameters that AWS's limits constrain fail the synth with a message that says what fits. */
import { describe, expect, it } from 'vitest';
import { childTimeBudget, sendBatchTimeoutProblem } from '../../core/sending/deadline.ts';
import { parseParams, sendBatchTaskTimeoutSeconds } from '../../infra/params.ts';

describe('sendBatchTimeoutSeconds', () => {
  const task = sendBatchTaskTimeoutSeconds();

  it('reads the SendBatch Task timeout from the ASL, within an EXPRESS child', () => {
    expect(task).toBe(240);
    expect(task * 1000).toBeLessThanOrEqual(childTimeBudget().childMs);
  });

  it('accepts the default and every value between one attempt and the Task timeout', () => {
    expect(parseParams({}).sendBatchTimeoutSeconds).toBe(230);
    for (const seconds of [210, 225, 239])
      expect(parseParams({ sendBatchTimeoutSeconds: String(seconds) }).sendBatchTimeoutSeconds).toBe(seconds);
  });

  it('refuses a timeout that would kill an attempt mid-batch, with the reason', () => {
    expect(() => parseParams({ sendBatchTimeoutSeconds: '60' })).toThrow(
      /-c sendBatchTimeoutSeconds: must be at least 210: a batch sends for up to 180 s/,
    );
    expect(() => parseParams({ sendBatchTimeoutSeconds: '209' })).toThrow(/at least 210/);
  });

  it('refuses a timeout the Task would give up on first, and the old 30-900 range outside it', () => {
    expect(() => parseParams({ sendBatchTimeoutSeconds: '240' })).toThrow(
      /must be under 240, the ASL SendBatch/,
    );
    expect(() => parseParams({ sendBatchTimeoutSeconds: '900' })).toThrow(/must be under 240/);
    expect(() => parseParams({ sendBatchTimeoutSeconds: '901' })).toThrow(/sendBatchTimeoutSeconds/);
  });

  it("refuses an ASL whose Task timeout outlives the EXPRESS child's 300 s", () => {
    expect(sendBatchTimeoutProblem(230, 310)).toMatch(/longer than an EXPRESS child's 300 s/);
    expect(sendBatchTimeoutProblem(230, 240)).toBeUndefined();
  });
});
