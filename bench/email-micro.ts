/**
 * CPU per email, one thread, from template variables to the bytes of the SendEmail body, at both
 * benchmark sizes: `npx tsx bench/email-micro.ts [rounds] [n]`. Variants, run in alternating rounds so
 * a noisy machine slows all of them alike (the figure is the median round; ratios within a round):
 *
 * - before: the fast renderer's HTML, htmlToText of it, sendEmailBody (JSON.stringify of html and text)
 *   and Buffer.from: what every email cost before core/templates/prepared.ts;
 * - after: renderTemplate's prepared path (derived text, pre-encoded JSON) and writeEncodedBody into a
 *   reused buffer: what the sender and the thin transport do now;
 * - liquid: the prepared path off and the fast renderer off: liquidjs renders HTML (the question
 *   whether core/templates/fast-render.ts earns its place);
 * - floor: what cannot go, per email: SHA-256 of the body (SigV4 signs its hash), and a fresh buffer
 *   with one copy of the body (what the transport avoids by reusing buffers).
 */
import { createHash } from 'node:crypto';
import { encodedBodyBound, sendEmailBody, writeEncodedBody } from '../core/aws/fast/ses-transport.ts';
import type { OutgoingEmail } from '../core/sending/email-sender.ts';
import { compileTemplate, type RenderedEmail, renderTemplate } from '../core/templates/render.ts';
import { benchVariables, loadBenchTemplate, TEMPLATE_FILES } from './fixtures.ts';

const ROUNDS = Number(process.argv[2] ?? 7);
const N = Number(process.argv[3] ?? 2000);

const email = (r: RenderedEmail, i: number): OutgoingEmail => ({
  from: 'news@sixback.example',
  to: `bench-${i}@example.com`,
  subject: r.subject,
  html: r.html,
  text: r.text,
  headers: [{ name: 'List-Unsubscribe', value: `<https://x.example/u/${i}>` }],
  tags: [{ name: 'campaign', value: 'c1' }],
  json: r.json,
});

for (const kb of [3, 100]) {
  const template = loadBenchTemplate(TEMPLATE_FILES[kb] as string);
  const after = compileTemplate(template);
  const before = compileTemplate(template);
  const liquid = compileTemplate(template);
  for (const c of [after, before, liquid]) if (c.fast) c.fast.checksLeft = 0;
  if (before.fast) before.fast.prepared = undefined;
  liquid.fast = undefined;
  const inputs = Array.from({ length: 500 }, (_, i) => ({
    ...benchVariables(i),
    unsubscribe_url: `https://x.example/u/${i}`,
  }));
  const buffer = Buffer.allocUnsafeSlow(1 << 20);
  let sink = 0;
  const bodyBytes = Buffer.byteLength(sendEmailBody(email(renderTemplate(after, inputs[0] as never), 0)));
  const variants: Record<string, (i: number) => void> = {
    before: (i) => {
      const body = Buffer.from(sendEmailBody(email(renderTemplate(before, inputs[i % 500] as never), i)));
      sink += body.length;
    },
    after: (i) => {
      const e = email(renderTemplate(after, inputs[i % 500] as never), i);
      if (!e.json) throw new Error('no pre-encoded parts');
      if (encodedBodyBound(e, e.json) > buffer.length) throw new Error('buffer too small');
      sink += writeEncodedBody(e, e.json, buffer);
    },
    liquid: (i) => {
      const body = Buffer.from(sendEmailBody(email(renderTemplate(liquid, inputs[i % 500] as never), i)));
      sink += body.length;
    },
    'floor: sha256 of the body': () => {
      sink += createHash('sha256').update(buffer.subarray(0, bodyBytes)).digest()[0] as number;
    },
    'floor: allocate and copy the body': () => {
      const copy = Buffer.allocUnsafe(bodyBytes);
      sink += buffer.copy(copy, 0, 0, bodyBytes);
    },
  };
  // Same output from both paths before timing anything.
  for (let i = 0; i < 50; i++) {
    const a = email(renderTemplate(after, inputs[i] as never), i);
    const b = email(renderTemplate(before, inputs[i] as never), i);
    const n = writeEncodedBody(a, a.json as never, buffer);
    if (!buffer.subarray(0, n).equals(Buffer.from(sendEmailBody(b)))) throw new Error('bodies differ');
  }
  const samples: Record<string, number[]> = {};
  for (let round = 0; round < ROUNDS + 1; round++) {
    for (const [name, fn] of Object.entries(variants)) {
      const t0 = process.cpuUsage();
      for (let i = 0; i < N; i++) fn(i);
      const c = process.cpuUsage(t0);
      if (round === 0) continue;
      samples[name] ??= [];
      samples[name].push((c.user + c.system) / N);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  console.log(`${kb} KB template, body ${bodyBytes} bytes, median of ${ROUNDS} rounds of ${N}:`);
  const base = median(samples.before as number[]);
  for (const [name, xs] of Object.entries(samples)) {
    const m = median(xs);
    console.log(
      `  ${name.padEnd(28)} ${m.toFixed(1).padStart(8)} us/email cpu  (${(m / base).toFixed(3)} of before)`,
    );
  }
  if (sink === 0) console.log('');
}
