/**
 * One campaign through the whole local pipeline, measured: the campaign ASL on the local engine, the CSV
 * streamed from local S3 through Prepare and the Distributed Map adapter, SendBatch (in this thread or in
 * worker threads) rendering with liquidjs, the ledger, SES v2 calls to the stand-in, Finalise's report.
 */
import { createReadStream, readFileSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createCampaign } from '../core/campaigns/service.ts';
import { keys } from '../core/config.ts';
import { preparedKeyOf } from '../core/recipients/prepared-file.ts';
import type { SendPlan } from '../core/schemas.ts';
import { TASK_FUNCTIONS } from '../handlers/index.ts';
import { LocalEngine } from '../local/engine.ts';
import { startLocalStack } from '../local/stack.ts';
import { ledgerFront } from './fast-ledger.ts';
import { BENCH_DATA, type BenchTemplate, CACHE_DIR, recipientsCsv } from './fixtures.ts';
import {
  describeIsolate,
  describeProcess,
  type IsolateMemory,
  isolateMemory,
  processMemory,
} from './memory-trace.ts';
import { batchStarts } from './pacing-timeline.ts';
import { childUsage, threadCpuUs } from './proc.ts';
import type { StandinProcess, StandinSummary } from './standin.ts';

export interface PipelineOptions {
  label: string;
  recipients: number;
  /** The campaign's rate, emails per second. */
  rate: number;
  standin: StandinProcess;
  transport: 'sdk' | 'fast';
  /** SendBatch worker threads; 0 runs it in the engine's thread, as the project did before. */
  workers: number;
  maxInFlight: number;
  /** The seed's pattern: one SendBatch invocation (one Map child) per email. */
  onePerEmail?: boolean;
  /** The ledger's batch traffic served from memory (bench/fast-ledger.ts) instead of by dynalite. */
  fastLedger: boolean;
  /** The most one SendBatch child is given (WorkflowDeps.maxWorkerRate); default plan.ts's 250/s. */
  maxWorkerRate?: number | undefined;
  /** Whether the Map children share the campaign's rate (default: the configuration's, false). */
  sharedRate?: boolean;
  /** The campaign's template. */
  template: BenchTemplate;
  /** Find each Map child's rows (from the prepared file) for the stand-in's per-child timeline. */
  batchTimeline?: boolean;
}

export interface PipelineResult {
  label: string;
  recipients: number;
  status: string;
  statusReason?: string | undefined;
  sent: number;
  failed: number;
  /** Accepted by the stand-in more than once, and expected but never accepted. */
  duplicates: number;
  lost: number;
  wallMs: number;
  /** First to last acceptance at the stand-in. */
  sendMs: number;
  /** From the start to the stand-in's first acceptance (Prepare, BeginSending, the first batches starting),
   * and from its last acceptance to the end (the last batches ending, Finalise's report). */
  beforeFirstSendMs: number;
  afterLastSendMs: number;
  /** Of the time before the first send: until createCampaign returned (its check of the whole file, the
   * execution started), and until Prepare had recorded its plan (its scan, the prepared file written). */
  createdMs: number;
  preparedMs: number;
  /** Before the campaign (not in wallMs): startLocalStack returning, and every sender thread answering
   * (they load their modules while the stack starts). */
  stackStartMs: number;
  sendersReadyMs: number;
  emailsPerSecond: number;
  sendPhaseEmailsPerSecond: number;
  /** pipeline: the process running the engine, S3, DynamoDB and the sender threads; services: its other
   * processes (the in-memory ledger); standin: the SES stand-in. */
  cpuUsPerEmail: { pipeline: number; services: number; standin: number };
  /** Within the pipeline process: the engine's thread (engine, S3, dynalite, Prepare, Finalise), the
   * SendBatch threads together, and the rest (V8's GC helpers, libuv). */
  threadCpuUsPerEmail: { engine: number; senders: number; other: number };
  peakRssMb: number;
  servicesPeakRssMb: number;
  standin: StandinSummary;
  /** What Prepare planned: Map children at once (maxConcurrency), rows per child, the campaign rate. */
  plan: SendPlan | undefined;
  /** Whether the children shared the campaign's rate (the configuration the run had). */
  sharedRate: boolean;
}

