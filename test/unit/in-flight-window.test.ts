/**
 * The in-flight window: on its own (generated ticks of latency, starvation and event-loop load) and driving
 * a batch's worker loop on a fake clock against a fake SES that answers after a generated latency.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EmailSender, OutgoingEmail } from '../../core/sending/email-sender.ts';
import {
  BUSY_UTILIZATION,
  FULL,
  HEADROOM,
  INITIAL_IN_FLIGHT,
  InFlightWindow,
  LatencyFloor,
  TICK_MS,
} from '../../core/sending/in-flight-window.ts';
import { MemoryLedger } from '../../core/sending/ledger.ts';
import { AdaptiveRateLimiter } from '../../core/sending/rate-limiter.ts';
import { runWorkerLoop, type SendItem } from '../../core/sending/worker-loop.ts';
import { FakeTimers } from '../support/pacing-sim.ts';

const GROUP_SIZE = 25;

describe('InFlightWindow', () => {
  const tickArb = fc.record({
    // Times the run's base latency: mostly within the QUEUED_LATENCY band, so growth is exercised.
    latency: fc.double({ min: 1, max: 2.5, noNaN: true }),
    answers: fc.integer({ min: 0, max: 400 }),
    starvedMs: fc.double({ min: 0, max: TICK_MS, noNaN: true }),
    busy: fc.double({ min: 0, max: 1, noNaN: true }),
  });

  it('stays between its start and the maximum, and grows only on a starved tick that is not CPU-bound', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.double({ min: 1, max: 2000, noNaN: true }),
        fc.double({ min: 1, max: 300, noNaN: true }),
        fc.array(tickArb, { minLength: 1, maxLength: 60 }),
        (max, rate, baseMs, ticks) => {
          let t = 0;
          let starved = 0;
          let busy = 0;
          const window = new InFlightWindow({
            max,
            now: () => t,
            busy: () => busy,
            rate: () => rate,
            starvedMs: () => starved,
            floor: new LatencyFloor(),
          });
          const start = Math.min(max, INITIAL_IN_FLIGHT);
          expect(window.size).toBe(start);
          for (const tick of ticks) {
            const before = window.size;
            t += TICK_MS;
            starved += tick.starvedMs;
            busy = tick.busy;
            const latencyMs = baseMs * tick.latency;
            for (let i = 0; i < tick.answers; i++) window.observe(latencyMs);
            const after = window.update();
            expect(after).toBeGreaterThanOrEqual(start);
            expect(after).toBeLessThanOrEqual(max);
            if (after > before) {
              expect(tick.busy).toBeLessThan(BUSY_UTILIZATION);
              expect(tick.starvedMs).toBeGreaterThanOrEqual(1000 / rate);
              // Every slot was at SES: the answers' time filled at least FULL of the window.
              expect((tick.answers * latencyMs) / TICK_MS).toBeGreaterThanOrEqual(FULL * before);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reaches rate x latency x HEADROOM after a few starved ticks, and halves its excess while busy', () => {
    let t = 0;
    let starved = 0;
    let busy = 0.3;
    const window = new InFlightWindow({
      max: 64,
      now: () => t,
      busy: () => busy,
      rate: () => 250,
      starvedMs: () => starved,
      floor: new LatencyFloor(),
    });
    const sizes: number[] = [];
    // Every slot waiting on SES all the time: size x TICK_MS / 60 answers a tick.
    const fullTick = () => {
      for (let i = 0; i < (window.size * TICK_MS) / 60; i++) window.observe(60);
    };
    for (let i = 0; i < 4; i++) {
      t += TICK_MS;
      starved += 20;
      fullTick();
      sizes.push(window.update());
    }
    // 250/s x 60 ms x 2 = 30, by half at most a tick.
    expect(sizes).toEqual([24, 30, 30, 30]);
    busy = 0.95;
    t += TICK_MS;
    fullTick();
    expect(window.update()).toBe(23);
    // Not busy and starved, but with slots to spare (a third of them at SES): it does not grow.
    busy = 0.3;
    t += TICK_MS;
    starved += 20;
    for (let i = 0; i < (23 * TICK_MS) / 60 / 3; i++) window.observe(60);
    expect(window.update()).toBe(23);
  });
});

/** A fake SES answering each send after `latency(n)` ms on the fake clock; tracks sends at once. */
class SlowSes implements EmailSender {
  inFlight = 0;
  peak = 0;
  started = 0;
  readonly startTimes: number[] = [];
  constructor(
    private readonly timers: FakeTimers,
    private readonly latency: (n: number) => number,
    private readonly onStart: () => void = () => {},
  ) {}
  async send(email: OutgoingEmail) {
    const n = this.started++;
    this.onStart();
    this.startTimes.push(this.timers.now);
    this.inFlight++;
    this.peak = Math.max(this.peak, this.inFlight);
    await this.timers.sleep(this.latency(n));
    this.inFlight--;
    return { messageId: `m-${email.to}` };
  }
}

