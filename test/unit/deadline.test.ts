import { describe, expect, it } from 'vitest';
import { BatchOutOfTimeError } from '../../core/errors.ts';
import { attemptDeadlineMs, childTimeBudget } from '../../core/sending/deadline.ts';
import { BATCH_DEADLINE_MS } from '../../core/sending/send-batch.ts';
import { seeded } from '../support/seeded.ts';

describe('the deadline of one attempt of a batch', () => {
  const budget = childTimeBudget();
  const start = Date.parse('2026-12-01T09:00:00.000Z');
  const at = (seconds: number) => start + seconds * 1000;
  const startedAt = new Date(start).toISOString();

  it("gives AWS's EXPRESS child 180 s per attempt, 30 s reserve, 5 s minimum", () => {
    expect(budget).toEqual({ childMs: 300_000, attemptMs: 180_000, reserveMs: 30_000, minAttemptMs: 5_000 });
    expect(budget.attemptMs).toBe(BATCH_DEADLINE_MS);
  });

  it('gives the first attempt the full cap and a retry only what is left of the child', () => {
    expect(attemptDeadlineMs(startedAt, at(1), budget)).toBe(180_000);
    // A retry 190 s in: 300 - 30 - 190 = 80 s, not another 180.
    expect(attemptDeadlineMs(startedAt, at(190), budget)).toBe(80_000);
  });

  it('refuses an attempt that would get less than the minimum', () => {
    expect(() => attemptDeadlineMs(startedAt, at(266), budget)).toThrow(BatchOutOfTimeError);
  });

  it('falls back to the cap when no start time is passed in', () => {
    expect(attemptDeadlineMs(undefined, at(1000), budget)).toBe(180_000);
  });

  it('never lets an attempt run past the child minus the reserve, whatever the timing', () => {
    const random = seeded(14);
    for (let i = 0; i < 5000; i++) {
      const child = 1000 + random.int(299_001);
      const now = random.int(400_001);
      const b = childTimeBudget(child);
      const left = b.childMs - b.reserveMs - now;
      if (left < b.minAttemptMs) {
        expect(() => attemptDeadlineMs(startedAt, start + now, b)).toThrow(BatchOutOfTimeError);
        continue;
      }
      const deadline = attemptDeadlineMs(startedAt, start + now, b);
      expect(deadline).toBeGreaterThanOrEqual(b.minAttemptMs);
      expect(deadline).toBeLessThanOrEqual(b.attemptMs);
      expect(now + deadline).toBeLessThanOrEqual(b.childMs - b.reserveMs);
    }
  });
});
