/**
 * What the pacing tests share: a fake clock whose sleeps resolve in time order (optionally late, and held
 * back through stalls of the whole process), and the busiest sliding window of a list of send times.
 */

/** The most times in any window [t, t + ms) (the busiest starts at one of them). */
export function busiestWindow(times: readonly number[], ms = 1000): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (j < sorted.length && (sorted[j] as number) < (sorted[i] as number) + ms) j++;
    best = Math.max(best, j - i);
  }
  return best;
}

export interface FakeTimersOptions {
  /** Each timer fires this much late, taken in turn (default: on time). */
  jitter?: readonly number[];
  /** Spans in which nothing runs: a timer due inside one fires at its end. */
  stalls?: readonly { at: number; ms: number }[];
}

/**
 * Sleeps resolve in time order and the clock jumps to each; promise chains run in between. `run(until)`
 * fires every timer due by `until` and leaves later ones for the next `run`.
 */
export class FakeTimers {
  now = 0;
  private timers: { at: number; resolve: () => void }[] = [];
  private tick = 0;
  private readonly jitter: readonly number[];
  private readonly stalls: readonly { at: number; ms: number }[];

  constructor(options: FakeTimersOptions = {}) {
    this.jitter = options.jitter ?? [];
    this.stalls = options.stalls ?? [];
  }

  sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const late = this.jitter.length ? (this.jitter[this.tick++ % this.jitter.length] as number) : 0;
      this.timers.push({ at: this.now + Math.max(0, ms) + late, resolve });
    });

  async run(untilMs: number): Promise<void> {
    for (;;) {
      // Let every resolved promise chain run until each task waits on a timer again (a macrotask runs only
      // once every microtask is done), so nothing is recorded after the clock has moved on.
      await new Promise((r) => setImmediate(r));
      if (this.timers.length === 0) return;
      let k = 0;
      for (let i = 1; i < this.timers.length; i++)
        if ((this.timers[i] as { at: number }).at < (this.timers[k] as { at: number }).at) k = i;
      const next = this.timers.splice(k, 1)[0] as { at: number; resolve: () => void };
      let at = Math.max(this.now, next.at);
      for (const stall of this.stalls)
        if (at >= stall.at && at < stall.at + stall.ms) at = stall.at + stall.ms;
      if (at > untilMs) {
        this.timers.push(next);
        return;
      }
      this.now = at;
      next.resolve();
    }
  }
}
