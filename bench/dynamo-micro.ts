/**
 * The sender's DynamoDB traffic alone, through the SDK's document client and through the thin transport
 * (core/aws/fast/dynamo-rpc.ts): per batch of 500 recipients, the ledger lookup (BatchGet, 100 keys a call), the
 * suppression lookup (the same), and the ledger record (BatchWrite, 25 items a call), plus the few
 * single-item calls (lease, gate, progress; SDK in both modes), several batches at once as the sender
 * threads run them. The client runs in a child process of its own, so its CPU time is
 * the client's alone; the server is dynalite, or the benchmark's in-memory ledger front in its own process
 * in front of it (bench/fast-ledger.ts), whose CPU per item is reported too.
 *
 *   npx tsx bench/dynamo-micro.ts [--items 20000] [--server front|dynalite] [--concurrency 4] [--transports sdk,fast] [--singles no]
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { TABLES } from '../core/aws/tables.ts';
import { parseConfig } from '../core/config.ts';
import { createTables, startDynamo } from '../local/services.ts';
import { startFastLedgerProcess } from './fast-ledger.ts';

const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const tables = {
  templates: 'sixback-templates',
  campaigns: 'sixback-campaigns',
  ledger: 'sixback-ledger',
  suppression: 'sixback-suppression',
  analytics: 'sixback-analytics',
};
const BATCH = 500;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

function processCpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

interface ClientJob {
  endpoint: string;
  transport: 'sdk' | 'fast';
  items: number;
  concurrency: number;
  campaign: string;
  /** Also make the single-item calls (lease, gate, progress). */
  singles: boolean;
}

/** The client side: the app's own ledger and suppression list, built by createAppDeps. */
async function client(job: ClientJob) {
  const { createAppDeps } = await import('../core/app.ts');
  const config = parseConfig({
    region: 'us-east-1',
    endpoints: { dynamodb: job.endpoint },
    credentials,
    bucket: 'bench-bucket',
    tables,
    dynamoTransport: job.transport,
  });
  const deps = createAppDeps(config);
  await deps.clients.ddb.send(
    new PutCommand({ TableName: tables.campaigns, Item: { id: job.campaign, progress: {} } }),
  );
  const messageId = (i: number) =>
    `0100019a${i.toString(16).padStart(8, '0')}-3c5e1f7a-8b2d-4e9f-a1c3-5d7e9f1b3c5e-000000`;
  // The single-item calls a batch also makes, through the SDK in both modes (the front passes them on to
  // dynalite): the lease taken and released, the campaign gate read every 500 ms (about 4 per batch at
  // 250/s), one progress update.
  const gate = () => deps.sender.campaignGate?.(job.campaign, 1);
  async function batch(campaign: string, first: number, count: number) {
    const keys = Array.from({ length: count }, (_, i) => `bench-${first + i}@example.com`);
    const lease = `~batch:1:${first}`;
    if (job.singles) {
      await deps.ledger.claim?.(campaign, lease, 'owner', 60_000);
      await gate();
    }
    await Promise.all([deps.ledger.lookup(campaign, keys), deps.suppression.lookup(keys)]);
    if (job.singles) await Promise.all([gate(), gate(), gate()]);
    const writes: Promise<void>[] = [];
    for (let g = 0; g < count; g += 25) {
      writes.push(
        deps.ledger.record(
          campaign,
          keys
            .slice(g, g + 25)
            .map((key, j) => ({ key, row: first + g + j + 2, messageId: messageId(first + g + j) })),
        ),
      );
    }
    await Promise.all(writes);
    if (job.singles) {
      await deps.campaigns.addProgress(job.campaign, { sent: count });
      await deps.ledger.release?.(campaign, lease, 'owner');
    }
  }
  async function run(campaign: string, items: number) {
    let next = 0;
    await Promise.all(
      Array.from({ length: job.concurrency }, async () => {
        while (next < items) {
          const first = next;
          next += BATCH;
          await batch(campaign, first, Math.min(BATCH, items - first));
        }
      }),
    );
  }
  // Warm up (module loading, JIT, connections), then measure.
  await run(`${job.campaign}-warm`, 2000);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await run(job.campaign, job.items);
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - t0;
  // Read back a sample, so a fast path that wrote nothing cannot look cheap.
  const found = await deps.ledger.lookup(job.campaign, [
    'bench-0@example.com',
    `bench-${job.items - 1}@example.com`,
  ]);
  await deps.documents.close();
  for (const c of Object.values(deps.clients)) c.destroy();
  return { cpuUs: cpu.user + cpu.system, wallMs, found: found.size };
}

async function runClient(job: ClientJob): Promise<{ cpuUs: number; wallMs: number; found: number }> {
  const child = fork(new URL(import.meta.url), ['--client', JSON.stringify(job)], {
    // DYNAMO_MICRO_PROFILE=dir writes a CPU profile of each client run there.
    execArgv: [
      '--import',
      'tsx',
      ...(process.env.DYNAMO_MICRO_PROFILE
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env.DYNAMO_MICRO_PROFILE}`]
        : []),
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (m: { cpuUs: number; wallMs: number; found: number }) => resolve(m));
    child.once('exit', (code) => (code ? reject(new Error(`client exited with ${code}`)) : undefined));
  });
}

async function main() {
  const items = Number(arg('items', '20000'));
  const server = arg('server', 'front');
  const concurrency = Number(arg('concurrency', '4'));
  const dynamo = await startDynamo(undefined);
  const raw = new DynamoDBClient({ region: 'us-east-1', endpoint: dynamo.url, credentials });
  await createTables(raw, tables);
  raw.destroy();
  const front =
    server === 'front'
      ? await startFastLedgerProcess({
          upstream: dynamo.url,
          table: tables.ledger,
          partitionKey: TABLES.ledger.partitionKey,
          sortKey: TABLES.ledger.sortKey.name,
        })
      : undefined;
  const endpoint = front?.url ?? dynamo.url;
  console.log(`${items} items per run, ${concurrency} batches of ${BATCH} at once, server: ${server}`);
  try {
    for (const transport of arg('transports', 'sdk,fast,sdk,fast').split(',') as ('sdk' | 'fast')[]) {
      const front0 = front ? processCpuUs(front.pid) : 0;
      const result = await runClient({
        endpoint,
        transport,
        items,
        concurrency,
        campaign: `c-${transport}-${Date.now()}`,
        singles: arg('singles', 'yes') !== 'no',
      });
      const frontUs = front ? processCpuUs(front.pid) - front0 : undefined;
      console.log(
        `${transport.padEnd(4)}  client ${(result.cpuUs / items).toFixed(1).padStart(6)} us CPU/item` +
          (frontUs === undefined
            ? ''
            : `   front ${(frontUs / items).toFixed(1).padStart(5)} us CPU/item (incl. warm-up)`) +
          `   ${Math.round((items / result.wallMs) * 1000)} items/s   read back ${result.found}/2`,
      );
    }
  } finally {
    await front?.close();
    await dynamo.close();
  }
}

if (process.argv[2] === '--client' && process.send) {
  const result = await client(JSON.parse(process.argv[3] as string) as ClientJob);
  process.send(result, () => process.exit(0));
} else {
  await main();
}
