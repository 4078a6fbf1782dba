/**
 * The ledger side of one batch: accepted sends are written to the ledger in groups, and the exposure
 * bound that limits what a crash can leave unrecorded.
 *
 * A group is written when it is full or `flushMs` after its first entry. `exposed` counts the sends SES
 * may have accepted that are not yet in the ledger (in flight, in a group, or in a write not yet
 * acknowledged); no send starts while it is at `maxExposed`. That is the bound on what a crash at any
 * instant can leave unrecorded, and so on the duplicates a resumed run can send (docs/guarantees.md).
 */
import type { Ledger, LedgerEntry } from './ledger.ts';

export interface LedgerWriterOptions {
  ledger: Ledger;
  campaignId: string;
  /** Entries per group write. */
  groupSize: number;
  /** A group is written at the latest this long after its first entry. */
  flushMs: number;
  /** The most sends that may be accepted and not yet recorded. */
  maxExposed: number;
  sleep: (ms: number) => Promise<void>;
  /** A group that could not be written after retries: the batch must stop sending. */
  onWriteFailed: (error: Error) => void;
}

export class LedgerWriter {
  private exposed = 0;
  private group: LedgerEntry[] = [];
  // Group writes run in parallel: a slow ledger costs latency, not throughput (the exposure bound holds).
  private readonly writes = new Set<Promise<void>>();
  private flushTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly options: LedgerWriterOptions) {}

  /** Whether a send may start now without breaking the exposure bound. */
  get hasRoom(): boolean {
    return this.exposed < this.options.maxExposed;
  }

  /**
   * Waits for a group write to finish (starting one if none is running). Callers loop on `hasRoom`
   * themselves and call `sending()` with no await in between, so concurrent workers cannot all pass at once.
   */
  async drain(): Promise<void> {
    if (this.writes.size === 0) this.flush();
    await (this.writes.size > 0 ? Promise.race(this.writes) : this.options.sleep(5));
  }

  /** A send is starting: SES may accept it from now on. */
  sending(): void {
    this.exposed++;
  }

  /** The send was not accepted: nothing to lose in a crash. */
  notAccepted(): void {
    this.exposed--;
  }

  /** An accepted send (or a permanent rejection) to write in the next group. */
  remember(entry: LedgerEntry): void {
    this.group.push(entry);
    if (this.group.length >= this.options.groupSize) this.flush();
    else if (!this.flushTimer) this.flushTimer = setTimeout(() => this.flush(), this.options.flushMs);
  }

  /** Starts writing the current group, if any. */
  flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.group.length === 0) return;
    const entries = this.group;
    this.group = [];
    const sends = entries.filter((entry) => entry.state !== 'failed').length;
    const write: Promise<void> = this.writeGroup(entries).finally(() => {
      this.writes.delete(write);
      this.exposed -= sends;
    });
    this.writes.add(write);
  }

  /** Writes what is left and waits for every write to finish. */
  async close(): Promise<void> {
    this.flush();
    await Promise.all(this.writes);
  }

  private async writeGroup(entries: LedgerEntry[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.options.ledger.record(this.options.campaignId, entries);
        return;
      } catch (error) {
        if (attempt >= 5) {
          // Sending on without recording would widen the window a crash leaves: stop the batch instead.
          this.options.onWriteFailed(error as Error);
          return;
        }
        await this.options.sleep(50 * 2 ** attempt);
      }
    }
  }
}
