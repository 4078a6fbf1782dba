import { describe, expect, it } from 'vitest';
import { AdaptiveRateLimiter } from '../../core/sending/rate-limiter.ts';

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

  it('never lets a late release catch up in a burst', async () => {
    const clock = fakeClock();
    const limiter = new AdaptiveRateLimiter(100, clock);
    await releaseTimes(limiter, clock, 2); // 0 and 10; next slot 20
    clock.advance(500); // the process was busy for half a second
    // The next three go out 10 ms apart from now, not all at once to "make up" for the pause.
    expect(await releaseTimes(limiter, clock, 3)).toEqual([510, 520, 530]);
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
