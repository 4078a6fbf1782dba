/**
 * The ceiling: the same rendered emails POSTed to the same stand-in, unsigned, from the same number of
 * threads, with nothing else (no engine, ledger, S3 or DynamoDB). What the machine and the stand-in allow.
 */
import { startCompiledWorker } from '../local/sender-pool.ts';
import type { StandinProcess } from './standin.ts';

export interface CeilingOptions {
  standin: StandinProcess;
  recipients: number;
  workers: number;
  inFlight: number;
  templateFile: string;
}

export async function runCeiling(options: CeilingOptions) {
  await options.standin.reset();
  const url = new URL('./ceiling-worker.ts', import.meta.url).href;
  const share = Math.ceil(options.recipients / options.workers);
  // Started as the sender threads are (compiled JavaScript, no tsx loader), so the two compare fairly.
  const workers = await Promise.all(
    Array.from({ length: options.workers }, (_, w) =>
      startCompiledWorker(url, {
        url: options.standin.url,
        from: w * share,
        to: Math.min(options.recipients, (w + 1) * share),
        inFlight: options.inFlight,
        templateFile: options.templateFile,
      }),
    ),
  );
  // Each worker renders its emails first, reports ready, then sends when told to.
  await Promise.all(workers.map((worker) => new Promise((resolve) => worker.once('message', resolve))));
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  for (const worker of workers) worker.postMessage('go');
  const done = await Promise.all(
    workers.map((worker) => new Promise<{ cpuUs: number }>((resolve) => worker.once('message', resolve))),
  );
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const threadsUs = done.reduce((sum, d) => sum + d.cpuUs, 0);
  await Promise.all(workers.map((worker) => worker.terminate()));
  const summary = await options.standin.summary(options.recipients);
  return {
    wallMs,
    emailsPerSecond: summary.found / (wallMs / 1000),
    lost: options.recipients - summary.found,
    standinCpuUsPerEmail: summary.cpuUs / options.recipients,
    /** The sending threads, and the whole benchmark process while they send (their GC helpers too). */
    threadsCpuUsPerEmail: threadsUs / options.recipients,
    processCpuUsPerEmail: (cpu.user + cpu.system) / options.recipients,
  };
}
