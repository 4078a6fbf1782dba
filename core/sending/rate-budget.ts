/**
 * One send rate for the whole campaign, shared by its Map children (separate Lambdas on AWS, threads
 * locally), so a child that is starting or finishing lends its unused rate to the others instead of
 * letting it go to waste, and so that no sliding second ever carries more than the rate.
 *
 * The campaign's time is a grid of slots on the epoch clock (which Lambda keeps in sync), `slotMs` apart:
 * a send may go only on a slot it holds, no earlier than the slot and at most `RATE_LATE_MS` after it, and
 * no slot is ever held by two senders. The slots are a little further apart than 1000 / rate: by the time a
 * send may be late plus twice the clocks' error (`RATE_SLACK_MS`), so the sends of any one second come from
 * slots within a second plus that slack, and those are at most the rate. That holds for any alignment,
 * any number of children, and children that crash holding slots (theirs simply go unused).
 *
 * Slots are handed out in chunks through one atomic counter per campaign run in the ledger table (a
 * DynamoDB `UpdateItem ADD`, see RateSlotStore). A chunk is not a run of neighbouring slots, which a child
 * could only use in a burst: the grid is cut into frames of `lanes x chunk` slots, and chunk j of a frame
 * holds every `lanes`-th slot from its j-th, so a chunk comes due at one child's equal share of the rate.
 * A child claims another chunk when a sender of it finds no slot held, so a child with more to send than
 * its share (because another is idle) holds two chunks of a frame while the idle one holds none.
 *
 * A counter that has fallen behind the clock (no one claimed for a while) is moved up to the current frame
 * rather than added to: slots that went by unclaimed are rate nobody used, and must not be sent late.
 *
 * What it gives up, by design: the slack (1.5% of the rate with RATE_SLACK_MS of 15), slots of a chunk a
 * child claimed and then had no rows for (at most a chunk less one per batch), and slots whose sender woke
 * more than RATE_LATE_MS late, when no other sender of the child was awake to take them (a busy machine).
 *
 * Each child still paces itself (core/sending/rate-limiter.ts) a little above its equal share, and halves
 * that on SES's 429s. If the store fails, a child takes a chunk of its own at its equal share: never faster
 * than without the budget.
 */

/** The shared counter of a campaign run's chunks. */
export interface RateSlotStore {
  /**
   * Claims one chunk: if the counter is at `from` or past it, returns its value and adds one; otherwise
   * returns `from` and sets the counter to `from + 1`. Atomic: no two claims ever get the same chunk.
   */
  claim(campaignId: string, run: number, from: number): Promise<number>;
}

