/**
 * The SendBatch function on several cores: a pool of worker threads, each with its own AppDeps built from
 * the same configuration (createAppDeps) and running the same core `sendBatch`, the way several Lambda
 * instances each run their own copy of the handler. The local engine stays on the main thread and hands
 * each Distributed Map child's batch to the least busy worker; errors come back with their name, so the
 * state machine's Retry and Catch see exactly what a Lambda would report.
 *
 * Used by the local stack when asked (`senderWorkers`), and by the benchmark. Rendering and signing are
 * CPU-bound, so one event loop caps a machine at one core's worth of sends; the pool lifts that cap.
 *
 * The threads run the worker's modules compiled into one JavaScript file (compiledWorkerUrl), not the
 * TypeScript through tsx's loader: what each thread costs just by existing is its V8 isolate and the
 * packages it imports, not a loader and a transform of every source file (docs/bench-rss.md).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Plugin } from 'esbuild';
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
/** Under the package's node_modules, so the compiled file's package imports resolve as the source's do. */
const COMPILED_DIR = new URL('../node_modules/.cache/sixback/', import.meta.url);

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

/**
 * The worker's own modules (local/sender-worker.ts and the core it imports) compiled into one JavaScript
 * file, its packages left as imports. A thread started from it loads plain JavaScript: no tsx loader and
 * no transform of each TypeScript file in each thread. That loader costs each sender thread about 25-30 MB
 * of resident memory (docs/bench-rss.md) and seconds of start-up on a busy machine. Built once per process,
 * from the current source (a few hundred ms), and named by its content so processes share a file.
 * Undefined when it cannot be built or written: the pool then starts tsx workers, as before. Any other
 * worker module can be compiled the same way (`entry`, a file URL; startCompiledWorker).
 */
const compiling = new Map<string, Promise<string | undefined>>();
export function compiledWorkerUrl(entry: string = WORKER_URL): Promise<string | undefined> {
  const known = compiling.get(entry);
  if (known) return known;
  const made = (async () => {
    try {
      const { build } = await import('esbuild');
      const out = await build({
        entryPoints: [fileURLToPath(entry)],
        bundle: true,
        plugins: [SOURCE_IMPORT_META_URL],
        packages: 'external',
        platform: 'node',
        format: 'esm',
        target: `node${process.versions.node.split('.')[0]}`,
        write: false,
        logLevel: 'silent',
      });
      const code = out.outputFiles[0]?.contents;
      if (!code) return undefined;
      const stem = basename(fileURLToPath(entry)).replace(/\.[cm]?ts$/, '');
      const name = `${stem}-${createHash('sha256').update(code).digest('hex').slice(0, 16)}.mjs`;
      const file = new URL(name, COMPILED_DIR);
      if (!existsSync(file)) {
        mkdirSync(COMPILED_DIR, { recursive: true });
        // Written aside and renamed: another process may be starting its workers from the same name.
        const partial = new URL(`${name}.${process.pid}.partial`, COMPILED_DIR);
        writeFileSync(partial, code);
        renameSync(partial, file);
      }
      return file.href;
    } catch {
      return undefined;
    }
  })();
  compiling.set(entry, made);
  return made;
}

/**
 * In one bundled file every module's `import.meta.url` would be the bundle's (under node_modules/.cache),
 * so a module that finds files beside itself (`new URL('./x', import.meta.url)`) would look in the wrong
 * folder. Each module keeps its own source file's URL instead, as when tsx loads it.
 */
const SOURCE_IMPORT_META_URL: Plugin = {
  name: 'source-import-meta-url',
  setup(build) {
    build.onLoad({ filter: /\.[cm]?ts$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const url = JSON.stringify(pathToFileURL(args.path).href);
      return { contents: source.replaceAll('import.meta.url', url), loader: 'ts' };
    });
  },
};

const LOADER_FLAGS = new Set(['--require', '-r', '--import', '--loader', '--experimental-loader']);
const TSX_MODULE = /(^|[/\\])tsx([/\\]|$)/;

