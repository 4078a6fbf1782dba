/**
 * The worker loop of one batch: a pool of workers drains the rows to send, each send paced by the rate
 * limiter, held back by the ledger writer's exposure bound, retried with jitter, and stopped by the first
 * systemic failure (the gate, SES refusing the account, throttling or failures that outlast the attempts,
 * the deadline, the ledger). One worker is one send in flight; their number follows the in-flight window
 * (core/sending/in-flight-window.ts: the rate times SES's latency, never above `maxInFlight`).
 *
 * The crash bound: at most `maxInFlight + 2 x groupSize` sends are ever accepted by SES and not yet in the
 * ledger (the ledger writer's `maxExposed`). It holds for any window: the window never exceeds
 * `maxInFlight`, workers are added only up to the window, and a shrinking window only retires workers.
 */
import {
  CampaignStoppedError,
  SesSendingStoppedError,
  SesThrottledError,
  SesTransientError,
  type SixbackError,
} from '../errors.ts';
import type { RowOutcome } from '../schemas.ts';
import {
  type ClassifiedFailure,
  classifySendFailure,
  type EmailSender,
  type OutgoingEmail,
} from './email-sender.ts';
import { type CampaignGate, GateWatch } from './gate.ts';
import { eventLoopBusy, InFlightWindow, LatencyFloor } from './in-flight-window.ts';
import type { Ledger } from './ledger.ts';
import { LedgerWriter } from './ledger-writer.ts';
import type { CampaignRateBudget } from './rate-budget.ts';
import { AdaptiveRateLimiter } from './rate-limiter.ts';

/** How late a paced release may be and still be caught up (the budget bounds the aggregate anyway). */
const SHARED_RATE_CATCH_UP_MS = 50;

/** One row to send, with what the loop needs to report and record it. */
export interface SendItem {
  /** The outcome's identity: batch index, CSV row and address. */
  base: { i: number; row: number; email: string };
  /** The ledger key. */
  key: string;
  /** Reported as the reason of a sent outcome (a padded short row's note). */
  note?: string;
  /** The message, or why it cannot be built (the row becomes `invalid`). */
  message: () => OutgoingEmail | { invalid: string };
}

export interface WorkerLoopOptions {
  campaignId: string;
  run: number;
  emails: EmailSender;
  ledger: Ledger;
  /** The most sends in flight at once: the in-flight window's upper bound. */
  maxInFlight: number;
  /** This thread's event loop utilisation since the previous call; default `eventLoopBusy()`. */
  busy?: () => number;
  /** The fastest SES answers of this process, shared by its batches; default: this batch's own. */
  latencyFloor?: LatencyFloor;
  attempts: number;
  groupSize: number;
  flushMs: number;
  gate: CampaignGate | undefined;
  gateIntervalMs: number;
  stopCampaign: ((campaignId: string, reason: string) => Promise<void>) | undefined;
  deadlineMs: number;
  /** When the attempt began (on the `now` clock), so `deadlineMs` includes its lookups; default: when the loop starts. */
  startedAt?: number;
  /** The batch's share of the campaign rate, and where to start when an earlier batch learnt less. */
  workerRate: number;
  initialRate: number | undefined;
  /** The campaign-wide rate shared by the children; undefined: this child keeps to workerRate alone. */
  budget?: CampaignRateBudget | undefined;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
  now: () => number;
  /** Each decided row, as soon as it is decided. */
  settle: (outcome: RowOutcome) => void;
}

export interface WorkerLoopResult {
  /** Why the batch stopped early, or undefined when every row was decided. */
  systemic: SixbackError | Error | undefined;
  /** The rate the limiter ended at (lower than its target when SES throttled), and that target. */
  rate: number;
  target: number;
  /** Sends SES refused as throttled (each retried, or the batch failed). */
  throttles: number;
  /** The largest in-flight window the batch reached. */
  peakInFlight: number;
}

export async function runWorkerLoop(items: SendItem[], o: WorkerLoopOptions): Promise<WorkerLoopResult> {
  return new WorkerLoop(items, o).run();
}

