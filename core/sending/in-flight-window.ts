/**
 * How many sends one batch keeps in flight to SES: enough for its share of the rate at the latency SES
 * answers with, and no more than the process can use.
 *
 * A sender that must release R sends a second, each answered after L ms on average, has R x L / 1000 of
 * them in flight (Little's law); fewer and it cannot reach R, however early its limiter releases. The window
 * starts at `INITIAL_IN_FLIGHT` (or the maximum, if lower) and is adjusted every `tickMs`:
 *
 * - it grows, by half at most per tick, towards R x L / 1000 x `HEADROOM` (room to catch up after a stall at
 *   twice the share), only when the batch was slot-starved and the sends were not CPU-bound. Slot-starved:
 *   the limiter had a release due and nobody waiting for it for at least one release's interval in the
 *   tick, while the slots were full at SES (the answered sends' latencies add up to at least `FULL` of the
 *   window over the tick: Little's law again). Releases nobody takes while slots are free mean the workers
 *   are busy elsewhere (rendering on a saturated CPU, the ledger's bound), where more slots would not help;
 * - it shrinks back towards the initial size, halving the excess, while they are CPU-bound: this thread's
 *   event loop busy (`BUSY_UTILIZATION`), or the answers queued (their mean latency over `QUEUED_LATENCY`
 *   times the fastest answer this process saw lately, `LatencyFloor`: a loaded machine, this thread not scheduled or a receiver short
 *   of CPU, delays every answer, while the service's own time varies far less). There the latency is a
 *   queue, not SES, and more in flight would only lengthen it and cost memory (each send holds its body);
 * - it steps down by one per tick while it is above what the latency now needs;
 * - it never exceeds `max` (the configured maxInFlight), so the ledger writer's exposure bound
 *   (max + 2 x group size, core/sending/worker-loop.ts) holds whatever the window does.
 */
import { performance } from 'node:perf_hooks';

/** Where a window starts: measured best where CPU binds (docs/bench-inflight.md), and enough for 250/s at 64 ms. */
export const INITIAL_IN_FLIGHT = 16;
/** Catch-up room over Little's law: after a stall the limiter releases its backlog at up to twice the share. */
export const HEADROOM = 2;
/** An event loop busier than this over a tick is CPU-bound: more sends in flight would not go out sooner. */
export const BUSY_UTILIZATION = 0.8;
/** A mean latency this many times the fastest answer is mostly queueing (on the quiet machine the stand-in's
 * 60 ms answered the quiet machine's pacing run at a mean of at most 1.07 times its fastest, since 16 in
 * flight carried 0.992 of 250/s; on the loaded machine at 1.3-4 times, and with 0 ms at 5-12 times:
 * docs/bench-inflight.md). */
export const QUEUED_LATENCY = 2;
/** The share of the window's slot-time spent waiting on SES above which the window is full. */
export const FULL = 0.8;
/** How often the window is reconsidered (long enough for the event loop's utilisation to mean something). */
export const TICK_MS = 250;

export interface InFlightWindowOptions {
  /** The most sends in flight (maxInFlight). */
  max: number;
  now: () => number;
  /** This thread's event loop utilisation (0-1) since the previous call (`eventLoopBusy()`). */
  busy: () => number;
  /** The rate the limiter now releases at, sends a second. */
  rate: () => number;
  /** The limiter's starved milliseconds so far (AdaptiveRateLimiter.starvedMs). */
  starvedMs: () => number;
  /** The fastest answers of this process (shared by its batches, so a batch's first burst, every send of it
   * queued alike, is not mistaken for SES's own time). */
  floor: LatencyFloor;
  tickMs?: number;
}

export class InFlightWindow {
  /** The sends that may be in flight now (between `initial` and `max`). */
  size: number;
  /** The largest size reached. */
  peak: number;
  readonly initial: number;
  private latencyMs: number | undefined;
  private sampleSum = 0;
  private samples = 0;
  private tickStart: number;
  private starvedAtTick: number;
  private readonly tickMs: number;

