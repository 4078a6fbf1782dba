import { describe, expect, it } from 'vitest';
import { AWS_LIMITS } from '../../core/aws/limits.ts';
import {
  CHILD_ENVELOPE_BYTES,
  MAX_BATCH_SIZE,
  MAX_INPUT_BYTES_PER_BATCH,
  MAX_WORKER_RATE,
  planSending,
} from '../../core/campaigns/plan.ts';
import { ValidationError } from '../../core/errors.ts';

describe('planSending', () => {
  it('never plans an aggregate rate above the campaign rate', () => {
    for (const rate of [0.001, 1, 14, 100, 249, 250, 251, 1000, 3334, 10_000, 100_000]) {
      const plan = planSending(rate, 5);
      const workerRate = plan.rate / plan.maxConcurrency;
      expect(workerRate).toBeLessThanOrEqual(MAX_WORKER_RATE);
      expect(workerRate * plan.maxConcurrency).toBeCloseTo(rate, 9);
      expect(plan.maxConcurrency).toBe(Math.max(1, Math.ceil(rate / MAX_WORKER_RATE)));
    }
  });

  it('sizes batches to about 20 seconds of one worker, within [1, 500]', () => {
    expect(planSending(14, 5).batchSize).toBe(280);
    expect(planSending(1000, 5)).toMatchObject({ maxConcurrency: 4, batchSize: MAX_BATCH_SIZE });
    expect(planSending(0.01, 5).batchSize).toBe(1);
  });

  it('splits a small campaign so every worker is used', () => {
    expect(planSending(1000, 5, MAX_WORKER_RATE, 1000)).toMatchObject({ maxConcurrency: 4, batchSize: 250 });
    expect(planSending(2000, 5, MAX_WORKER_RATE, 6)).toMatchObject({ maxConcurrency: 8, batchSize: 1 });
    expect(planSending(100, 5, MAX_WORKER_RATE, 1_000_000).batchSize).toBe(MAX_BATCH_SIZE);
  });

  it('takes a smaller worker rate when asked', () => {
    expect(planSending(30, 5, 10, 300)).toMatchObject({ maxConcurrency: 3, batchSize: 100 });
  });

  it("leaves a batch's rows the room its BatchInput does not take, so the child's input fits 256 KiB", () => {
    expect(planSending(100, 5).maxInputBytesPerBatch).toBe(MAX_INPUT_BYTES_PER_BATCH);
    for (const batchInputBytes of [0, 1000, 56 * 1024, 100_000, 200_000, 230_000]) {
      const { maxInputBytesPerBatch } = planSending(100, 5, MAX_WORKER_RATE, 1000, batchInputBytes);
      expect(batchInputBytes + maxInputBytesPerBatch + CHILD_ENVELOPE_BYTES).toBeLessThanOrEqual(
        AWS_LIMITS.statePayloadBytes,
      );
      expect(maxInputBytesPerBatch).toBeLessThanOrEqual(MAX_INPUT_BYTES_PER_BATCH);
    }
  });

  it('refuses campaign data that leaves a batch too little room for its rows', () => {
    expect(() => planSending(100, 5, MAX_WORKER_RATE, 1000, 250_000)).toThrow(ValidationError);
    expect(() => planSending(100, 5, MAX_WORKER_RATE, 1000, 250_000)).toThrow(
      /campaign data under \d+ bytes/,
    );
  });
});
