import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AdaptiveRateLimiter, CATCH_UP_MS } from '../../core/sending/rate-limiter.ts';
import { busiestWindow, FakeTimers } from '../support/pacing-sim.ts';

/** A clock that only moves when the limiter sleeps. */
function fakeClock() {
  let t = 0;
  return {
    now: () => t,
    sleep: async (ms: number) => {
      // Let everything already released run first, as a real timer would.
      await new Promise((resolve) => setImmediate(resolve));
      t += ms;
    },
    advance: (ms: number) => {
      t += ms;
    },
  };
}

async function releaseTimes(limiter: AdaptiveRateLimiter, clock: { now: () => number }, count: number) {
  const times: number[] = [];
  await Promise.all(
    Array.from({ length: count }, () => limiter.acquire().then(() => times.push(clock.now()))),
  );
  return times;
}

describe('AdaptiveRateLimiter', () => {
  it('releases concurrent senders one at a time, 1000/rate ms apart', async () => {
    const clock = fakeClock();
    const limiter = new AdaptiveRateLimiter(100, clock);
    expect(await releaseTimes(limiter, clock, 5)).toEqual([0, 10, 20, 30, 40]);
  });

  it('catches up after a stall, by at most maxLateMs worth of releases', async () => {
    const clock = fakeClock();
    const limiter = new AdaptiveRateLimiter(100, { ...clock, maxLateMs: 50 });
    await releaseTimes(limiter, clock, 2); // 0 and 10; next slot 20
    clock.advance(500); // the process was busy for half a second
    // The grid may trail the clock by 50 ms (five slots): those go at once with the one due now, and the
    // rest of the half second is given up rather than sent in a burst.
    expect(await releaseTimes(limiter, clock, 9)).toEqual([510, 510, 510, 510, 510, 510, 520, 530, 540]);
  });

  it('loses no rate to a stall shorter than maxLateMs: the next releases catch up', async () => {
    const clock = fakeClock();
    const limiter = new AdaptiveRateLimiter(100, { ...clock, maxLateMs: 50 });
    await releaseTimes(limiter, clock, 1); // at 0; next slot 10
    clock.advance(35); // slots 10, 20 and 30 went by
    expect(await releaseTimes(limiter, clock, 5)).toEqual([35, 35, 35, 40, 50]);
  });

  it('never lets a sliding second hold more than ceil(target) releases, however far behind it is', async () => {
    const clock = fakeClock();
    // 4.5/s: at most 5 in any second; 20 s of tolerance would otherwise let 90 go at once.
    const limiter = new AdaptiveRateLimiter(4.5, { ...clock, maxLateMs: 20_000 });
    await releaseTimes(limiter, clock, 1);
    clock.advance(30_000);
    const times = await releaseTimes(limiter, clock, 12);
    expect(times.slice(0, 4)).toEqual([30_000, 30_000, 30_000, 30_000]);
    expect(times[4]).toBe(30_000); // the fifth of the second that began at 30,000 (the first went at 0)
    expect(times[5]).toBe(31_000);
    expect(busiestWindow(times, 1000)).toBeLessThanOrEqual(5);
  });

  it('keeps to its grid when a release is only a little late (timer jitter), so the rate is kept', async () => {
    const clock = fakeClock();
    const limiter = new AdaptiveRateLimiter(100, clock);
    await releaseTimes(limiter, clock, 1); // at 0; next slot 10
    clock.advance(13); // 3 ms past the slot: a late timer, within half an interval
    // The late one goes now; the next ones stay on the 10 ms grid instead of drifting to 23, 33.
    expect(await releaseTimes(limiter, clock, 3)).toEqual([13, 20, 30]);
  });

  it('halves the rate on throttling at most once per cooldown, down to its floor', () => {
    const clock = fakeClock();
    const limiter = new AdaptiveRateLimiter(100, { ...clock, cooldownMs: 200, floor: 0.1 });
    limiter.throttled();
    expect(limiter.rate).toBe(50);
    limiter.throttled(); // the same burst of throttles: one signal
    expect(limiter.rate).toBe(50);
    for (let i = 0; i < 10; i++) {
      clock.advance(200);
      limiter.throttled();
    }
    expect(limiter.rate).toBe(10);
  });

  it('creeps back to its target while sends succeed, never beyond it', () => {
    const clock = fakeClock();
    const limiter = new AdaptiveRateLimiter(100, clock);
    limiter.throttled();
    expect(limiter.rate).toBe(50);
    // A tenth of the target per second of successes: one second at 50/s adds about 10.
    for (let i = 0; i < 50; i++) limiter.succeeded();
    expect(limiter.rate).toBeGreaterThan(58);
    expect(limiter.rate).toBeLessThan(61);
    for (let i = 0; i < 1000; i++) limiter.succeeded();
    expect(limiter.rate).toBe(100);
  });

  it('spaces releases by the lowered rate after a throttle', async () => {
    const clock = fakeClock();
    const limiter = new AdaptiveRateLimiter(100, clock);
    await releaseTimes(limiter, clock, 1);
    limiter.throttled(); // 50/s: 20 ms apart, and the next slot pushed out
    expect(await releaseTimes(limiter, clock, 3)).toEqual([20, 40, 60]);
  });

  it('starts at a rate an earlier batch learnt, within [floor, target]', () => {
    expect(new AdaptiveRateLimiter(100, { initialRate: 30 }).rate).toBe(30);
    expect(new AdaptiveRateLimiter(100, { initialRate: 500 }).rate).toBe(100);
    expect(new AdaptiveRateLimiter(100, { initialRate: 1, floor: 0.05 }).rate).toBe(5);
  });

  it('releases every waiter at once when closed, and lets later calls straight through', async () => {
    let sleeping: (() => void) | undefined;
    const limiter = new AdaptiveRateLimiter(1, {
      now: () => 0,
      sleep: () => new Promise<void>((resolve) => (sleeping = resolve)),
    });
    await limiter.acquire(); // the first slot is free
    let released = 0;
    const waiting = [limiter.acquire(), limiter.acquire()].map((p) => p.then(() => released++));
    await Promise.resolve();
    expect(released).toBe(0);
    limiter.close();
    sleeping?.();
    await Promise.all(waiting);
    expect(released).toBe(2);
    await limiter.acquire();
  });
});

