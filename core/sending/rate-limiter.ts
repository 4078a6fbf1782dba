/**
 * Spaces sends so one worker never exceeds its share of the campaign rate, and slows down when SES says
 * it is throttling (multiplicative decrease), creeping back towards the target while sends succeed
 * (additive increase). Concurrent senders queue for slots and are released one at a time.
 *
 * Pacing is a generic cell rate algorithm (GCRA): a theoretical release time advances one interval per
 * release, so a release that comes late (a timer firing late, an event loop busy rendering, a process the
 * machine did not schedule) keeps the grid, and the releases after it catch up. The backlog is bounded:
 * the grid never falls more than `maxLateMs` behind the clock, so a long stall is caught up by at most that
 * long's worth of sends, and the rest of it is rate given up. On top of that, a hard cap: no sliding second
 * ever holds more than ceil(target) releases (the last ceil(target) release times are kept in a ring, and a
 * release waits until the oldest of them is a second old), so catching up never exceeds the rate in any
 * second SES might count.
 */
export interface RateLimiterOptions {
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Lowest fraction of the target the limiter falls to under throttling. */
  floor?: number;
  /** Where to start, when an earlier batch of the same campaign learnt that the target is too fast. */
  initialRate?: number;
  /**
   * A burst of throttles from sends that were already in flight is one signal, not many: the rate is
   * halved at most once per this many milliseconds (default 200).
   */
  cooldownMs?: number;
  /**
   * How far behind its grid the limiter may fall and still catch up (the GCRA's tolerance): stalls up to
   * this long cost no rate; after a longer one, at most this long's worth of sends goes at once. Default
   * CATCH_UP_MS.
   */
  maxLateMs?: number;
}

/**
 * The default catch-up tolerance: longer than the stalls a busy sender thread sees (garbage collection,
 * rendering a batch's first emails, a loaded machine not scheduling it for a few tens of ms), short enough
 * that the burst after a long stall (a tenth of a second's sends) stays far inside a second's rate.
 */
export const CATCH_UP_MS = 100;
/** The window of the hard cap: SES counts its maximum send rate per second. */
const WINDOW_MS = 1000;
/** A limiter asked for more than this a second keeps no ring (no sender goes that fast; it would only cost memory). */
const MAX_CAPPED_RATE = 100_000;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class AdaptiveRateLimiter {
  private current: number;
  /** The theoretical time of the next release; undefined until the first (a fresh limiter starts now). */
  private nextSlot: number | undefined;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly floor: number;
  private readonly cooldownMs: number;
  private readonly maxLateMs: number;
  /** The last ceil(target) release times, oldest at `ringNext` once full. */
  private readonly ring: Float64Array;
  private ringNext = 0;
  private ringFull = false;
  private lastDecrease = Number.NEGATIVE_INFINITY;
  private readonly waiters: (() => void)[] = [];
  private pumping = false;
  private closed = false;
  /** With no caller waiting: when the next release would have been allowed (undefined while one waits). */
  private idleDueAt: number | undefined;
  private starved = 0;

  constructor(
    readonly target: number,
    options: RateLimiterOptions = {},
  ) {
    if (!(target > 0)) throw new Error('the rate must be positive');
    this.now = options.now ?? (() => performance.now());
    this.sleep = options.sleep ?? defaultSleep;
    this.floor = options.floor ?? 0.05;
    this.cooldownMs = options.cooldownMs ?? 200;
    this.maxLateMs = Math.max(0, options.maxLateMs ?? CATCH_UP_MS);
    this.ring = new Float64Array(target <= MAX_CAPPED_RATE ? Math.ceil(target) : 0);
    const initial = options.initialRate ?? target;
    this.current = Math.min(target, Math.max(target * this.floor, initial > 0 ? initial : target));
  }

  /** Milliseconds until the next send may go (0 if it may go now). */
  get waitMs(): number {
    const now = this.now();
    return Math.max(0, (this.nextSlot ?? now) - now, this.windowWait(now));
  }

  get rate(): number {
    return this.current;
  }

  /**
   * Milliseconds, in all, during which a release was allowed and no caller was waiting for one: the rate
   * the callers left unused (every caller busy elsewhere, e.g. all of a sender's slots waiting on SES).
   * A caller that arrives before its slot adds nothing; one that arrives late adds how late it came.
   */
  get starvedMs(): number {
    return this.starved;
  }

  /**
   * Resolves when the caller may send. Waiters are released one at a time, in order, on a grid of
   * 1000/rate ms; a late release keeps the grid (the next ones catch up), within `maxLateMs`. In any window
   * of W ms the releases are at most (W + maxLateMs) x rate / 1000 + 1, and in any 1000 ms at most
   * ceil(target).
   */
  acquire(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.idleDueAt !== undefined) {
      this.starved += Math.max(0, this.now() - this.idleDueAt);
      this.idleDueAt = undefined;
    }
    return new Promise<void>((resolve) => {
      this.waiters.push(resolve);
      if (!this.pumping) void this.pump();
    });
  }

  /** Releases every waiter now and lets later calls through at once (the caller is stopping). */
  close(): void {
    this.closed = true;
    for (const release of this.waiters.splice(0)) release();
  }

  /** How long until a release would keep the last second at ceil(target) releases. */
  private windowWait(now: number): number {
    if (!this.ringFull) return 0;
    return Math.max(0, (this.ring[this.ringNext] as number) + WINDOW_MS - now);
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.waiters.length > 0 && !this.closed) {
        const now = this.now();
        const slot = this.nextSlot ?? now;
        const windowWait = this.windowWait(now);
        // Sub-millisecond waits for the grid cost more in timers than they save (the grid keeps the
        // average); the hard cap is waited for whatever it takes.
        if (slot - now >= 1 || windowWait > 0) {
          await this.sleep(Math.max(slot - now, windowWait));
          continue;
        }
        // A release later than its slot keeps the grid, so the next ones catch up, but the grid never
        // trails the clock by more than maxLateMs: a longer stall's rate is given up, not sent in a burst.
        this.nextSlot = Math.max(slot, now - this.maxLateMs) + 1000 / this.current;
        if (this.ring.length > 0) {
          this.ring[this.ringNext] = now;
          this.ringNext = (this.ringNext + 1) % this.ring.length;
          if (this.ringNext === 0) this.ringFull = true;
        }
        this.waiters.shift()?.();
      }
    } finally {
      this.pumping = false;
      if (this.waiters.length === 0 && !this.closed && this.nextSlot !== undefined) {
        const now = this.now();
        this.idleDueAt = Math.max(now, this.nextSlot, now + this.windowWait(now));
      }
    }
  }

  throttled(): void {
    const now = this.now();
    if (now - this.lastDecrease >= this.cooldownMs) {
      this.current = Math.max(this.target * this.floor, this.current / 2);
      this.lastDecrease = now;
    }
    // Push the next slot out too, so the senders already queued do not hit SES again at once (and drop
    // any backlog: a throttled limiter must not catch up).
    this.nextSlot = Math.max(this.nextSlot ?? now, now + 1000 / this.current);
    if (this.idleDueAt !== undefined) this.idleDueAt = Math.max(this.idleDueAt, this.nextSlot);
  }

  /**
   * Additive increase, by a tenth of the target per second of successful sends (each success adds
   * target / 10 / rate): the rate a halving gave up comes back over about five seconds, so senders
   * sharing one SES limit settle just under it instead of hitting it again within a few sends.
   */
  succeeded(): void {
    if (this.current < this.target)
      this.current = Math.min(this.target, this.current + this.target / 10 / this.current);
  }
}
