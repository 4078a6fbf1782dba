import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CampaignRateBudget,
  childCeiling,
  MemoryRateWindows,
  windowCap,
} from '../../core/sending/rate-budget.ts';
import { AdaptiveRateLimiter } from '../../core/sending/rate-limiter.ts';

/** A fake clock: sleeps resolve in time order, the clock jumps to each; promise chains run in between. */
class Sim {
  now = 0;
  private timers: { at: number; resolve: () => void }[] = [];
  sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      this.timers.push({ at: this.now + Math.max(0, ms), resolve });
    });
  async run(untilMs: number): Promise<void> {
    for (;;) {
      // Let every resolved promise chain run until each task waits on a timer again (a macrotask runs only
      // once every microtask is done), so no send is recorded after the clock has moved on.
      await new Promise((r) => setImmediate(r));
      if (this.timers.length === 0) return;
      let k = 0;
      for (let i = 1; i < this.timers.length; i++)
        if ((this.timers[i] as { at: number }).at < (this.timers[k] as { at: number }).at) k = i;
      const next = this.timers.splice(k, 1)[0] as { at: number; resolve: () => void };
      if (next.at > untilMs) {
        this.timers.push(next);
        return;
      }
      this.now = Math.max(this.now, next.at);
      next.resolve();
    }
  }
}

interface Scenario {
  rate: number;
  children: number;
  /** Each child sends this many, then its slot is idle for gapMs (a child finishing, the next starting). */
  batch: number;
  gapMs: number;
  seconds: number;
  shared: boolean;
  storeLatencyMs?: number;
  /** SES's own limit, when it is below the campaign's rate (another sender shares the account). */
  sesLimit?: number;
}

/** N Map children sending one campaign, as send-batch.ts and worker-loop.ts pace them. */
async function simulate(s: Scenario) {
  const sim = new Sim();
  const windows = new MemoryRateWindows();
  const store = {
    add: async (c: string, r: number, w: number, n: number) => {
      if (s.storeLatencyMs) await sim.sleep(s.storeLatencyMs);
      return windows.add(c, r, w, n);
    },
  };
  const sends: number[] = [];
  let throttled = 0;
  let tokens = s.sesLimit ?? 0;
  let refilled = 0;
  /** SES's token bucket (a fifth of a second of burst, as the stand-in): true when it accepts. */
  const ses = () => {
    if (s.sesLimit === undefined) return true;
    tokens = Math.min(s.sesLimit / 5, tokens + ((sim.now - refilled) * s.sesLimit) / 1000);
    refilled = sim.now;
    if (tokens < 1) return false;
    tokens--;
    return true;
  };
  const share = s.rate / s.children;
  const end = s.seconds * 1000;
  let learnt: number | undefined;
  const slot = async (index: number) => {
    // Slots out of step, as they are once the first batches have ended at different times (children in
    // lockstep all pause together, and then no mechanism can lend anyone's idle rate to anyone).
    await sim.sleep((index * ((s.batch / share) * 1000 + s.gapMs)) / s.children);
    while (sim.now < end) {
      const limiter = new AdaptiveRateLimiter(s.shared ? childCeiling(s.rate, s.children) : share, {
        now: () => sim.now,
        sleep: sim.sleep,
        ...(learnt !== undefined ? { initialRate: learnt } : {}),
        ...(s.shared ? { maxLateMs: 50 } : {}),
      });
      const budget = s.shared
        ? new CampaignRateBudget({
            store,
            campaignId: 'c',
            run: 1,
            rate: s.rate,
            children: s.children,
            now: () => sim.now,
            paceRate: () => limiter.rate,
            sleep: sim.sleep,
          })
        : undefined;
      for (let i = 0; i < s.batch && sim.now < end; i++) {
        for (;;) {
          await limiter.acquire();
          await budget?.take();
          if (sim.now >= end) break;
          if (ses()) {
            sends.push(sim.now);
            limiter.succeeded();
            break;
          }
          throttled++;
          limiter.throttled();
        }
      }
      learnt = limiter.rate < limiter.target ? limiter.rate : undefined;
      limiter.close();
      await sim.sleep(s.gapMs);
    }
  };
  const all = Promise.all(Array.from({ length: s.children }, (_, i) => slot(i)));
  await sim.run(end + 60_000);
  await all;
  return { sends, throttled, end };
}

/** Sends per aligned window of `ms`, from 0 to the end. */
function perWindow(sends: number[], ms: number, end: number): number[] {
  const counts = new Array<number>(Math.ceil(end / ms)).fill(0);
  for (const t of sends) if (t < end) counts[Math.floor(t / ms)] = (counts[Math.floor(t / ms)] ?? 0) + 1;
  return counts;
}