const SEED_ASL = `${CACHE_DIR}seed.asl.json`;

/** The campaign ASL with one item per Map child, as the seed ran it. */
function seedAsl(): string {
  const asl = JSON.parse(
    readFileSync(fileURLToPath(new URL('../statemachines/campaign.asl.json', import.meta.url)), 'utf8'),
  );
  const batcher = asl.States.SendBatches.ItemBatcher;
  delete batcher.MaxItemsPerBatchPath;
  batcher.MaxItemsPerBatch = 1;
  writeFileSync(SEED_ASL, JSON.stringify(asl));
  return SEED_ASL;
}

async function objectText(
  stack: { deps: { clients: { s3: S3Client } }; config: { bucket: string } },
  key: string,
) {
  const object = await stack.deps.clients.s3.send(
    new GetObjectCommand({ Bucket: stack.config.bucket, Key: key }),
  );
  return (await object.Body?.transformToString()) ?? '';
}

export async function runPipeline(options: PipelineOptions): Promise<PipelineResult> {
  const csv = await recipientsCsv(options.recipients);
  const stackStarted = performance.now();
  const stack = await startLocalStack({
    ephemeral: true,
    sesEndpoint: options.standin.url,
    defaultRate: options.rate,
    maxInFlight: options.maxInFlight,
    sesTransport: options.transport,
    dynamoTransport: options.transport,
    senderWorkers: options.workers,
    ...(options.fastLedger ? { dynamoFront: ledgerFront } : {}),
    ...(options.sharedRate !== undefined ? { sharedRate: options.sharedRate } : {}),
  });
  try {
    const stackStartMs = performance.now() - stackStarted;
    // Not in wallMs: the sender threads loading their modules (reported as sendersReadyMs).
    await stack.senderPool?.ready();
    const sendersReadyMs = performance.now() - stackStarted;
    // Prepare plans the Map from this: concurrency = rate / maxWorkerRate children.
    if (options.maxWorkerRate) stack.deps.workflow.maxWorkerRate = options.maxWorkerRate;
    await stack.deps.templates.save('bench', options.template);
    const recipientsKey = `${keys.recipientsUploadPrefix}bench-${options.recipients}.csv`;
    await stack.deps.clients.s3.send(
      new PutObjectCommand({
        Bucket: stack.config.bucket,
        Key: recipientsKey,
        Body: createReadStream(csv),
        ContentLength: statSync(csv).size,
        ContentType: 'text/csv',
      }),
    );
    let campaignDeps = stack.campaignDeps;
    if (options.onePerEmail) {
      const handlers = Object.fromEntries(
        Object.entries(TASK_FUNCTIONS).map(([name, fn]) => [name, fn.create(stack.deps)]),
      );
      const engine = new LocalEngine({ handlers, s3: stack.deps.clients.s3, aslPath: seedAsl() });
      campaignDeps = { ...campaignDeps, orchestrator: engine };
    }
    await options.standin.reset();
    let peakRss = process.memoryUsage.rss();
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
    }, 250);
    // BENCH_MEMORY_TRACE=1: what the resident memory is made of, per thread, once a second (bench/memory-trace.ts).
    const memoryTrace = process.env.BENCH_MEMORY_TRACE
      ? setInterval(async () => {
          const workers = ((await stack.senderPool?.broadcast('memory')) ?? []) as IsolateMemory[];
          console.error(
            [
              `memory at ${Math.round(performance.now() - t0)} ms: ${describeProcess(processMemory())}`,
              describeIsolate('  engine', isolateMemory()),
              ...workers.map((w, i) => describeIsolate(`  sender ${i}`, w)),
            ].join('\n'),
          );
        }, 1000)
      : undefined;
    const standinPid = options.standin.pid;
    const services = () => childUsage().filter((c) => c.pid !== standinPid);
    const servicesCpu0 = services().reduce((sum, c) => sum + c.cpuUs, 0);
    const sendersCpu = async () =>
      ((await stack.senderPool?.broadcast('cpu')) ?? []).reduce<number>(
        (sum, us) => sum + Number(us ?? 0),
        0,
      );
    const senders0 = await sendersCpu();
    const engine0 = threadCpuUs();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const campaign = await createCampaign(
      {
        name: options.label,
        templateId: 'bench',
        recipientsKey,
        from: 'news@sixback.example',
        data: BENCH_DATA,
        rate: options.rate,
      },
      campaignDeps,
    );
    const createdMs = performance.now() - t0;
    let preparedMs = Number.NaN;
    // Until Prepare has recorded the plan: a read of the campaign every 50 ms, only before sending starts.
    const preparedWatch = (async () => {
      while (Number.isNaN(preparedMs) && performance.now() - t0 < 3_600_000) {
        const record = await stack.deps.campaigns.get(campaign.id);
        if (record.plan) preparedMs = performance.now() - t0;
        else if (['failed', 'cancelled', 'completed'].includes(record.status)) break;
        else await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    const orchestrator = campaignDeps.orchestrator as LocalEngine;
    const execution = await orchestrator.wait(campaign.executionArn as string);
    await preparedWatch;
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const engineCpu = threadCpuUs() - engine0;
    const sendersCpuUs = (await sendersCpu()) - senders0;
    clearInterval(sampler);
    clearInterval(memoryTrace);
    const serviceUsage = services();
    const servicesCpu = serviceUsage.reduce((sum, c) => sum + c.cpuUs, 0) - servicesCpu0;
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
    const gc = (globalThis as { gc?: () => void }).gc;
    if (gc && process.env.BENCH_DEBUG_HEAP) {
      const before = process.memoryUsage();
      gc();
      const after = process.memoryUsage();
      console.error(
        `heap: before gc ${Math.round(before.heapUsed / 2 ** 20)} MB used / ${Math.round(before.heapTotal / 2 ** 20)} MB total, rss ${Math.round(before.rss / 2 ** 20)}; after gc ${Math.round(after.heapUsed / 2 ** 20)} MB used, rss ${Math.round(after.rss / 2 ** 20)}, external ${Math.round(after.external / 2 ** 20)}, arrayBuffers ${Math.round(after.arrayBuffers / 2 ** 20)}`,
      );
    }
    const final = await stack.deps.campaigns.get(campaign.id);
    const starts =
      final.plan && options.batchTimeline
        ? batchStarts(await objectText(stack, preparedKeyOf(final)), final.plan)
        : undefined;
    const summary = await options.standin.summary(options.recipients, starts);
    const totals = final.totals ?? { ...final.progress, rows: options.recipients };
    const sendMs = summary.rates.last - summary.rates.first;
    const startedAtEpoch = performance.timeOrigin + t0;
    return {
      label: options.label,
      recipients: options.recipients,
      status: `${final.status}${execution.status === 'SUCCEEDED' ? '' : ` (${execution.status})`}`,
      statusReason: final.statusReason ?? execution.error?.Cause,
      sent: totals.sent,
      failed: totals.failed,
      duplicates: summary.duplicates + summary.unexpected,
      lost: options.recipients - summary.found,
      wallMs,
      sendMs,
      beforeFirstSendMs: Math.max(0, summary.rates.first - startedAtEpoch),
      afterLastSendMs: Math.max(0, startedAtEpoch + wallMs - summary.rates.last),
      createdMs,
      preparedMs,
      stackStartMs,
      sendersReadyMs,
      emailsPerSecond: summary.found / (wallMs / 1000),
      sendPhaseEmailsPerSecond: sendMs > 0 ? summary.stats.accepted / (sendMs / 1000) : 0,
      cpuUsPerEmail: {
        pipeline: (cpu.user + cpu.system) / options.recipients,
        services: servicesCpu / options.recipients,
        standin: summary.cpuUs / options.recipients,
      },
      threadCpuUsPerEmail: {
        engine: engineCpu / options.recipients,
        senders: sendersCpuUs / options.recipients,
        other: (cpu.user + cpu.system - engineCpu - sendersCpuUs) / options.recipients,
      },
      peakRssMb: peakRss / 2 ** 20,
      servicesPeakRssMb: serviceUsage.reduce((sum, c) => sum + c.peakRssMb, 0),
      standin: summary,
      plan: final.plan,
      sharedRate: stack.config.sharedRate,
    };
  } finally {
    await stack.stop();
  }
}
