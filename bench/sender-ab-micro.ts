/**
 * Before against after in one run for the sender core (bench/sender-micro.ts's workload: sendBatch over
 * batches of prepared rows, an in-memory ledger and suppression list, an EmailSender that accepts at
 * once and reads the html, the unsubscribe links on), loaded from two checkouts and run in alternating
 * rounds so a noisy machine slows both alike. CPU µs per email, median of the rounds; both sides must
 * report the same outcomes and build the same messages.
 *
 *   npx tsx bench/sender-ab-micro.ts BEFORE_ROOT [rounds] [batches of 500]
 */
import { pathToFileURL } from 'node:url';
import { BENCH_TEMPLATE, sendBatchEvent } from './fixtures.ts';

const [beforeRoot, roundsArg, batchesArg] = process.argv.slice(2);
if (!beforeRoot) throw new Error('usage: bench/sender-ab-micro.ts BEFORE_ROOT [rounds] [batches]');
const ROUNDS = Number(roundsArg ?? 9);
const BATCHES = Number(batchesArg ?? 20);
const BATCH = 500;
const afterRoot = new URL('..', import.meta.url).pathname;

interface Message {
  from: string;
  to: string;
  replyTo: unknown;
  subject: string;
  html: string;
  text: string;
  headers: unknown;
  tags: unknown;
  configurationSet: unknown;
}

async function load(root: string) {
  const url = (p: string) => pathToFileURL(`${root}/${p}`).href;
  const { MemorySuppressionList } = await import(url('core/compliance/suppression.ts'));
  const { UnsubscribeLinks } = await import(url('core/compliance/unsubscribe.ts'));
  const { MemoryLedger } = await import(url('core/sending/ledger.ts'));
  const { LearntRates, sendBatch } = await import(url('core/sending/send-batch.ts'));
  const { CompiledTemplateCache } = await import(url('core/templates/render.ts'));
  const links = new UnsubscribeLinks({
    region: 'us-east-1',
    publicBaseUrl: 'http://localhost:8787',
    unsubscribeSecret: 'bench-secret-bench-secret-bench-secret',
  });
  let sample: Message[] = [];
  const deps = {
    emails: {
      async send(email: Message) {
        // Read the html as a transport without the pieces would; keep a few to compare the two sides.
        if (email.html.length === 0) throw new Error('empty');
        if (sample.length < 20) {
          const { from, to, replyTo, subject, html, text, headers, tags, configurationSet } = email;
          sample.push({ from, to, replyTo, subject, html, text, headers, tags, configurationSet });
        }
        return { messageId: 'm' };
      },
    },
    loadTemplate: async () => ({ ...BENCH_TEMPLATE, id: 'bench', version: 1 }),
    ledger: new MemoryLedger(),
    suppression: new MemorySuppressionList(),
    recipientExtras: (campaignId: string, key: string) => links.extras(campaignId, key),
    maxInFlight: 16,
    templateCache: new CompiledTemplateCache(),
    learntRates: new LearntRates(),
  };
  return {
    run: (event: unknown) => sendBatch(event, deps) as Promise<{ outcomes: unknown[] }>,
    takeSample: () => {
      const s = sample;
      sample = [];
      return s;
    },
  };
}

const sides = { before: await load(beforeRoot), after: await load(afterRoot) };
// The same first batch on both sides: the same outcomes and messages (each side's ledger is its own).
const check = sendBatchEvent('check', 0, BATCH);
const results = [];
for (const side of Object.values(sides))
  results.push({ outcomes: (await side.run(check)).outcomes, sample: side.takeSample() });
if (JSON.stringify(results[0]) !== JSON.stringify(results[1])) throw new Error('the two sides differ');

const samples: Record<string, number[]> = {};
let next = 1_000_000;
for (let round = 0; round < ROUNDS + 1; round++) {
  const order = Object.entries(sides);
  if (round % 2 === 1) order.reverse();
  for (const [name, side] of order) {
    // Fresh rows each round (the ledger would skip rows sent before), built outside the measured time.
    const events = Array.from({ length: BATCHES }, (_, b) =>
      sendBatchEvent('bench', next + b * BATCH, BATCH),
    );
    next += BATCHES * BATCH;
    const t0 = process.cpuUsage();
    for (const event of events) await side.run(event);
    const c = process.cpuUsage(t0);
    side.takeSample();
    if (round === 0) continue;
    samples[name] ??= [];
    samples[name].push((c.user + c.system) / (BATCHES * BATCH));
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const base = median(samples.before as number[]);
console.log(`sendBatch core, median of ${ROUNDS} alternating rounds of ${BATCHES * BATCH} emails:`);
for (const [name, xs] of Object.entries(samples)) {
  const m = median(xs);
  console.log(
    `  ${name.padEnd(8)} ${m.toFixed(1).padStart(8)} us/email cpu  (${(m / base).toFixed(3)} of before)`,
  );
}
