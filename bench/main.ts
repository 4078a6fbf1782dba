/**
 * `npm run bench -- --recipients N [--rate R] [--latency MS]`
 *
 * Sends a campaign of N personalised emails through the whole local pipeline to a fast SES stand-in (in a
 * process of its own), counts every recipient at the stand-in, then measures the reference points on a
 * smaller campaign and runs the pacing check. Prints a table, and as its last line one JSON object.
 *
 * Options:
 *   --recipients N      campaign size (default 30000)
 *   --rate R            the campaign's rate, emails/s (default 6000)
 *   --latency MS        stand-in latency per call (default 0)
 *   --workers W         SendBatch worker threads (default 2)
 *   --in-flight K       the most sends in flight per batch (default: the configuration's maxInFlight, 64;
 *                       each batch's window starts at 16 and follows its rate x latency below it)
 *   --reference N       size of the reference runs (default min(N, 20000)); 0 skips them
 *   --pacing-limit L    the pacing run's stand-in rate limit, emails/s (default 2000); 0 skips it
 *   --pacing-recipients N  the pacing run's size (default 15 s at the limit; 60 s or more for the target)
 *   --ledger memory|dynalite  the ledger's batch traffic from memory in its own process (local/fast-ledger.ts,
 *                      the default, standing in for DynamoDB) or in dynalite, as `sixback dev` runs it
 *   --pacing-shared 0|1 the pacing run's children: 1 share the campaign's rate (SIXBACK_SHARED_RATE=true),
 *                       0 each keeps to its equal share; default: what sixback does by default (core/config.ts)
 *   --worker-rate W     the most one SendBatch child sends per second (default 1000; plan.ts uses 250)
 *   --steps             also run the optimisation steps table (each on the reference size)
 *   --references LIST   which reference runs (default ceiling,stock,seed; at 100 KB the stock SDK and seed
 *                       runs take minutes each)
 *   --email-kb K        the template: 3 (bench/template.html, the default) or 100 (bench/template-100kb.html)
 *   --template FILE     any HTML template instead; its variables are filled from the CSV's columns (email,
 *                       first_name, city, plan, joined, points, member_id) and the campaign data (company,
 *                       sender_name, month); a FILE.txt beside FILE.html is its text part (bench/templates/
 *                       holds realistic shapes, from bench/make-templates.ts)
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { DEFAULT_MAX_IN_FLIGHT } from '../core/config.ts';
import { runCeiling } from './ceiling.ts';
import { benchTemplateFile, loadBenchTemplate } from './fixtures.ts';
import { pacingTimeline } from './pacing-timeline.ts';
import { type PipelineResult, runPipeline } from './pipeline.ts';
import { StandinProcess } from './standin.ts';

/**
 * V8 grows a busy heap far beyond its live data (about 60 MB here) before it collects: the benchmark caps
 * the old generation so resident memory reflects what the pipeline needs (Prepare's duplicate check holds
 * every address of the file, about 100 MB for a million). Flags must be given at start, so
 * the benchmark runs itself again with them.
 */
const HEAP_FLAG = '--max-old-space-size=384';
if (!process.execArgv.includes(HEAP_FLAG)) {
  const child = spawnSync(process.execPath, [...process.execArgv, HEAP_FLAG, ...process.argv.slice(1)], {
    stdio: 'inherit',
  });
  process.exit(child.status ?? 1);
}

const { values } = parseArgs({
  options: {
    recipients: { type: 'string', default: '30000' },
    rate: { type: 'string', default: '6000' },
    latency: { type: 'string', default: '0' },
    workers: { type: 'string', default: '2' },
    'in-flight': { type: 'string', default: String(DEFAULT_MAX_IN_FLIGHT) },
    reference: { type: 'string' },
    'pacing-limit': { type: 'string', default: '2000' },
    'pacing-recipients': { type: 'string' },
    'pacing-shared': { type: 'string' },
    ledger: { type: 'string', default: 'memory' },
    steps: { type: 'boolean', default: false },
    'worker-rate': { type: 'string', default: '1000' },
    'email-kb': { type: 'string' },
    template: { type: 'string' },
    references: { type: 'string', default: 'ceiling,stock,seed' },
  },
});
const recipients = Number(values.recipients);
const rate = Number(values.rate);
const latency = Number(values.latency);
const workers = Number(values.workers);
const maxInFlight = Number(values['in-flight']);
const referenceSize =
  values.reference === undefined ? Math.min(recipients, 20_000) : Number(values.reference);