/**
 * The parent's flags without tsx's loader (`--import`/`--require` of a tsx module, as the tsx command
 * adds): the compiled file needs no loader, and tsx's own modules would cost each thread memory.
 * The rest (--cpu-prof, --enable-source-maps, ...) applies to the threads as before.
 */
export function withoutTsxLoader(execArgv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const flag = execArgv[i] as string;
    const eq = flag.indexOf('=');
    const name = eq > 0 ? flag.slice(0, eq) : flag;
    if (LOADER_FLAGS.has(name)) {
      const value = eq > 0 ? flag.slice(eq + 1) : (execArgv[i + 1] ?? '');
      if (eq < 0) i++;
      if (TSX_MODULE.test(value)) continue;
      kept.push(flag, ...(eq < 0 ? [value] : []));
    } else kept.push(flag);
  }
  return kept;
}

/** The flags the compiled workers get; found with the first worker started. */
let compiledExecArgv: string[] | undefined;

function startWorker(
  entry: string,
  compiledUrl: string | undefined,
  setup: unknown,
  resourceLimits?: { maxOldGenerationSizeMb: number },
): Worker {
  if (!compiledUrl) return startTsWorker(entry, setup, resourceLimits);
  const start = (execArgv?: string[]) =>
    new Worker(new URL(compiledUrl), {
      workerData: setup,
      ...(resourceLimits ? { resourceLimits } : {}),
      ...(execArgv ? { execArgv } : {}),
    });
  const wanted = compiledExecArgv ?? withoutTsxLoader(process.execArgv);
  try {
    const worker = start(wanted);
    compiledExecArgv = wanted;
    return worker;
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw error;
    // Given explicitly, a process-wide flag (a V8 option such as --max-old-space-size) is refused; V8's
    // options hold for every thread anyway. The error names them: start without those, or else inherit
    // every flag as a worker does by default.
    const refused = /flags: (.*)$/.exec((error as Error).message)?.[1]?.split(', ') ?? [];
    const rest = wanted.filter((flag) => !refused.includes(flag));
    try {
      const worker = start(rest);
      compiledExecArgv = rest;
      return worker;
    } catch {
      return start();
    }
  }
}

/**
 * A worker thread of any TypeScript module (`entry`, a file URL), started from its compiled file
 * (compiledWorkerUrl) as the sender threads are, or through tsx when that cannot be built: the benchmark's
 * ceiling threads start this way, so they are compared with the sender threads on equal terms.
 */
export async function startCompiledWorker(entry: string, workerData: unknown): Promise<Worker> {
  return startWorker(entry, await compiledWorkerUrl(entry), workerData);
}

export class SenderPool {
  /** Empty until the workers are started (after the worker's modules are compiled). */
  private workers: PoolWorker[] = [];
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private closed = false;
  private readonly spawned: Promise<void>;
  private readonly started: Promise<unknown[]>;

  constructor(options: SenderPoolOptions) {
    const setup: WorkerSetup = { config: options.config, transport: options.transport ?? 'fast' };
    const limits = { maxOldGenerationSizeMb: options.maxOldGenerationSizeMb ?? 128 };
    const count = Math.max(1, options.workers);
    this.spawned = compiledWorkerUrl().then((compiledUrl) => {
      this.workers = Array.from({ length: count }, () => {
        const entry: PoolWorker = {
          worker: startWorker(WORKER_URL, compiledUrl, setup, limits),
          busy: 0,
          exited: false,
        };
        entry.worker.on('message', (reply: Reply) => this.settle(entry, reply));
        entry.worker.on('error', (error) => this.failAll(error));
        entry.worker.on('exit', (code) => {
          entry.exited = true;
          if (!this.closed) this.failAll(new Error(`a sender worker exited with code ${code}`));
        });
        return entry;
      });
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
    if (this.workers.length === 0) return this.spawned.then(() => this.run(op, payload));
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
    if (this.workers.length === 0) return this.spawned.then(() => this.broadcast(op, payload));
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
    await this.spawned;
    await this.broadcast('close').catch(() => undefined);
    this.closed = true;
    await Promise.all(this.workers.map((entry) => entry.worker.terminate()));
  }
}
