/**
 * One send rate for the whole campaign, shared by its Map children (separate Lambdas on AWS, threads
 * locally), so a child that is starting or finishing lends its unused rate to the others instead of
 * letting it go to waste.
 *
 * Time is cut into windows of `windowMs` (on the epoch clock, which Lambda keeps in sync). Window w may
 * carry `cap(w)` sends, the campaign rate's share of it (whole numbers whose sum over any run of windows
 * is the rate times the time, to within one). A child takes tokens for the current window in chunks with
 * one atomic counter increment in a shared store (DynamoDB's `ADD` on an item per campaign and window);
 * the count before its increment says how many of its chunk fit under the cap. So in any window the
 * children together send at most cap(w), whatever their number, clocks being equal. Tokens left at the
 * end of a window are dropped, not carried, so no window ever sees more than its cap.
 *
 * Each child still paces itself (core/sending/rate-limiter.ts) at a little above its equal share, so a
 * window's tokens are spread over the window rather than sent in a burst at its start. If the store
 * fails, a child falls back to its equal share for that window: never faster than without the budget.
 */

/** The shared counters: an atomic add that returns the count after it. */
export interface RateWindowStore {
  add(campaignId: string, run: number, window: number, n: number): Promise<number>;
}

export interface RateBudgetOptions {
  store: RateWindowStore;
  campaignId: string;
  run: number;
  /** The campaign's rate, emails per second, for all its children together. */
  rate: number;
  /** The children at once (the Map's MaxConcurrency): sets the chunk so each takes about a few per window. */
  children: number;
  windowMs?: number;
  /** Epoch milliseconds. */
  now?: () => number;
  /** How fast this child sends at most (its limiter's rate), emails per second; default childCeiling. */
  paceRate?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export const RATE_WINDOW_MS = 200;

/**
 * How fast one of `children` children of a campaign at `rate` may go: above its equal share, so that while
 * one child is starting or finishing the others can use its rate (the budget keeps them together within
 * the campaign's rate). With few children each must cover a larger part of an idle one's share: 30% more
 * for five or more, 120% more with two (so one alone can go a little above the whole rate while the other
 * switches batches). One child has nobody to lend to: 30% for timer lateness.
 */
export function childCeiling(rate: number, children: number): number {
  const share = rate / Math.max(1, children);
  const headroom = children > 1 ? Math.max(0.3, 1.2 / (children - 1)) : 0.3;
  return share * (1 + headroom);
}

/** Sends window `w` may carry at `rate`: whole numbers that add up to the rate over any run of windows. */
export function windowCap(rate: number, windowMs: number, w: number): number {
  const perWindow = (rate * windowMs) / 1000;
  return Math.floor((w + 1) * perWindow) - Math.floor(w * perWindow);
}

/** One window's tokens as this child sees them. */
interface WindowState {
  tokens: number;
  /** The store granted less than asked: the window is used up for everyone. */
  full: boolean;
  asked: boolean;
  refilling: Promise<void> | undefined;
}

export class CampaignRateBudget {
  private readonly windowMs: number;
  private readonly chunk: number;
  private readonly now: () => number;
  private readonly paceRate: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** The current window and the next (asked for ahead, so a window never starts with a store call). */
  private readonly windows = new Map<number, WindowState>();
  /** Store calls that failed (the child then kept to its equal share for that window). */
  storeFailures = 0;
  /** Tokens taken from the store. */
  taken = 0;
  /** The most this child should send per second (childCeiling): its limiter's target. */
  readonly childCeiling: number;

  constructor(private readonly o: RateBudgetOptions) {
    this.windowMs = o.windowMs ?? RATE_WINDOW_MS;
    const perWindow = (o.rate * this.windowMs) / 1000;
    // About four takes per child per window: few store calls, and little left unused when a child ends.
    this.chunk = Math.max(1, Math.floor(perWindow / (4 * Math.max(1, o.children))));
    this.now = o.now ?? Date.now;
    this.childCeiling = childCeiling(o.rate, o.children);
    this.paceRate = o.paceRate ?? (() => this.childCeiling);
    this.sleep = o.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  private state(w: number): WindowState {
    let state = this.windows.get(w);
    if (!state) {
      state = { tokens: 0, full: false, asked: false, refilling: undefined };
      this.windows.set(w, state);
      // Tokens of a window that has ended are dropped, never carried.
      for (const old of this.windows.keys()) if (old < w - 1) this.windows.delete(old);
    }
    return state;
  }

  /** Resolves when this child may send one email under the campaign's rate. */
  async take(): Promise<void> {
    for (;;) {
      const now = this.now();
      const w = Math.floor(now / this.windowMs);
      const state = this.state(w);
      // In the second half of a window, ask for the next one's first chunk: the store's latency then
      // never holds the senders up at a window's start.
      if (now - w * this.windowMs >= this.windowMs / 2) {
        const next = this.state(w + 1);
        if (!next.asked) void this.refill(w + 1, next, this.chunk);
      }
      if (state.tokens > 0) {
        state.tokens--;
        // Ask for the next chunk before this one runs out, so the store's latency is not a pause.
        if (state.tokens * 2 < this.chunk && !state.full && this.wanted(w, state) > 0)
          void this.refill(w, state, this.wanted(w, state));
        return;
      }
      if (state.full) {
        await this.sleep(Math.max(1, (w + 1) * this.windowMs - now));
        continue;
      }
      await this.refill(w, state, Math.max(1, this.wanted(w, state)));
    }
  }

  /** What this child can still send in window w beyond the tokens it holds, up to a chunk: tokens are
   * dropped when their window ends, and ones taken but not sent are lost to the other children too. */
  private wanted(w: number, state: WindowState): number {
    const left = (w + 1) * this.windowMs - this.now();
    return Math.min(this.chunk, Math.ceil((this.paceRate() * left) / 1000) - state.tokens);
  }

  private refill(w: number, state: WindowState, want: number): Promise<void> {
    state.asked = true;
    state.refilling ??= this.takeChunk(w, state, want).finally(() => {
      state.refilling = undefined;
    });
    return state.refilling;
  }

  private async takeChunk(w: number, state: WindowState, want: number): Promise<void> {
    const { o } = this;
    const cap = windowCap(o.rate, this.windowMs, w);
    let granted: number;
    try {
      const after = await o.store.add(o.campaignId, o.run, w, want);
      granted = Math.max(0, Math.min(want, cap - (after - want)));
      if (granted < want) state.full = true;
    } catch {
      this.storeFailures++;
      // No shared count: this child's equal share of the window, and no more for it.
      granted = state.full ? 0 : Math.max(1, Math.floor(cap / Math.max(1, o.children)));
      state.full = true;
    }
    this.taken += granted;
    state.tokens += granted;
  }
}

/** The store in one process: for tests and the local engine's single thread. */
export class MemoryRateWindows implements RateWindowStore {
  private readonly counts = new Map<string, number>();
  async add(campaignId: string, run: number, window: number, n: number): Promise<number> {
    const key = `${campaignId}/${run}/${window}`;
    const after = (this.counts.get(key) ?? 0) + n;
    this.counts.set(key, after);
    if (this.counts.size > 10_000) this.counts.clear();
    return after;
  }
}