const pacingLimit = Number(values['pacing-limit']);
const maxWorkerRate = Number(values['worker-rate']);
const log = (line: string) => console.log(line);
const referenceRuns = new Set(values.references.split(','));
const templateFile = benchTemplateFile({
  emailKb: values['email-kb'] === undefined ? undefined : Number(values['email-kb']),
  template: values.template,
});
const template = loadBenchTemplate(templateFile);
/** The template's size: what `--email-kb` names, else the file's size in KiB (the rendered email is a
 * little larger; the 100 KB fixture is 101,773 bytes, 99.4 KiB). */
const templateBytes = Buffer.byteLength(template.html);
const emailKb =
  values['email-kb'] !== undefined && values.template === undefined
    ? Number(values['email-kb'])
    : Math.round(templateBytes / 1024);

/** A quota that never limits the benchmark (Prepare fits the campaign rate to GetAccount's answer). */
const OPEN_QUOTA = { max24HourSend: 100_000_000, maxSendRate: 100_000 };

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function row(r: PipelineResult): string {
  const why = r.statusReason ? `\n  ${r.status}: ${r.statusReason.slice(0, 400)}` : '';
  return (
    [
      r.label.padEnd(34),
      fmt(r.recipients).padStart(9),
      fmt(r.sent).padStart(9),
      fmt(r.duplicates).padStart(4),
      fmt(r.lost).padStart(4),
      `${fmt(r.wallMs / 1000, 1)} s`.padStart(8),
      fmt(r.emailsPerSecond).padStart(7),
      fmt(r.sendPhaseEmailsPerSecond).padStart(7),
      fmt(r.cpuUsPerEmail.pipeline).padStart(6),
      fmt(r.cpuUsPerEmail.services).padStart(5),
      fmt(r.cpuUsPerEmail.standin).padStart(5),
      fmt(r.peakRssMb).padStart(5),
      fmt(r.servicesPeakRssMb).padStart(5),
    ].join(' ') + why
  );
}
const HEADER = [
  'run'.padEnd(34),
  'rows'.padStart(9),
  'sent'.padStart(9),
  'dup'.padStart(4),
  'lost'.padStart(4),
  'wall'.padStart(8),
  'e/s'.padStart(7),
  'send/s'.padStart(7),
  'cpu/e'.padStart(6),
  'db/e'.padStart(5),
  'ses/e'.padStart(5),
  'rssMB'.padStart(5),
  'dbMB'.padStart(5),
].join(' ');