  constructor(private readonly o: InFlightWindowOptions) {
    if (!(o.max >= 1)) throw new Error('the window needs room for one send');
    this.initial = Math.min(Math.floor(o.max), INITIAL_IN_FLIGHT);
    this.size = this.initial;
    this.peak = this.size;
    this.tickMs = o.tickMs ?? TICK_MS;
    this.tickStart = o.now();
    this.starvedAtTick = o.starvedMs();
    o.busy(); // the utilisation counts from here
  }

  /** The latency SES answered one send with (accepted or refused), in ms. */
  observe(latencyMs: number): void {
    this.sampleSum += latencyMs;
    this.samples++;
    this.o.floor.observe(latencyMs, this.o.now());
  }

  /** What Little's law asks for at the latency measured so far, with catch-up room, within the bounds. */
  get needed(): number {
    if (this.latencyMs === undefined) return this.initial;
    const littles = Math.ceil(((this.o.rate() * this.latencyMs) / 1000) * HEADROOM);
    return Math.min(this.o.max, Math.max(this.initial, littles));
  }

  /** Reconsiders the size once a tick has passed; returns the size. */
  update(): number {
    const now = this.o.now();
    if (now - this.tickStart < this.tickMs) return this.size;
    // The sends' time at SES in the tick, in slots: what the window held on average (Little's law).
    const occupied = this.sampleSum / (now - this.tickStart);
    if (this.samples > 0) {
      const mean = this.sampleSum / this.samples;
      // Half the weight on the last tick: follows a change within a few ticks, not one slow answer.
      this.latencyMs = this.latencyMs === undefined ? mean : (this.latencyMs + mean) / 2;
    }
    this.sampleSum = 0;
    this.samples = 0;
    const starved = this.o.starvedMs() - this.starvedAtTick;
    this.starvedAtTick = this.o.starvedMs();
    this.tickStart = now;
    const queued =
      this.latencyMs !== undefined && this.latencyMs > QUEUED_LATENCY * this.o.floor.fastestMs(now);
    const busy = this.o.busy() >= BUSY_UTILIZATION || queued;
    const needed = this.needed;
    if (busy) this.size -= Math.ceil((this.size - this.initial) / 2);
    else if (starved >= 1000 / this.o.rate() && occupied >= FULL * this.size)
      this.size = Math.max(this.size, Math.min(needed, Math.ceil(this.size * 1.5)));
    else if (this.size > needed) this.size--;
    this.peak = Math.max(this.peak, this.size);
    return this.size;
  }
}

/** This thread's event loop utilisation since the previous call (the first call: since the thread began). */
export function eventLoopBusy(): () => number {
  let last = performance.eventLoopUtilization();
  return () => {
    const now = performance.eventLoopUtilization();
    const since = performance.eventLoopUtilization(now, last);
    last = now;
    return since.utilization;
  };
}

/** How long an answer counts as the fastest lately (two buckets of it: a floor from 15-30 s of answers). */
const FLOOR_BUCKET_MS = 15_000;

/**
 * The fastest SES answer of this process lately: what a send costs without queueing anywhere. Built once
 * per process (core/app.ts) and shared by its batches; the two buckets let a floor that rose (SES slower
 * today, a new region) take over within 30 s.
 */
export class LatencyFloor {
  private current = Number.POSITIVE_INFINITY;
  private previous = Number.POSITIVE_INFINITY;
  private bucketStart: number | undefined;

  observe(latencyMs: number, now: number): void {
    this.rotate(now);
    if (latencyMs < this.current) this.current = latencyMs;
  }

  fastestMs(now: number): number {
    this.rotate(now);
    return Math.min(this.current, this.previous);
  }

  private rotate(now: number): void {
    if (this.bucketStart === undefined) this.bucketStart = now;
    if (now - this.bucketStart < FLOOR_BUCKET_MS) return;
    // A whole bucket without answers leaves nothing to keep.
    this.previous = now - this.bucketStart < 2 * FLOOR_BUCKET_MS ? this.current : Number.POSITIVE_INFINITY;
    this.current = Number.POSITIVE_INFINITY;
    this.bucketStart = now;
  }
}