export interface RateBudgetOptions {
  store: RateSlotStore;
  campaignId: string;
  run: number;
  /** The campaign's rate, emails per second, for all its children together. */
  rate: number;
  /** The children at once (the Map's MaxConcurrency): the lanes of a frame, so a chunk comes due at a share. */
  children: number;
  /** Epoch milliseconds (the same clock in every child). */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** How late a send may go after its slot; a held slot older than this is given up. */
export const RATE_LATE_MS = 10;
/** How far two children's clocks may differ from the true time, each way (Lambda's clock is NTP-synced to
 * well under a millisecond; threads of one process share one). */
export const RATE_CLOCK_ERROR_MS = 2;
/** What slots are spaced by beyond a second's share: lateness, both clocks' error and the clock's 1 ms tick. */
export const RATE_SLACK_MS = RATE_LATE_MS + 2 * RATE_CLOCK_ERROR_MS + 1;
/** How many claims a second the counter may take (one DynamoDB item: well under its 1,000 writes/s). */
export const RATE_CLAIMS_PER_SECOND = 250;

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

/** The grid of a campaign run at `rate` with `children`: the same in every child, from the same inputs. */
export interface RateGrid {
  /** Milliseconds between slots. */
  slotMs: number;
  /** Chunks per frame. */
  lanes: number;
  /** Slots per chunk. */
  chunk: number;
}

export function rateGrid(rate: number, children: number): RateGrid {
  if (!(rate > 0)) throw new Error('the rate must be positive');
  return {
    slotMs: (1000 + RATE_SLACK_MS) / rate,
    lanes: Math.max(1, Math.round(children)),
    chunk: Math.max(1, Math.ceil(rate / RATE_CLAIMS_PER_SECOND)),
  };
}

/** The slots of chunk `q`, in order: frame q / lanes, every lanes-th slot from lane q % lanes. */
export function chunkSlots(grid: RateGrid, q: number): number[] {
  const frame = Math.floor(q / grid.lanes);
  const first = frame * grid.lanes * grid.chunk + (q - frame * grid.lanes);
  return Array.from({ length: grid.chunk }, (_, k) => first + k * grid.lanes);
}

/**
 * Where a counter behind the clock moves up to: the first chunk of the frame due at `at` (the claim's
 * answer is expected then). Only slots due before `at` are skipped, and no claim could use those in time.
 */
export function currentChunk(grid: RateGrid, at: number): number {
  const slot = Math.floor(at / grid.slotMs);
  return Math.floor(slot / (grid.lanes * grid.chunk)) * grid.lanes;
}

export class CampaignRateBudget {
  readonly grid: RateGrid;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** When this child's held slots are due (epoch ms), earliest first. */
  private readonly held: number[] = [];
  /** Claims on their way, and senders in take() with no slot to wait on. */
  private inFlight = 0;
  private waiting = 0;
  /** The held slots a sender in take() is asleep on (each sender aims at a different one). */
  private readonly aimed = new Set<number>();
  /** Resolves when the next claim lands (a sender without a slot waits on it when a claim will serve it). */
  private landed: Promise<void>;
  private wake: () => void = () => {};
  /** The store's round trip, as last seen (at least) and smoothed: how far ahead a claim aims. */
  private roundTripMs = 0;
  /** Sends still to come that have no slot yet (the worker loop's rows not yet started); default: some. */
  private pending: () => number = () => 1;
  private stopped: () => boolean = () => false;
  /** How late this process's timers fire, smoothed: take() sets its timers that much early. */
  private timerLateMs = 0;
  /** The equal-share chunk a child takes alone when the store fails: when its next slot would be. */
  private localNext = 0;
  /** Store calls that failed (the child then kept to its equal share for that chunk). */
  storeFailures = 0;
  /** Chunks claimed from the store. */
  claimed = 0;
  /** Slots used, and slots given up (woken too late, or the child had nothing left to send on them). */
  used = 0;
  expired = 0;
  /** The most this child should send per second (childCeiling): its limiter's target. */
  readonly childCeiling: number;

  constructor(private readonly o: RateBudgetOptions) {
    this.grid = rateGrid(o.rate, o.children);
    this.now = o.now ?? Date.now;
    this.childCeiling = childCeiling(o.rate, o.children);
    this.sleep = o.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.landed = new Promise((resolve) => {
      this.wake = resolve;
    });
  }

  /**
   * How many sends are still to come beyond those waiting in take() (a child with none claims no more),
   * and whether the caller is stopping (take() then returns at once, and the caller must not send).
   */
  setPending(pending: () => number, stopped?: () => boolean): void {
    this.pending = pending;
    if (stopped) this.stopped = stopped;
  }

  /** Slots held and not yet used. */
  get holding(): number {
    return this.held.length;
  }

