/**
 * Spaces sends so one worker never exceeds its share of the campaign rate, and slows down when SES says
 * it is throttling (multiplicative decrease), creeping back towards the target while sends succeed
 * (additive increase). Concurrent senders queue for slots and are released one at a time.
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
   * A release up to this late keeps to the grid, so the releases after it catch up (a burst of at most
   * this long's worth). Default: half an interval, at most 5 ms (timer jitter, not a busy process).
   */
  maxLateMs?: number;
}

/** How late a release may be and still count as on time (timer jitter, not a busy process). */
const MAX_JITTER_MS = 5;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class AdaptiveRateLimiter {
  private current: number;
  private nextSlot = 0;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly floor: number;
  private readonly cooldownMs: number;
  private readonly maxLateMs: number | undefined;
  private lastDecrease = Number.NEGATIVE_INFINITY;
  private readonly waiters: (() => void)[] = [];
  private pumping = false;
  private closed = false;

  constructor(
    readonly target: number,
    options: RateLimiterOptions = {},
  ) {
    if (!(target > 0)) throw new Error('the rate must be positive');
    this.now = options.now ?? (() => performance.now());
    this.sleep = options.sleep ?? defaultSleep;
    this.floor = options.floor ?? 0.05;
    this.cooldownMs = options.cooldownMs ?? 200;
    this.maxLateMs = options.maxLateMs;
    const initial = options.initialRate ?? target;
    this.current = Math.min(target, Math.max(target * this.floor, initial > 0 ? initial : target));
  }

  /** Milliseconds until the next send may go (0 if it may go now). */
  get waitMs(): number {
    return Math.max(0, this.nextSlot - this.now());
  }

  get rate(): number {
    return this.current;
  }

  /**
   * Resolves when the caller may send. Waiters are released one at a time, in order, on a grid of
   * 1000/rate ms. A release up to half an interval (at most 5 ms) late keeps to the grid, so a timer's
   * usual lateness does not lower the rate; a release later than that (a busy event loop) starts the grid
   * again from now rather than letting the queue catch up in a burst. In any window of W ms the releases
   * are at most W x rate / 1000 + 2.
   */
  acquire(): Promise<void> {
    if (this.closed) return Promise.resolve();
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

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.waiters.length > 0 && !this.closed) {
        const now = this.now();
        const wait = this.nextSlot - now;
        // Sub-millisecond waits cost more in timers than they save.
        if (wait >= 1) {
          await this.sleep(wait);
          continue;
        }
        const interval = 1000 / this.current;
        // A release a little late (timers fire a millisecond or so after they are due) keeps to the grid,
        // or every late timer would lower the rate; one later than that starts the grid again from now.
        const onTime = now - this.nextSlot <= (this.maxLateMs ?? Math.min(interval / 2, MAX_JITTER_MS));
        this.nextSlot = (onTime ? this.nextSlot : now) + interval;
        this.waiters.shift()?.();
      }
    } finally {
      this.pumping = false;
    }
  }

  throttled(): void {
    const now = this.now();
    if (now - this.lastDecrease >= this.cooldownMs) {
      this.current = Math.max(this.target * this.floor, this.current / 2);
      this.lastDecrease = now;
    }
    // Push the next slot out too, so the senders already queued do not hit SES again at once.
    this.nextSlot = Math.max(this.nextSlot, now + 1000 / this.current);
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
