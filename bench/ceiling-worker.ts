/**
 * One thread of the ceiling run: POSTs its emails unsigned as fast as it can. The bodies are rendered
 * before the clock starts; holding every one (150 KB each at 100 KB) would not fit a worker's heap, so a
 * few distinct renders are kept, split around the recipient's address, and each send joins its
 * recipient's address in (one copy of the body per send, as the sender's own pre-encoded path makes).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Pool } from 'undici';
import { sendEmailBody } from '../core/aws/fast/ses-transport.ts';
import { compileTemplate, renderTemplate } from '../core/templates/render.ts';
import { BENCH_DATA, benchAddress, CSV_HEADER, loadBenchTemplate, recipientLine } from './fixtures.ts';
import { threadCpuUs } from './proc.ts';

const { url, from, to, inFlight, templateFile } = workerData as {
  url: string;
  from: number;
  to: number;
  inFlight: number;
  templateFile: string;
};
const template = compileTemplate(loadBenchTemplate(templateFile));
const columns = CSV_HEADER.trim().split(',');
/** Distinct rendered bodies kept: enough that the stand-in does not read one body over and over. */
const DISTINCT = 32;
const parts: { head: Buffer; tail: Buffer }[] = [];
for (let i = from; i < Math.min(to, from + DISTINCT); i++) {
  const fields = recipientLine(i).trim().split(',');
  const vars = Object.fromEntries(columns.map((c, j) => [c, fields[j] as string]));
  const rendered = renderTemplate(template, {
    ...BENCH_DATA,
    ...vars,
    unsubscribe_url: `https://mail.example.com/u/${i}`,
  });
  const body = sendEmailBody({
    from: 'news@sixback.example',
    to: benchAddress(i),
    subject: rendered.subject,
    html: rendered.html,
    text: rendered.text,
    tags: [{ name: 'campaign', value: 'ceiling' }],
  });
  const marker = `"ToAddresses":[${JSON.stringify(benchAddress(i))}]`;
  const at = body.lastIndexOf(marker);
  parts.push({
    head: Buffer.from(body.slice(0, at + '"ToAddresses":['.length), 'utf8'),
    tail: Buffer.from(body.slice(at + marker.length - 1), 'utf8'),
  });
}
const pool = new Pool(url, { connections: inFlight });
parentPort?.postMessage('ready');
parentPort?.once('message', async () => {
  const cpu0 = threadCpuUs();
  let next = from;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < to) {
        const i = next++;
        const { head, tail } = parts[(i - from) % parts.length] as { head: Buffer; tail: Buffer };
        const body = Buffer.concat([head, Buffer.from(JSON.stringify(benchAddress(i))), tail]);
        const response = await pool.request({
          method: 'POST',
          path: '/v2/email/outbound-emails',
          headers: { 'content-type': 'application/json' },
          body,
        });
        await response.body.text();
      }
    }),
  );
  // This thread's CPU for its sends (the rendering before 'go' left out), for the comparison with sixback.
  const cpuUs = threadCpuUs() - cpu0;
  await pool.close();
  parentPort?.postMessage({ done: true, cpuUs });
});