const items = (count: number): SendItem[] =>
  Array.from({ length: count }, (_, i) => ({
    base: { i, row: i + 1, email: `r${i}@example.com` },
    key: `k${i}`,
    message: () => ({ from: 'news@sixback.example', to: `r${i}@example.com`, subject: 's', html: 'h' }),
  }));

/** One batch of `seconds` x rate rows through the worker loop, on the fake clock. */
async function sendBatchOnFakeClock(o: {
  rate: number;
  maxInFlight: number;
  latency: (n: number) => number;
  busy: () => number;
  seconds: number;
}) {
  const timers = new FakeTimers();
  const ledger = new MemoryLedger();
  let recorded = 0;
  const record = ledger.record.bind(ledger);
  ledger.record = async (campaignId, entries) => {
    await record(campaignId, entries);
    recorded += entries.length;
  };
  let worstExposure = 0;
  // A send starting now may be accepted; those accepted earlier and not yet acknowledged by the ledger
  // are the rest of what a crash at this instant would leave unrecorded.
  const ses: SlowSes = new SlowSes(timers, o.latency, () => {
    worstExposure = Math.max(worstExposure, ses.started - recorded);
  });
  const rows = Math.round(o.rate * o.seconds);
  const done = runWorkerLoop(items(rows), {
    campaignId: 'c1',
    run: 1,
    emails: ses,
    ledger,
    maxInFlight: o.maxInFlight,
    busy: o.busy,
    attempts: 3,
    groupSize: GROUP_SIZE,
    flushMs: 200,
    gate: undefined,
    gateIntervalMs: 500,
    stopCampaign: undefined,
    deadlineMs: 600_000,
    workerRate: o.rate,
    initialRate: undefined,
    sleep: timers.sleep,
    random: () => 0.5,
    now: () => timers.now,
    settle: () => {},
  });
  let finished = false;
  void done.then(() => {
    finished = true;
  });
  while (!finished) await timers.run(timers.now + 1000);
  const result = await done;
  return { result, ses, worstExposure, recorded, rows };
}

