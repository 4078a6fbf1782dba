/**
 * The SES stand-in's CPU per SendEmail request, before against after: each checkout's
 * bench/standin-process.ts (the process the benchmark runs) is started as a child, and one fixed client
 * here POSTs the benchmark's real rendered bodies (3 KB and 100 KB, a distinct recipient each) with the
 * transport's signed-header set over keep-alive connections, `inFlight` at a time. The stand-in process
 * reports its own CPU (process.cpuUsage between a reset and the summary); rounds alternate the sides so
 * a noisy machine slows both alike. Median µs per request.
 *
 *   npx tsx bench/standin-micro.ts [BEFORE_ROOT] [rounds] [n] [inFlight]   (BEFORE_ROOT: e.g. a `git worktree` of main)
 */
import { type ChildProcess, fork } from 'node:child_process';
import { Pool } from 'undici';
import { sendEmailBody } from '../core/aws/fast/ses-transport.ts';
import { SigV4Signer } from '../core/aws/fast/sigv4.ts';
import { compileTemplate, renderTemplate } from '../core/templates/render.ts';
import { benchVariables, loadBenchTemplate, TEMPLATE_FILES } from './fixtures.ts';

const [beforeArg, roundsArg, nArg, inFlightArg] = process.argv.slice(2);
const afterRoot = new URL('..', import.meta.url).pathname;
const ROUNDS = Number(roundsArg ?? 5);
const N = Number(nArg ?? 4000);
const IN_FLIGHT = Number(inFlightArg ?? 32);
const sides: [string, string][] = beforeArg
  ? [
      ['before', beforeArg],
      ['after', afterRoot],
    ]
  : [['this', afterRoot]];

interface Child {
  child: ChildProcess;
  url: string;
  call(op: string, extra?: Record<string, unknown>): Promise<Record<string, unknown>>;
}

/** STANDIN_AFTER_ARGV: extra Node flags for the after (or only) side's stand-in, to compare flags. */
const afterArgv = (process.env.STANDIN_AFTER_ARGV ?? '').split(' ').filter(Boolean);

async function startChild(root: string, extraArgv: string[]): Promise<Child> {
  const child = fork(`${root}/bench/standin-process.ts`, ['{}'], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // STANDIN_CPU_PROF=DIR: a V8 CPU profile of each stand-in process, written when it exits.
    execArgv: [
      '--import',
      'tsx',
      ...(process.env.STANDIN_CPU_PROF
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env.STANDIN_CPU_PROF}`]
        : []),
      ...extraArgv,
    ],
  });
  const url = await new Promise<string>((resolve) =>
    child.once('message', (m: { url: string }) => resolve(m.url)),
  );
  let id = 0;
  const waiting = new Map<number, (v: Record<string, unknown>) => void>();
  child.on('message', (m: { id?: number }) => {
    if (m.id !== undefined) waiting.get(m.id)?.(m as Record<string, unknown>);
  });
  return {
    child,
    url,
    call: (op, extra = {}) =>
      new Promise((resolve) => {
        const n = id++;
        waiting.set(n, resolve);
        child.send({ id: n, op, ...extra });
      }),
  };
}

/** A body per recipient: the rendered body of recipient 1 with its address swapped in. */
function bodies(kb: number) {
  const r = renderTemplate(
    compileTemplate(loadBenchTemplate(TEMPLATE_FILES[kb] as string)),
    benchVariables(1),
  );
  const json = sendEmailBody({
    from: 'news@sixback.example',
    to: 'ZZTOZZ',
    subject: r.subject,
    html: r.html,
    text: r.text,
  });
  const [head, tail] = json.split('ZZTOZZ') as [string, string];
  const headBytes = Buffer.from(head);
  const tailBytes = Buffer.from(tail);
  return (i: number) => Buffer.concat([headBytes, Buffer.from(`bench-${i}@example.com`), tailBytes]);
}

async function drive(url: string, body: (i: number) => Buffer, offset: number) {
  const pool = new Pool(url, { connections: IN_FLIGHT, keepAliveTimeout: 30_000 });
  const signer = new SigV4Signer({
    service: 'ses',
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
  });
  const host = new URL(url).host;
  const path = '/v2/email/outbound-emails';
  let next = 0;
  let failed = 0;
  const one = async (): Promise<void> => {
    while (next < N) {
      const b = body(offset + next++);
      const headers = await signer.sign({
        host,
        path,
        headers: { 'content-type': 'application/json', 'content-length': String(b.length) },
        body: b,
      });
      const res = await pool.request({ method: 'POST', path, headers, body: b });
      await res.body.text();
      if (res.statusCode !== 200) failed++;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, one));
  await pool.close();
  return failed;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const children = new Map<string, Child>();
for (const [name, root] of sides)
  children.set(name, await startChild(root, name === 'before' ? [] : afterArgv));
const results: Record<string, Record<number, number[]>> = {};
let offset = 0;
for (const kb of [3, 100]) {
  const body = bodies(kb);
  // A warm-up round each (JIT, connections), not counted.
  for (const [name] of sides) {
    const c = children.get(name) as Child;
    await drive(c.url, body, offset);
    offset += N;
  }
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? sides : [...sides].reverse();
    for (const [name] of order) {
      const c = children.get(name) as Child;
      await c.call('reset');
      const failed = await drive(c.url, body, offset);
      const s = (await c.call('summary', { expected: 0 })) as { cpuUs: number; stats: { accepted: number } };
      if (failed > 0 || s.stats.accepted !== N)
        throw new Error(`${name}: ${failed} failed, ${s.stats.accepted} accepted`);
      offset += N;
      const perKb = results[name] ?? {};
      results[name] = perKb;
      const list = perKb[kb] ?? [];
      perKb[kb] = list;
      list.push(s.cpuUs / N);
    }
  }
}
for (const [name] of sides) {
  const c = children.get(name) as Child;
  const s = (await c.call('summary', { expected: 0 })) as { maxRssMb: number };
  const r = results[name] as Record<number, number[]>;
  console.log(
    JSON.stringify({
      side: name,
      n: N,
      inFlight: IN_FLIGHT,
      cpuUsPerRequest3kb: +median(r[3] as number[]).toFixed(1),
      cpuUsPerRequest100kb: +median(r[100] as number[]).toFixed(1),
      rounds3kb: (r[3] as number[]).map((x) => +x.toFixed(1)),
      rounds100kb: (r[100] as number[]).map((x) => +x.toFixed(1)),
      maxRssMb: Math.round(s.maxRssMb),
    }),
  );
  await c.call('close');
}
