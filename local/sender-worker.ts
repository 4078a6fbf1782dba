/**
 * One SendBatch worker thread of local/sender-pool.ts: its own AppDeps, from the same configuration, and
 * the same handler (core sendBatch) the Lambda runs.
 */
import { readFileSync } from 'node:fs';
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import { createAppDeps } from '../core/app.ts';
import { createHandler } from '../handlers/send-batch.ts';
import type { WorkerSetup } from './sender-pool.ts';

const setup = workerData as WorkerSetup;

/** This thread's CPU time (Linux; undefined elsewhere), so a benchmark can tell sender work from the rest. */
function threadCpuUs(): number | undefined {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return undefined;
  }
}
const config = { ...setup.config, sesTransport: setup.transport };
const deps = createAppDeps(config);
const sendBatch = createHandler(deps);

parentPort?.on('message', async (message: { id: number; op: string; payload: unknown }) => {
  const reply = (body: Record<string, unknown>) => parentPort?.postMessage({ id: message.id, ...body });
  if (message.op === 'sendBatch' || message.op === 'sendBatchJson') {
    try {
      // sendBatchJson: the event as JSON text and the result as JSON text, as Lambda's runtime passes them.
      reply({
        result:
          message.op === 'sendBatch'
            ? await sendBatch(message.payload)
            : JSON.stringify((await sendBatch(JSON.parse(message.payload as string))) ?? null),
      });
    } catch (error) {
      const e = error as Error;
      reply({ error: { name: e?.name ?? 'Error', message: e?.message ?? String(error) } });
    }
  } else if (message.op === 'publicBaseUrl') {
    // The unsubscribe links read the configuration when each link is made (LocalStack.setPublicBaseUrl).
    config.publicBaseUrl = message.payload as string;
    reply({});
  } else if (message.op === 'ping') {
    reply({ result: 'ready' });
  } else if (message.op === 'memory') {
    // This thread's V8 heap (a worker's memoryUsage heap figures are its own isolate's; rss is the process's).
    const m = process.memoryUsage();
    reply({
      result: {
        heap: getHeapStatistics(),
        spaces: getHeapSpaceStatistics(),
        external: m.external,
        arrayBuffers: m.arrayBuffers,
        execArgv: process.execArgv,
      },
    });
  } else if (message.op === 'cpu') {
    reply({ result: threadCpuUs() });
  } else if (message.op === 'close') {
    await (deps.emails as { close?: () => Promise<void> }).close?.();
    await deps.documents.close();
    for (const client of Object.values(deps.clients)) client.destroy();
    reply({});
  } else reply({ error: { name: 'Error', message: `unknown operation ${message.op}` } });
});
