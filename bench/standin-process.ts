/**
 * The SES stand-in (local/ses-standin.ts) in a process of its own, so its CPU is measured apart from the
 * sender's and it does not share an event loop with the pipeline. Driven over IPC by bench/standin.ts.
 */
import { type SesStandinOptions, startSesStandin } from '../local/ses-standin.ts';

interface Request {
  id: number;
  op: 'summary' | 'reset' | 'close';
  /** For summary: the bench's recipients are bench-<i>@example.com for i in [0, expected). */
  expected?: number;
  /** For summary: each Map child's first row, ascending (the bench's rows are in order, so row i is in the
   * last batch that starts at or before it). */
  batchStarts?: number[];
}

const options = JSON.parse(process.argv[2] ?? '{}') as SesStandinOptions;
const standin = await startSesStandin(options);
let cpuBase = process.cpuUsage();

const send = (message: unknown) => process.send?.(message);
send({ ready: true, url: standin.url });

process.on('message', async (message: Request) => {
  if (message.op === 'reset') {
    standin.reset();
    cpuBase = process.cpuUsage();
    send({ id: message.id });
  } else if (message.op === 'summary') {
    const counts = standin.counts();
    let duplicates = 0;
    let found = 0;
    for (let i = 0; i < (message.expected ?? 0); i++) {
      const n = counts.get(`bench-${i}@example.com`) ?? 0;
      if (n > 0) found++;
      if (n > 1) duplicates += n - 1;
    }
    let unexpected = 0;
    for (const [address, n] of counts) if (!/^bench-\d+@example\.com$/.test(address)) unexpected += n;
    const cpu = process.cpuUsage(cpuBase);
    // Each batch's first and last acceptance and its count: the per-child timeline of the pacing run.
    const batches: [number, number, number][] = [];
    const times = standin.acceptedAt();
    const starts = message.batchStarts ?? [];
    if (starts.length > 0 && times.size > 0) {
      for (let i = 0, b = 0; i < (message.expected ?? 0); i++) {
        while (b + 1 < starts.length && (starts[b + 1] as number) <= i) b++;
        const t = times.get(`bench-${i}@example.com`);
        if (t === undefined) continue;
        const span = batches[b] ?? [t, t, 0];
        batches[b] = span;
        if (t < span[0]) span[0] = t;
        if (t > span[1]) span[1] = t;
        span[2]++;
      }
    }
    send({
      batches: batches.filter(Boolean),
      intervals: standin.intervals(),
      id: message.id,
      stats: standin.stats,
      distinct: counts.size,
      found,
      duplicates,
      unexpected,
      rates: standin.rates(1000),
      cpuUs: cpu.user + cpu.system,
      maxRssMb: process.resourceUsage().maxRSS / 1024,
    });
  } else if (message.op === 'close') {
    await standin.close();
    send({ id: message.id });
    process.exit(0);
  }
});