  /**
   * Resolves when this child may send one email under the campaign's rate: at one of its slots, never
   * before it and at most RATE_LATE_MS after it. The caller must send at once (no await in between).
   */
  async take(): Promise<void> {
    for (;;) {
      // Stopping (the batch met a systemic failure): the caller sees it and sends nothing.
      if (this.stopped()) return;
      const now = this.now();
      while (this.held.length > 0 && (this.held[0] as number) < now - RATE_LATE_MS) {
        this.held.shift();
        this.expired++;
      }
      const first = this.held[0];
      // The earliest held slot no other sender is asleep on (this one's own timer aims at it).
      const target = this.held.find((due) => !this.aimed.has(due));
      if (first === undefined || (first > now && target === undefined)) {
        // No held slot left that another sender is not already asleep on. Claims in flight bring a chunk
        // each: start another only for senders they will not serve, so a child sending above its share is
        // not held to one store round trip per chunk (and takes two chunks of a frame while an idle one
        // takes none).
        this.waiting++;
        try {
          if (this.inFlight * this.grid.chunk < this.waiting) await this.claim();
          else await this.landed;
        } finally {
          this.waiting--;
        }
        continue;
      }
      if (first <= now) {
        // A held slot is due and at most RATE_LATE_MS old: any sender awake takes it, whichever slot its
        // own timer was aimed at, so a slot one sender's late timer missed goes to another that is awake.
        this.held.shift();
        // The next chunk before this one runs out (every slot left has a sender asleep on it), so the
        // store's latency is not a pause.
        if (this.inFlight === 0 && this.pending() > 0 && this.held.every((due) => this.aimed.has(due)))
          void this.claim();
        this.used++;
        return;
      }
      // Nothing due yet: sleep towards a slot of its own, early by how late timers have been firing, so a
      // process whose timers are always late still sends. Waking early is harmless: it waits out the rest.
      const slot = target as number;
      const wait = slot + RATE_LATE_MS / 2 - this.timerLateMs - now;
      this.aimed.add(slot);
      try {
        if (wait > 0) {
          await this.sleep(wait);
          const late = this.now() - (now + wait);
          this.timerLateMs = Math.min(1000, 0.8 * this.timerLateMs + 0.2 * Math.max(0, late));
        }
        const early = slot - this.now();
        if (early > 0) await this.sleep(early);
      } finally {
        this.aimed.delete(slot);
      }
    }
  }

  private async claim(): Promise<void> {
    const { o, grid } = this;
    this.inFlight++;
    let dues: number[];
    try {
      // Aimed past the store's round trip, so a counter moved up hands out slots that are still ahead when
      // the answer comes back (a frame can be shorter than a round trip).
      const asked = this.now();
      const q = await o.store.claim(o.campaignId, o.run, currentChunk(grid, asked + this.roundTripMs));
      const took = this.now() - asked;
      this.roundTripMs = Math.max(took, 0.8 * this.roundTripMs + 0.2 * took);
      this.claimed++;
      dues = chunkSlots(grid, q).map((slot) => slot * grid.slotMs);
    } catch {
      this.storeFailures++;
      // No shared counter: a chunk at this child's equal share, from its last local slot.
      const interval = grid.slotMs * grid.lanes;
      const start = Math.max(this.now(), this.localNext);
      dues = Array.from({ length: grid.chunk }, (_, k) => start + k * interval);
      this.localNext = start + grid.chunk * interval;
    } finally {
      this.inFlight--;
    }
    const now = this.now();
    const late = dues.filter((due) => due < now - RATE_LATE_MS).length;
    this.expired += late;
    // Chunks of one frame interleave: keep the held slots in time order.
    for (const due of dues.slice(late)) {
      let i = this.held.length;
      while (i > 0 && (this.held[i - 1] as number) > due) i--;
      this.held.splice(i, 0, due);
    }
    const wake = this.wake;
    this.landed = new Promise((resolve) => {
      this.wake = resolve;
    });
    wake();
  }

  /** Gives up the slots still held (the child has nothing left to send): counted as expired. */
  close(): void {
    this.expired += this.held.length;
    this.held.length = 0;
  }
}

/** The store in one process: for tests and the local engine's single thread. */
export class MemoryRateSlots implements RateSlotStore {
  private readonly counters = new Map<string, number>();
  async claim(campaignId: string, run: number, from: number): Promise<number> {
    const key = `${campaignId}/${run}`;
    const at = this.counters.get(key);
    const q = at === undefined || at < from ? from : at;
    this.counters.set(key, q + 1);
    return q;
  }
}
