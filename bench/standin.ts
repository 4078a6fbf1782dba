/** Starts bench/standin-process.ts as a child process and talks to it. */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { SesStandinOptions, SesStandinStats } from '../local/ses-standin.ts';

export interface StandinSummary {
  stats: SesStandinStats;
  distinct: number;
  found: number;
  duplicates: number;
  unexpected: number;
  rates: { peak: number; mean: number; first: number; last: number };
  cpuUs: number;
  maxRssMb: number;
  /** Accepted per interval (100 ms), from the first interval with an acceptance to the last. */
  intervals: { startMs: number; intervalMs: number; counts: number[] };
  /** Per batch (Map child): first and last acceptance (epoch ms) and count; only with `recordTimes`. */
  batches: [number, number, number][];
}

export class StandinProcess {
  private nextId = 0;
  private readonly waiting = new Map<number, (value: unknown) => void>();
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {
    child.on('message', (message: { id?: number }) => {
      if (message.id !== undefined) {
        this.waiting.get(message.id)?.(message);
        this.waiting.delete(message.id);
      }
    });
  }

  static async start(
    options: Omit<SesStandinOptions, 'random' | 'reject' | 'latencyMs'> & { latencyMs?: number },
  ) {
    const child = fork(
      fileURLToPath(new URL('./standin-process.ts', import.meta.url)),
      [JSON.stringify(options)],
      {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      },
    );
    const url = await new Promise<string>((resolve, reject) => {
      child.once('message', (message: { url: string }) => resolve(message.url));
      child.once('exit', (code) => reject(new Error(`the stand-in process exited with ${code}`)));
    });
    return new StandinProcess(child, url);
  }

  private call<T>(op: string, extra: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve as (value: unknown) => void);
      this.child.send({ id, op, ...extra });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  reset(): Promise<void> {
    return this.call('reset');
  }

  /** `batchStarts`: each Map child's first row (bench/pacing-timeline.ts batchStarts), for the timeline. */
  summary(expected: number, batchStarts?: number[]): Promise<StandinSummary> {
    return this.call('summary', { expected, batchStarts });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    await this.call('close').catch(() => undefined);
    await exited;
  }
}