describe('the worker loop with the in-flight window', () => {
  it('sustains its share when SES is slow, never above maxInFlight, within the crash bound', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 50, max: 600 }),
        fc.integer({ min: 20, max: 150 }),
        fc.integer({ min: 1, max: 96 }),
        fc.array(fc.double({ min: 0.8, max: 1.2, noNaN: true }), { minLength: 1, maxLength: 16 }),
        async (rate, latencyMs, maxInFlight, spread) => {
          const { result, ses, worstExposure, recorded, rows } = await sendBatchOnFakeClock({
            rate,
            maxInFlight,
            latency: (n) => latencyMs * (spread[n % spread.length] as number),
            busy: () => 0.2,
            seconds: 6,
          });
          expect(recorded).toBe(rows);
          expect(ses.peak).toBeLessThanOrEqual(maxInFlight);
          expect(result.peakInFlight).toBeLessThanOrEqual(maxInFlight);
          expect(worstExposure).toBeLessThanOrEqual(maxInFlight + 2 * GROUP_SIZE);
          const meanMs = (latencyMs * spread.reduce((sum, f) => sum + f, 0)) / spread.length;
          const slowestMs = latencyMs * Math.max(...spread);
          if (maxInFlight >= ((rate * slowestMs) / 1000) * 1.25 && maxInFlight >= INITIAL_IN_FLIGHT) {
            // Little's law: it had at least rate x mean latency in flight, and so sent at its rate once it
            // had learnt the latency (seconds 2 to 5).
            expect(result.peakInFlight).toBeGreaterThanOrEqual(Math.min(maxInFlight, (rate * meanMs) / 1000));
            const late = ses.startTimes.filter((t) => t >= 2000 && t < 5000).length;
            expect(late).toBeGreaterThanOrEqual(0.97 * rate * 3);
          }
        },
      ),
      { numRuns: 25 },
    );
  }, 60_000);

  it('keeps its starting window while the event loop is busy, though SES is slow enough to need more', async () => {
    const { result, ses } = await sendBatchOnFakeClock({
      rate: 500,
      maxInFlight: 64,
      latency: () => 80,
      busy: () => 0.9,
      seconds: 4,
    });
    expect(result.peakInFlight).toBe(INITIAL_IN_FLIGHT);
    expect(ses.peak).toBe(INITIAL_IN_FLIGHT);
    // 16 in flight at 80 ms is 200/s: short of the 500/s share, as it must be here.
    expect(ses.startTimes.filter((t) => t >= 1000 && t < 3000).length).toBeLessThan(2 * 250);
  });

  it('does not grow when its slots are never short, even where the headroom would ask for more', async () => {
    // 250/s at 45 ms needs 11.25 in flight: 16 suffice (never slot-starved), though 2x headroom is 23.
    expect(Math.ceil(((250 * 45) / 1000) * HEADROOM)).toBeGreaterThan(INITIAL_IN_FLIGHT);
    const { result, ses } = await sendBatchOnFakeClock({
      rate: 250,
      maxInFlight: 64,
      latency: () => 45,
      busy: () => 0.2,
      seconds: 4,
    });
    expect(result.peakInFlight).toBe(INITIAL_IN_FLIGHT);
    expect(ses.startTimes.filter((t) => t >= 1000 && t < 3000).length).toBeGreaterThanOrEqual(0.98 * 500);
  });

  it('does not grow when the answers queue (their mean far above the fastest this process saw)', async () => {
    // The first sends answered in 5 ms; now every answer takes 60 (a machine short of CPU): 12x the floor.
    const { result } = await sendBatchOnFakeClock({
      rate: 1000,
      maxInFlight: 64,
      latency: (n) => (n < 20 ? 5 : 60),
      busy: () => 0.2,
      seconds: 3,
    });
    expect(result.peakInFlight).toBe(INITIAL_IN_FLIGHT);
  });
});

describe('AdaptiveRateLimiter.starvedMs', () => {
  it('counts the time a release was allowed and nobody asked for it', async () => {
    let t = 0;
    const limiter = new AdaptiveRateLimiter(100, {
      now: () => t,
      sleep: async (ms) => {
        t += ms;
      },
    });
    await limiter.acquire(); // at 0; the next is allowed at 10
    t = 5;
    await limiter.acquire(); // asked at 5, released at 10: nothing starved
    expect(t).toBe(10);
    expect(limiter.starvedMs).toBe(0);
    t = 60;
    await limiter.acquire();
    // The next was allowed from 20 on (the grid of 10 ms); asked at 60.
    expect(limiter.starvedMs).toBe(40);
  });
});