const standin = await StandinProcess.start({ latencyMs: latency, quota: OPEN_QUOTA });
const results: PipelineResult[] = [];
const report: Record<string, unknown> = {};
try {
  log(
    `sixback benchmark: ${fmt(recipients)} recipients at up to ${fmt(rate)}/s, ${workers} sender workers, ${emailKb} KB template (${templateFile})`,
  );
  // Every run shares these; the reference points override what they measure.
  const base = {
    rate,
    standin,
    transport: 'fast',
    workers,
    maxInFlight,
    fastLedger: values.ledger !== 'dynalite',
    maxWorkerRate,
    template,
  } as const;
  const main = await runPipeline({
    ...base,
    label: `sixback (fast transport, ${workers} workers)`,
    recipients,
  });
  results.push(main);
  log(HEADER);
  log(row(main));
  const t = main.threadCpuUsPerEmail;
  log(
    `  cpu per email inside the pipeline process: engine thread ${fmt(t.engine)} us, sender threads ${fmt(t.senders)} us, other ${fmt(t.other)} us`,
  );
  log(
    `  before the first send ${fmt(main.beforeFirstSendMs / 1000, 1)} s (creation's check until ${fmt(main.createdMs / 1000, 1)} s, Prepare until ${fmt(main.preparedMs / 1000, 1)} s, then BeginSending and the Map starting), after the last ${fmt(main.afterLastSendMs / 1000, 1)} s (Finalise)`,
  );

  const ratios: Record<string, number> = {};
  /** The ceiling's own CPU per email, to set against sixback's (what the ceiling does not do). */
  let ceilingCpu: { threads: number; process: number; standin: number } | undefined;
  const referenceRates: Record<string, number> = {};
  if (referenceSize > 0) {
    const reference = async (label: string, options: Partial<Parameters<typeof runPipeline>[0]>) => {
      const result = await runPipeline({ ...base, label, recipients: referenceSize, ...options });
      results.push(result);
      log(row(result));
      return result;
    };
    // sixback itself on the reference size, so the ratios compare runs of the same size.
    const same = referenceSize === recipients ? main : await reference(`sixback at reference size`, {});
    referenceRates.sixback = same.emailsPerSecond;
    if (referenceRuns.has('ceiling')) {
      const ceiling = await runCeiling({
        standin,
        recipients: referenceSize,
        workers,
        inFlight: 64,
        templateFile,
      });
      log(
        `${'ceiling: unsigned POSTs'.padEnd(34)} ${fmt(referenceSize).padStart(9)} ${fmt(ceiling.emailsPerSecond).padStart(34)} e/s`,
      );
      referenceRates.ceiling = ceiling.emailsPerSecond;
      ceilingCpu = {
        threads: Math.round(ceiling.threadsCpuUsPerEmail),
        process: Math.round(ceiling.processCpuUsPerEmail),
        standin: Math.round(ceiling.standinCpuUsPerEmail),
      };
      log(
        `  ceiling cpu per email: sending threads ${fmt(ceilingCpu.threads)} us, whole process ${fmt(ceilingCpu.process)} us, stand-in ${fmt(ceilingCpu.standin)} us`,
      );
      ratios.ceilingToSixback = ceiling.emailsPerSecond / same.emailsPerSecond;
      ratios.sixbackToCeiling = same.emailsPerSecond / ceiling.emailsPerSecond;
    }
    let stock: PipelineResult | undefined;
    if (referenceRuns.has('stock') || values.steps) {
      stock = await reference('stock SDK, in-process (before)', {
        transport: 'sdk',
        workers: 0,
        fastLedger: false,
      });
      referenceRates.stockSdk = stock.emailsPerSecond;
      ratios.stockSdkToSixback = stock.emailsPerSecond / same.emailsPerSecond;
    }
    if (referenceRuns.has('seed')) {
      const seed = await reference('seed: one invocation per email', {
        transport: 'sdk',
        workers: 0,
        fastLedger: false,
        onePerEmail: true,
        recipients: Math.min(referenceSize, 5000),
      });
      referenceRates.seed = seed.emailsPerSecond;
      ratios.seedToSixback = seed.emailsPerSecond / same.emailsPerSecond;
    }
    if (values.steps) {
      // What each change bought, one at a time, on the reference size.
      const transportOnly = await reference('+ fast transport', { workers: 0, fastLedger: false });
      const pool = await reference(`+ ${workers} sender threads`, { fastLedger: false });
      report.steps = [
        {
          change: 'stock SDK, SendBatch in the engine thread, dynalite ledger',
          run: stock as PipelineResult,
        },
        { change: 'thin SES transport (core/aws/fast/ses-transport.ts)', run: transportOnly },
        { change: `SendBatch in ${workers} worker threads (local/sender-pool.ts)`, run: pool },
        { change: 'ledger batches from memory in its own process (bench/fast-ledger.ts)', run: same },
      ].map(({ change, run }) => ({
        change,
        emailsPerSecond: Math.round(run.emailsPerSecond),
        sendPhaseEmailsPerSecond: Math.round(run.sendPhaseEmailsPerSecond),
        cpuUsPerEmail: Math.round(
          run.cpuUsPerEmail.pipeline + run.cpuUsPerEmail.services + run.cpuUsPerEmail.standin,
        ),
      }));
    }
  }

  let pacing: Record<string, unknown> | undefined;
  if (pacingLimit > 0) {
    const limited = await StandinProcess.start({
      latencyMs: 60,
      rateLimit: pacingLimit,
      quota: { max24HourSend: 100_000_000, maxSendRate: pacingLimit },
      recordTimes: true,
    });
    try {
      const size =
        values['pacing-recipients'] !== undefined
          ? Number(values['pacing-recipients'])
          : Math.max(1000, pacingLimit * 15);
      const result = await runPipeline({
        label: `pacing: limit ${pacingLimit}/s, 60 ms`,
        recipients: size,
        rate: pacingLimit,
        standin: limited,
        transport: 'fast',
        workers,
        // The configuration's default maximum: a child of 250/s at 60 ms needs 15, and its window grows
        // past its start of 16 to catch up (core/sending/in-flight-window.ts); --in-flight bounds it.
        maxInFlight,
        fastLedger: values.ledger !== 'dynalite',
        template,
        batchTimeline: true,
        // Unset: the configuration's default, so the pacing run measures what a user gets.
        ...(values['pacing-shared'] !== undefined ? { sharedRate: values['pacing-shared'] !== '0' } : {}),
      });
      results.push(result);
      log(row(result));
      const timeline = pacingTimeline(result.standin, pacingLimit, result.plan?.maxConcurrency ?? 1);
      log(
        `  pacing: ${result.plan?.maxConcurrency} children of ${fmt(pacingLimit / (result.plan?.maxConcurrency ?? 1))}/s, ${timeline.children} batches of ${result.plan?.batchSize}; steady ${fmt(timeline.steadyFraction, 3)} of the limit, children sending ${fmt(timeline.occupancy, 3)} of the time at ${fmt(timeline.childRateToShare, 3)} of their share, median slot switch ${fmt(timeline.medianSwitchMs)} ms`,
      );
      log(`  per second / limit: ${timeline.perSecondFraction.map((f) => fmt(f, 2)).join(' ')}`);
      log(`  first 3 s per 100 ms [accepted, children sending]: ${JSON.stringify(timeline.head)}`);
      pacing = {
        limit: pacingLimit,
        recipients: size,
        achievedRate: result.sendPhaseEmailsPerSecond,
        fractionOfLimit: result.sendPhaseEmailsPerSecond / pacingLimit,
        peakRate: result.standin.rates.peak,
        throttled429: result.standin.stats.throttled,
        lost: result.lost,
        duplicates: result.duplicates,
        status: result.status,
        sharedRate: result.sharedRate,
        children: result.plan?.maxConcurrency,
        batchSize: result.plan?.batchSize,
        steadyFraction: timeline.steadyFraction,
        occupancy: timeline.occupancy,
        childRateToShare: timeline.childRateToShare,
        medianSwitchMs: timeline.medianSwitchMs,
        perSecondFraction: timeline.perSecondFraction,
      };
    } finally {
      await limited.close();
    }
  }

  Object.assign(report, {
    emailKb,
    templateBytes,
    recipients,
    sent: main.standin.found,
    duplicates: main.duplicates,
    lost: main.lost,
    status: main.status,
    emailsPerSecond: Math.round(main.emailsPerSecond),
    sendPhaseEmailsPerSecond: Math.round(main.sendPhaseEmailsPerSecond),
    wallMs: Math.round(main.wallMs),
    sendMs: Math.round(main.sendMs),
    beforeFirstSendMs: Math.round(main.beforeFirstSendMs),
    createdMs: Math.round(main.createdMs),
    preparedMs: Math.round(main.preparedMs),
    afterLastSendMs: Math.round(main.afterLastSendMs),
    stackStartMs: Math.round(main.stackStartMs),
    sendersReadyMs: Math.round(main.sendersReadyMs),
    cpuUsPerEmail: {
      pipeline: Math.round(main.cpuUsPerEmail.pipeline),
      ledgerProcess: Math.round(main.cpuUsPerEmail.services),
      standin: Math.round(main.cpuUsPerEmail.standin),
    },
    threadCpuUsPerEmail: {
      engine: Math.round(main.threadCpuUsPerEmail.engine),
      senders: Math.round(main.threadCpuUsPerEmail.senders),
      other: Math.round(main.threadCpuUsPerEmail.other),
    },
    peakRssMb: Math.round(main.peakRssMb),
    ledgerProcessPeakRssMb: Math.round(main.servicesPeakRssMb),
    standinPeakRssMb: Math.round(main.standin.maxRssMb),
    workers,
    ledger: values.ledger,
    rate,
    latencyMs: latency,
    ratios,
    referenceRates: Object.fromEntries(Object.entries(referenceRates).map(([k, v]) => [k, Math.round(v)])),
    referenceRecipients: referenceSize,
    ...(ceilingCpu ? { ceilingCpuUsPerEmail: ceilingCpu } : {}),
    pacing,
  });
} finally {
  await standin.close();
}
console.log(JSON.stringify(report));