/**
 * Senders that always have something to send: each takes a release, "sends" for `latencyMs` and comes
 * back, enough of them that the limiter, not the senders, sets the pace. Returns the release times.
 */
async function saturate(
  loop: FakeTimers,
  limiter: AdaptiveRateLimiter,
  opts: { untilMs: number; latencyMs: number; senders: number; onRelease?: (at: number) => void },
): Promise<number[]> {
  const times: number[] = [];
  let stop = false;
  const sender = async () => {
    while (!stop) {
      await limiter.acquire();
      if (stop) return;
      times.push(loop.now);
      opts.onRelease?.(loop.now);
      await loop.sleep(opts.latencyMs);
    }
  };
  const senders = Array.from({ length: opts.senders }, sender);
  await loop.run(opts.untilMs);
  stop = true;
  limiter.close();
  void senders;
  return times;
}

const rateArb = fc.double({ min: 2, max: 400, noNaN: true, noDefaultInfinity: true });
const jitterArb = fc.array(fc.double({ min: 0, max: 5, noNaN: true }), { minLength: 1, maxLength: 20 });

describe('AdaptiveRateLimiter under generated lateness (fake clock)', () => {
  it('never releases more than ceil(target) in any sliding second, whatever the stalls', async () => {
    await fc.assert(
      fc.asyncProperty(
        rateArb,
        fc.array(fc.double({ min: 0, max: 40, noNaN: true }), { minLength: 1, maxLength: 20 }),
        fc.array(
          fc.record({ at: fc.integer({ min: 0, max: 6000 }), ms: fc.integer({ min: 1, max: 1500 }) }),
          {
            maxLength: 8,
          },
        ),
        fc.integer({ min: 0, max: 2000 }),
        async (rate, jitter, stalls, maxLateMs) => {
          const loop = new FakeTimers({ jitter, stalls });
          const limiter = new AdaptiveRateLimiter(rate, {
            now: () => loop.now,
            sleep: loop.sleep,
            maxLateMs,
          });
          const senders = Math.ceil((rate * (maxLateMs + 100)) / 1000) + 4;
          const times = await saturate(loop, limiter, { untilMs: 8000, latencyMs: 60, senders });
          expect(busiestWindow(times, 1000)).toBeLessThanOrEqual(Math.ceil(rate));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('keeps at least 0.98 of the rate when every stall is shorter than the catch-up tolerance', async () => {
    const untilMs = 15_000;
    await fc.assert(
      fc.asyncProperty(
        rateArb,
        jitterArb,
        // Stalls up to 90 ms (under the 100 ms default), at least 150 ms apart.
        fc.array(
          fc.record({ gap: fc.integer({ min: 150, max: 2000 }), ms: fc.integer({ min: 1, max: 90 }) }),
          {
            maxLength: 40,
          },
        ),
        async (rate, jitter, gaps) => {
          const stalls: { at: number; ms: number }[] = [];
          let at = 0;
          for (const { gap, ms } of gaps) {
            at += gap;
            stalls.push({ at, ms });
            at += ms;
          }
          const loop = new FakeTimers({ jitter, stalls });
          const limiter = new AdaptiveRateLimiter(rate, { now: () => loop.now, sleep: loop.sleep });
          const senders = Math.ceil((rate * (CATCH_UP_MS + 100)) / 1000) + 4;
          const times = await saturate(loop, limiter, { untilMs, latencyMs: 60, senders });
          expect(times.length).toBeGreaterThanOrEqual(0.98 * rate * (untilMs / 1000));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('sends no faster than the halved rate in the second after a throttle, and drops any backlog', async () => {
    await fc.assert(
      fc.asyncProperty(
        rateArb,
        jitterArb,
        fc.uniqueArray(fc.integer({ min: 200, max: 7000 }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.record({ at: fc.integer({ min: 0, max: 7000 }), ms: fc.integer({ min: 1, max: 300 }) }), {
          maxLength: 4,
        }),
        async (rate, jitter, throttleAt, stalls) => {
          const loop = new FakeTimers({ jitter, stalls });
          const limiter = new AdaptiveRateLimiter(rate, {
            now: () => loop.now,
            sleep: loop.sleep,
            cooldownMs: 0,
            floor: 0.01,
          });
          const pending = [...throttleAt].sort((a, b) => a - b);
          /** Each throttle: when, and the rate it left (no success is reported, so the rate only falls). */
          const throttles: { at: number; rate: number }[] = [];
          const times = await saturate(loop, limiter, {
            untilMs: 8000,
            latencyMs: 60,
            senders: Math.ceil(rate / 5) + 4,
            onRelease: (now) => {
              while (pending.length && (pending[0] as number) <= now) {
                pending.shift();
                limiter.throttled();
                throttles.push({ at: now, rate: limiter.rate });
              }
            },
          });
          for (const { at, rate: after } of throttles) {
            expect(after).toBeLessThanOrEqual(rate / 2 + 1e-9);
            // Releases strictly after the throttle, within a second of it (the one that saw it is before).
            const inSecond = times.filter((t) => t > at && t < at + 1000).length;
            expect(inSecond).toBeLessThanOrEqual(Math.floor(after) + 1);
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