describe('CampaignRateBudget', () => {
  it('window caps add up to the rate over any run of windows', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.01, max: 50_000, noNaN: true }),
        fc.nat(10_000),
        fc.nat(500),
        (rate, w, n) => {
          let sum = 0;
          for (let i = w; i < w + n; i++) sum += windowCap(rate, 200, i);
          expect(Math.abs(sum - (rate * 200 * n) / 1000)).toBeLessThanOrEqual(1);
        },
      ),
    );
  });

  it('N children with idle gaps together stay within the rate and reach 0.95 of it; alone they do not', async () => {
    const scenario = { rate: 2000, children: 8, batch: 500, gapMs: 300, seconds: 20, storeLatencyMs: 3 };
    const shared = await simulate({ ...scenario, shared: true });
    const windows = perWindow(shared.sends, 200, shared.end);
    for (const [w, n] of windows.entries()) expect(n).toBeLessThanOrEqual(windowCap(2000, 200, w));
    const seconds = perWindow(shared.sends, 1000, shared.end);
    for (const n of seconds) expect(n).toBeLessThanOrEqual(2000);
    // Past the first seconds (the slots starting one after another), near the limit.
    const steady = seconds.slice(3);
    expect(steady.reduce((a, b) => a + b, 0) / steady.length / 2000).toBeGreaterThanOrEqual(0.95);

    const alone = await simulate({ ...scenario, shared: false });
    const aloneSteady = perWindow(alone.sends, 1000, alone.end).slice(3);
    // Each child at its share, idle 300 ms of every 2.3 s: about 0.87 of the rate.
    expect(aloneSteady.reduce((a, b) => a + b, 0) / aloneSteady.length / 2000).toBeLessThan(0.9);
  });

  it('holds for generated rates, child counts, gaps and store latencies', async () => {
    await fc.assert(
      fc.asyncProperty(
        // Shares as plan.ts makes them (a child of a multi-child campaign gets 125-250/s by default, up
        // to maxWorkerRate when it is raised).
        fc.integer({ min: 60, max: 1000 }),
        fc.integer({ min: 2, max: 12 }),
        fc.integer({ min: 0, max: 250 }),
        fc.integer({ min: 0, max: 20 }),
        async (share, children, gapMs, storeLatencyMs) => {
          const rate = share * children;
          const batch = Math.max(20, Math.round((rate / children) * 2));
          const run = await simulate({
            rate,
            children,
            batch,
            gapMs,
            seconds: 12,
            shared: true,
            storeLatencyMs,
          });
          for (const [w, n] of perWindow(run.sends, 200, run.end).entries())
            expect(n).toBeLessThanOrEqual(windowCap(rate, 200, w));
          const steady = run.sends.filter((t) => t >= 3000).length / 9;
          expect(steady / rate).toBeGreaterThanOrEqual(0.95);
        },
      ),
      { numRuns: 15 },
    );
  }, 60_000);

  it('when SES allows less than the campaign rate, the children adapt to its throttling and converge', async () => {
    const run = await simulate({
      rate: 2000,
      children: 8,
      batch: 500,
      gapMs: 100,
      seconds: 30,
      shared: true,
      sesLimit: 1200,
    });
    const late = run.sends.filter((t) => t >= 10_000).length / 20;
    // SES's limit binds: the children get most of it without going over it.
    expect(late).toBeLessThanOrEqual(1200 * 1.01);
    expect(late / 1200).toBeGreaterThanOrEqual(0.8);
    // A converged sender is throttled rarely: no storm of 429s.
    expect(run.throttled / run.sends.length).toBeLessThan(0.05);
  });

  it('a failing store leaves each child at its equal share, never above it', async () => {
    const sim = new Sim();
    const budget = new CampaignRateBudget({
      store: { add: async () => Promise.reject(new Error('DynamoDB is down')) },
      campaignId: 'c',
      run: 1,
      rate: 1000,
      children: 4,
      now: () => sim.now,
      sleep: sim.sleep,
    });
    const sends: number[] = [];
    const loop = (async () => {
      while (sim.now < 5000) {
        await budget.take();
        sends.push(sim.now);
      }
    })();
    await sim.run(5000);
    await sim.run(5200);
    await loop.catch(() => undefined);
    const inRange = sends.filter((t) => t < 5000).length;
    expect(inRange).toBeLessThanOrEqual(250 * 5 + 50);
    expect(inRange).toBeGreaterThanOrEqual(250 * 5 * 0.9);
    expect(budget.storeFailures).toBeGreaterThan(0);
  });
});
