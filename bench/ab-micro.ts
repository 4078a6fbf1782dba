/**
 * Before against after in one run: the per-email path from template variables to the signed SendEmail
 * body bytes (renderTemplate's prepared path, the body written from its pieces, SigV4 signed) of two
 * checkouts of sixback, in alternating rounds so a noisy machine slows both alike. CPU µs per email,
 * median of the rounds; both must write the same bytes.
 *
 *   npx tsx bench/ab-micro.ts BEFORE_ROOT [rounds] [n]     (BEFORE_ROOT: e.g. a `git worktree` of main)
 */
import { pathToFileURL } from 'node:url';
import { benchVariables, loadBenchTemplate, TEMPLATE_FILES } from './fixtures.ts';

const [beforeRoot, roundsArg, nArg] = process.argv.slice(2);
if (!beforeRoot) throw new Error('usage: bench/ab-micro.ts BEFORE_ROOT [rounds] [n]');
const ROUNDS = Number(roundsArg ?? 7);
const N = Number(nArg ?? 600);
const afterRoot = new URL('..', import.meta.url).pathname;

async function load(root: string) {
  const url = (p: string) => pathToFileURL(`${root}/${p}`).href;
  const transport = await import(url('core/aws/fast/ses-transport.ts'));
  const render = await import(url('core/templates/render.ts'));
  const sigv4 = await import(url('core/aws/fast/sigv4.ts'));
  return { transport, render, sigv4 };
}
const sides = { before: await load(beforeRoot), after: await load(afterRoot) };
const date = new Date('2026-12-01T12:00:00Z');

for (const kb of [3, 100]) {
  const template = loadBenchTemplate(TEMPLATE_FILES[kb] as string);
  const inputs = Array.from({ length: 500 }, (_, i) => ({
    ...benchVariables(i),
    unsubscribe_url: `https://x.example/u/${i}`,
  }));
  const variants: Record<string, (i: number) => Buffer> = {};
  for (const [name, m] of Object.entries(sides)) {
    const compiled = m.render.compileTemplate(template);
    if (compiled.fast) compiled.fast.checksLeft = 0;
    const signer = new m.sigv4.SigV4Signer({
      service: 'ses',
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    });
    const buffer = Buffer.allocUnsafeSlow(1 << 20);
    let last: Record<string, string> | undefined;
    variants[name] = (i: number) => {
      const r = m.render.renderTemplate(compiled, inputs[i % 500]);
      const email = {
        from: 'news@sixback.example',
        to: `bench-${i}@example.com`,
        subject: r.subject,
        // As the sender builds it (core/sending/send-batch.ts): the html joined only if something reads it.
        get html() {
          return r.html;
        },
        get text() {
          return r.text;
        },
        headers: [{ name: 'List-Unsubscribe', value: `<https://x.example/u/${i}>` }],
        tags: [{ name: 'campaign', value: 'c1' }],
        json: r.json,
      };
      if (!email.json) throw new Error(`${name}: no pre-encoded parts`);
      if (m.transport.encodedBodyBound(email, email.json) > buffer.length)
        throw new Error('buffer too small');
      const body = buffer.subarray(0, m.transport.writeEncodedBody(email, email.json, buffer));
      // sign() is async only for a credentials provider; with fixed credentials the work is synchronous.
      signer
        .sign(
          { host: 'email.us-east-1.amazonaws.com', path: '/v2/email/outbound-emails', headers: {}, body },
          date,
        )
        .then((h: Record<string, string>) => {
          last = h;
        });
      return body;
    };
    void last;
  }
  for (let i = 0; i < 50; i++) {
    const a = Buffer.from(variants.before?.(i) as Buffer);
    const b = variants.after?.(i) as Buffer;
    if (!a.equals(b)) throw new Error(`bodies differ for recipient ${i} at ${kb} KB`);
  }
  const samples: Record<string, number[]> = {};
  for (let round = 0; round < ROUNDS + 1; round++) {
    // Alternating which side goes first, so neither always inherits the other's garbage.
    const order = Object.entries(variants);
    if (round % 2 === 1) order.reverse();
    for (const [name, fn] of order) {
      const t0 = process.cpuUsage();
      for (let i = 0; i < N; i++) fn(i);
      await new Promise((resolve) => setImmediate(resolve));
      const c = process.cpuUsage(t0);
      if (round === 0) continue;
      samples[name] ??= [];
      samples[name].push((c.user + c.system) / N);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const base = median(samples.before as number[]);
  console.log(`${kb} KB template, median of ${ROUNDS} alternating rounds of ${N}:`);
  for (const [name, xs] of Object.entries(samples)) {
    const m = median(xs);
    console.log(
      `  ${name.padEnd(8)} ${m.toFixed(1).padStart(8)} us/email cpu  (${(m / base).toFixed(3)} of before)`,
    );
  }
}