class WorkerLoop {
  private systemic: SixbackError | Error | undefined;
  private next = 0;
  private throttles = 0;
  private readonly startedAt: number;
  private readonly limiter: AdaptiveRateLimiter;
  private readonly writer: LedgerWriter;
  private readonly gate: GateWatch;
  private readonly window: InFlightWindow;
  /** Workers running, and their promises (more are started when the window grows). */
  private workers = 0;
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly items: SendItem[],
    private readonly o: WorkerLoopOptions,
  ) {
    this.startedAt = o.startedAt ?? o.now();
    // Rows no worker has started: a child with none left claims no more of the campaign's slots.
    o.budget?.setPending(
      () => this.items.length - this.next,
      () => this.systemic !== undefined,
    );
    this.limiter = new AdaptiveRateLimiter(o.budget ? o.budget.childCeiling : o.workerRate, {
      sleep: (ms) => this.pacedSleep(ms),
      now: o.now,
      ...(o.initialRate !== undefined ? { initialRate: o.initialRate } : {}),
      ...(o.budget ? { maxLateMs: SHARED_RATE_CATCH_UP_MS } : {}),
    });
    const limiter = this.limiter;
    this.window = new InFlightWindow({
      max: o.maxInFlight,
      now: o.now,
      busy: o.busy ?? eventLoopBusy(),
      rate: () => limiter.rate,
      starvedMs: () => limiter.starvedMs,
      floor: o.latencyFloor ?? new LatencyFloor(),
    });
    this.writer = new LedgerWriter({
      ledger: o.ledger,
      campaignId: o.campaignId,
      groupSize: o.groupSize,
      flushMs: o.flushMs,
      maxExposed: o.maxInFlight + 2 * o.groupSize,
      sleep: o.sleep,
      onWriteFailed: (error) => {
        this.systemic ??= error;
      },
    });
    this.gate = new GateWatch(o.gate, o.campaignId, o.run, o.gateIntervalMs, o.now, (reason) => {
      this.systemic ??= new CampaignStoppedError(`Stopped sending: ${reason}.`);
    });
  }

  async run(): Promise<WorkerLoopResult> {
    const { items, o } = this;
    try {
      const starting: Promise<void> = this.startWorkers().finally(() => this.running.delete(starting));
      this.running.add(starting);
      while (this.running.size > 0) await Promise.all(this.running);
      // Hold the Map slot until this worker's next send would have been due: the next batch in this slot
      // starts with a fresh limiter, and must not send sooner than the rate allows (it matters at low rates,
      // where a batch is a single email). Bounded by the deadline; slower paces are refused by the quota fit.
      if (!this.systemic && items.length > 0)
        await this.pacedSleep(
          Math.min(this.limiter.waitMs, Math.max(0, o.deadlineMs - (o.now() - this.startedAt))),
        );
    } finally {
      this.limiter.close();
      this.o.budget?.close();
      await this.writer.close();
    }
    return {
      systemic: this.systemic,
      rate: this.limiter.rate,
      target: this.limiter.target,
      throttles: this.throttles,
      peakInFlight: this.window.peak,
    };
  }

  /**
   * Starts workers up to the window while rows are left: a worker takes its first row before its first
   * await, so each one started here has a row of its own.
   */
  private addWorkers(most = Number.POSITIVE_INFINITY): void {
    for (let started = 0; started < most; started++) {
      if (!this.roomForWorker()) return;
      this.workers++;
      const worker: Promise<void> = this.worker().finally(() => this.running.delete(worker));
      this.running.add(worker);
    }
  }

  /** Whether another worker may start: the window has room, rows are left, and no systemic failure stopped the batch. */
  private roomForWorker(): boolean {
    return this.workers < this.window.size && this.next < this.items.length && !this.systemic;
  }

  /**
   * The batch's first workers, one per turn of the event loop rather than all in one go: a worker builds
   * its message before it waits for the limiter, and a process's first messages are its expensive ones
   * (the template's checked renders, code not yet optimised: tens of milliseconds each at 100 KB), so the
   * window's sixteen started at once held the first send, and the answers of any other batch of the
   * thread, until all sixteen were built. Counted as running, so the batch cannot end while it starts.
   */
  private async startWorkers(): Promise<void> {
    this.addWorkers(1);
    while (this.roomForWorker()) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      this.addWorkers(1);
    }
  }

  /**
   * Waits for a rate slot in steps of at most the gate interval, checking the gate between steps, so a
   * slow campaign (one email a minute) still stops within a gate interval of being cancelled.
   */
  private async pacedSleep(ms: number): Promise<void> {
    const { o } = this;
    const until = o.now() + ms;
    for (let step = 0; step <= Math.ceil(ms / o.gateIntervalMs); step++) {
      if (this.systemic) {
        // Stopping: release every sender waiting for a slot (each sees the stop and returns).
        this.limiter.close();
        return;
      }
      const left = until - o.now();
      if (left <= 0) return;
      await o.sleep(Math.min(left, o.gateIntervalMs));
      this.gate.poll();
    }
  }

  private async worker(): Promise<void> {
    const { items, o } = this;
    try {
      while (!this.systemic && this.next < items.length) {
        // A window that shrank retires workers as they come back for a row (counted down in the finally
        // with no await in between, so two workers never both retire for one).
        if (this.workers > this.window.size) return;
        this.gate.poll();
        if (o.now() - this.startedAt > o.deadlineMs) {
          this.systemic ??= new SesThrottledError(
            `The batch ran out of time at ${this.limiter.rate.toFixed(1)} emails/s; a retry sends its remaining rows`,
          );
          break;
        }
        const item = items[this.next++] as SendItem;
        await this.sendOne(item);
      }
    } finally {
      this.workers--;
    }
  }

  /**
   * Waits for room under the ledger writer's exposure bound and, with the campaign-wide rate, for a slot;
   * true when the caller may send now, its send counted as in flight (false: the batch is stopping). Room
   * is checked and counted with no await in between, so concurrent workers cannot all pass at once; a slot
   * must be sent on at once, so room is waited for before the slot, and a slot that finds the room gone
   * again is given up, not held.
   */
  private async mayNowSend(): Promise<boolean> {
    const { writer, o } = this;
    for (;;) {
      while (!writer.hasRoom && !this.systemic) await writer.drain();
      if (this.systemic) return false;
      if (o.budget) {
        await o.budget.take();
        if (this.systemic) return false;
        if (!writer.hasRoom) {
          o.budget.expired++;
          continue;
        }
      }
      writer.sending();
      return true;
    }
  }

  /** A send was answered: its latency feeds the window, and a window that grew gets its workers. */
  private answered(sentAt: number): void {
    this.window.observe(this.o.now() - sentAt);
    if (this.window.update() > this.workers) this.addWorkers();
  }

  private async sendOne(item: SendItem): Promise<void> {
    const { o, limiter, writer } = this;
    const { base } = item;
    const message = item.message();
    if ('invalid' in message) {
      o.settle({ ...base, state: 'invalid', reason: message.invalid });
      return;
    }
    let last: ClassifiedFailure | undefined;
    for (let attempt = 1; attempt <= o.attempts && !this.systemic; attempt++) {
      await limiter.acquire();
      // Counts the send in the writer's exposure bound when it returns true.
      if (!(await this.mayNowSend())) return;
      let messageId: string;
      const sentAt = o.now();
      try {
        ({ messageId } = await o.emails.send(message));
      } catch (error) {
        this.answered(sentAt);
        writer.notAccepted();
        last = classifySendFailure(error);
        if (last.action === 'reject') {
          const reason = `${last.code}: ${last.message}`;
          o.settle({ ...base, state: 'failed', reason });
          writer.remember({ key: item.key, row: base.row, state: 'failed', reason, retryable: false });
          return;
        }
        if (last.action === 'stop') {
          if (!this.systemic) {
            const stop = new SesSendingStoppedError(
              `SES refused to send for this account: ${last.code}: ${last.message}`,
            );
            this.systemic = stop;
            // Every other batch of the campaign sees the failed status at its next gate check and stops.
            await o.stopCampaign?.(o.campaignId, stop.message).catch(() => undefined);
          }
          return;
        }
        if (last.throttled) {
          this.throttles++;
          limiter.throttled();
        }
        // Full jitter keeps a crowd of throttled senders from retrying in lockstep.
        if (attempt < o.attempts) await o.sleep(o.random() * Math.min(2000, 50 * 2 ** attempt));
        continue;
      }
      this.answered(sentAt);
      limiter.succeeded();
      // Built by assignment: a spread of a note object would make an empty object per email.
      const sent: RowOutcome = { i: base.i, row: base.row, email: base.email, state: 'sent', messageId };
      if (item.note !== undefined) sent.reason = item.note;
      o.settle(sent);
      writer.remember({ key: item.key, messageId, row: base.row });
      return;
    }
    if (!this.systemic && last) {
      this.systemic = last.throttled
        ? new SesThrottledError(`SES kept throttling after ${o.attempts} attempts: ${last.message}`)
        : new SesTransientError(
            `SES kept failing after ${o.attempts} attempts: ${last.code}: ${last.message}`,
          );
    }
  }
}
