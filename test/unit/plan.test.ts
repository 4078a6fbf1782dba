import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AWS_LIMITS, payloadBytes } from '../../core/aws/limits.ts';
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

  it('sizes batches to about 20 seconds of one worker, within [1, MAX_BATCH_SIZE]', () => {
    expect(planSending(14, 5).batchSize).toBe(280);
    // 250/s: as long a batch as its output allows (3.5 s), not 2 s as with a cap of 500.
    expect(planSending(250, 5).batchSize).toBe(MAX_BATCH_SIZE);
    expect(MAX_BATCH_SIZE).toBeGreaterThanOrEqual(800);
    expect(planSending(1000, 5)).toMatchObject({ maxConcurrency: 4, batchSize: MAX_BATCH_SIZE });
    expect(planSending(0.01, 5).batchSize).toBe(1);
  });

  it('splits a small campaign so every worker is used', () => {
    expect(planSending(1000, 5, MAX_WORKER_RATE, 1000)).toMatchObject({ maxConcurrency: 4, batchSize: 250 });
    expect(planSending(2000, 5, MAX_WORKER_RATE, 6)).toMatchObject({ maxConcurrency: 8, batchSize: 1 });
    expect(planSending(100, 5, MAX_WORKER_RATE, 1_000_000).batchSize).toBe(MAX_BATCH_SIZE);
  });

  it('evens the batches out into whole rounds of the Map slots, so the last round ends together', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1, max: 5000, noNaN: true }),
        fc.integer({ min: 1, max: 3_000_000 }),
        (rate, rows) => {
          const plan = planSending(rate, 5, MAX_WORKER_RATE, rows);
          const unevened = planSending(rate, 5, MAX_WORKER_RATE);
          const batches = Math.ceil(rows / plan.batchSize);
          expect(plan.batchSize).toBeLessThanOrEqual(unevened.batchSize);
          // Every slot gets the same number of batches, or the last round is short by less than a slot's
          // batch: no slot is left with a whole extra batch to send alone.
          const rounds = Math.ceil(batches / plan.maxConcurrency);
          expect(rounds * plan.maxConcurrency * plan.batchSize).toBeGreaterThanOrEqual(rows);
          const slots = rounds * plan.maxConcurrency;
          expect(batches).toBeLessThanOrEqual(slots);
          // Rounding the batch up costs at most slots² / rows batches of the last round (rows / batch
          // rounded up); with enough rows, at most one slot goes without a batch in the last round.
          if (rows >= slots * slots) expect(batches).toBeGreaterThanOrEqual(slots - 1);
          // And the last batch is about as long as the others (not a remainder of a few rows).
          const last = rows - (batches - 1) * plan.batchSize;
          if (batches === slots) expect(last).toBeGreaterThanOrEqual(plan.batchSize - slots);
        },
      ),
      { numRuns: 200 },
    );
    // 20,000 rows on 2 slots of 150/s: 24 batches of 834, not 23 of 864 and one of 128.
    expect(planSending(300, 5, MAX_WORKER_RATE, 20_000)).toMatchObject({ maxConcurrency: 2, batchSize: 834 });
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

  it("keeps a full batch's outcomes under the state payload limit, however its rows are made", () => {
    const encode = (value: string) => encodeURIComponent(value);
    const row = fc.record({
      email: fc.emailAddress(),
      note: fc.oneof(fc.constant(''), fc.string({ maxLength: 40 })),
      vars: fc.oneof(fc.constant(''), fc.base64String({ maxLength: 300 })),
    });
    fc.assert(
      fc.property(
        fc.array(row, { minLength: 1, maxLength: 50 }),
        fc.integer({ min: 0, max: 9_000_000 }),
        fc.integer({ min: 0, max: 12_000 }),
        (rows, firstIndex, batchInputBytes) => {
          const plan = planSending(250, 5, MAX_WORKER_RATE, 10_000_000, batchInputBytes);
          // The Map's batcher: items while both the count and the bytes of Items allow (the rows repeat).
          const items: { index: number; row: Record<string, string> }[] = [];
          let bytes = 2;
          for (let k = 0; items.length < plan.batchSize; k++) {
            const r = rows[k % rows.length] as { email: string; note: string; vars: string };
            const index = firstIndex + k;
            const item = {
              index,
              row: {
                row: String(index + 2),
                state: 'ok',
                email: encode(r.email),
                note: encode(r.note),
                vars: r.vars,
              },
            };
            const size = payloadBytes(item) + 1;
            if (bytes + size > plan.maxInputBytesPerBatch) break;
            bytes += size;
            items.push(item);
          }
          // The largest output those rows can give: every row sent, with an SES-length message id, its
          // note as the reason (reasons fitOutcomes would shorten are left whole).
          const outcomes = items.map(({ index, row: r }, k) => ({
            i: index,
            row: Number(r.row),
            email: decodeURIComponent(r.email as string),
            state: 'sent',
            messageId: `010001${String(k).padStart(10, '0')}-1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d-000000`,
            ...(r.note ? { reason: decodeURIComponent(r.note) } : {}),
          }));
          const output = { campaignId: 'c'.repeat(64), outcomes };
          expect(payloadBytes(output)).toBeLessThanOrEqual(AWS_LIMITS.statePayloadBytes - 1024);
        },
      ),
      { numRuns: 60 },
    );
  });
});
