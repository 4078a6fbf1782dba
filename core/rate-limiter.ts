/**
 * Spaces sends so one worker never exceeds its share of the campaign rate, and slows down when SES says
 * it is throttling (multiplicative decrease), creeping back towards the target while sends succeed
 * (additive increase). Each `acquire` reserves its own slot, so concurrent senders never share one.
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
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class AdaptiveRateLimiter {
  private current: number;
  private nextSlot = 0;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly floor: number;
  private readonly cooldownMs: number;
  private lastDecrease = Number.NEGATIVE_INFINITY;

  constructor(
    readonly target: number,
    options: RateLimiterOptions = {},
  ) {
    if (!(target > 0)) throw new Error('the rate must be positive');
    this.now = options.now ?? (() => performance.now());
    this.sleep = options.sleep ?? defaultSleep;
    this.floor = options.floor ?? 0.05;
    this.cooldownMs = options.cooldownMs ?? 200;
    const initial = options.initialRate ?? target;
    this.current = Math.min(target, Math.max(target * this.floor, initial > 0 ? initial : target));
  }

  get rate(): number {
    return this.current;
  }

  async acquire(): Promise<void> {
    const now = this.now();
    const slot = Math.max(now, this.nextSlot);
    this.nextSlot = slot + 1000 / this.current;
    const wait = slot - now;
    // Sub-millisecond waits cost more in timers than they save; the slot is still reserved.
    if (wait >= 1) await this.sleep(wait);
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

  succeeded(): void {
    if (this.current < this.target) this.current = Math.min(this.target, this.current + this.target / 50);
  }
}
