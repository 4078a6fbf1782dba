/**
 * The SendBatch function on several cores: a pool of worker threads, each with its own AppDeps built from
 * the same configuration (createAppDeps) and running the same core `sendBatch`, the way several Lambda
 * instances each run their own copy of the handler. The local engine stays on the main thread and hands
 * each Distributed Map child's batch to the least busy worker; errors come back with their name, so the
 * state machine's Retry and Catch see exactly what a Lambda would report.
 *
 * Used by the local stack when asked (`senderWorkers`), and by the benchmark. Rendering and signing are
 * CPU-bound, so one event loop caps a machine at one core's worth of sends; the pool lifts that cap.
 */
import { Worker } from 'node:worker_threads';
import type { SixbackConfig } from '../core/config.ts';
import type { JsonTaskHandler } from '../handlers/runtime.ts';

export type SesTransportKind = 'sdk' | 'fast';

export interface SenderPoolOptions {
  config: SixbackConfig;
  workers: number;
  /** 'sdk': SesEmailSender over SESv2Client; 'fast': the thin transport (core/aws/fast/ses-transport.ts). */
  transport?: SesTransportKind;
  /**
   * Caps each worker's V8 old generation (MB, default 128), so garbage does not pile up as resident memory
   * (a sender's live data is its batches in flight: a few MB).
   */
  maxOldGenerationSizeMb?: number;
}

export interface WorkerSetup {
  config: SixbackConfig;
  transport: SesTransportKind;
}

interface Reply {
  id: number;
  result?: unknown;
  error?: { name: string; message: string };
  cpuUs?: number;
}

interface PoolWorker {
  worker: Worker;
  busy: number;
  exited: boolean;
}

const WORKER_URL = new URL('./sender-worker.ts', import.meta.url).href;

/** A worker thread runs TypeScript through tsx's loader, registered before the worker module is imported. */
export function startTsWorker(
  url: string,
  setup: unknown,
  resourceLimits?: { maxOldGenerationSizeMb: number },
): Worker {
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(url)}); });`;
  return new Worker(bootstrap, {
    eval: true,
    workerData: setup,
    ...(resourceLimits ? { resourceLimits } : {}),
  });
}

export class SenderPool {
  private readonly workers: PoolWorker[];
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private closed = false;
  private readonly started: Promise<unknown[]>;

  constructor(options: SenderPoolOptions) {
    const setup: WorkerSetup = { config: options.config, transport: options.transport ?? 'fast' };
    this.workers = Array.from({ length: Math.max(1, options.workers) }, () => {
      const limits = { maxOldGenerationSizeMb: options.maxOldGenerationSizeMb ?? 128 };
      const entry: PoolWorker = { worker: startTsWorker(WORKER_URL, setup, limits), busy: 0, exited: false };
      entry.worker.on('message', (reply: Reply) => this.settle(entry, reply));
      entry.worker.on('error', (error) => this.failAll(error));
      entry.worker.on('exit', (code) => {
        entry.exited = true;
        if (!this.closed) this.failAll(new Error(`a sender worker exited with code ${code}`));
      });
      return entry;
    });
    this.started = this.broadcast('ping');
    this.started.catch(() => undefined);
  }

  /** Resolves once every worker has loaded its modules and answers. */
  ready(): Promise<void> {
    return this.started.then(() => undefined);
  }

  private settle(entry: PoolWorker, reply: Reply) {
    const waiter = this.pending.get(reply.id);
    if (!waiter) return;
    this.pending.delete(reply.id);
    entry.busy--;
    if (reply.error) {
      const error = new Error(reply.error.message);
      error.name = reply.error.name;
      waiter.reject(error);
    } else waiter.resolve(reply.result);
  }

  private failAll(error: Error) {
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }

  /** Runs one request on the least busy worker. */
  run(op: string, payload: unknown): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error('the sender pool is closed'));
    const live = this.workers.filter((w) => !w.exited);
    if (live.length === 0) return Promise.reject(new Error('no sender worker is running'));
    const entry = live.reduce((a, b) => (b.busy < a.busy ? b : a));
    const id = this.nextId++;
    entry.busy++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      entry.worker.postMessage({ id, op, payload });
    });
  }

  /**
   * The SendBatch task handler, as the local engine calls it: with the event's JSON text when it can
   * (`json`), which crosses to the worker as one string, and the result's text back.
   */
  readonly sendBatch: JsonTaskHandler = Object.assign((event: unknown) => this.run('sendBatch', event), {
    json: (request: string) => this.run('sendBatchJson', request) as Promise<string>,
  });

  /** Asks every worker once (e.g. for its CPU time). */
  broadcast(op: string, payload: unknown = {}): Promise<unknown[]> {
    return Promise.all(
      this.workers.map(
        (entry) =>
          new Promise((resolve, reject) => {
            const id = this.nextId++;
            entry.busy++;
            this.pending.set(id, { resolve, reject });
            entry.worker.postMessage({ id, op, payload });
          }),
      ),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.broadcast('close').catch(() => undefined);
    this.closed = true;
    await Promise.all(this.workers.map((entry) => entry.worker.terminate()));
  }
}
