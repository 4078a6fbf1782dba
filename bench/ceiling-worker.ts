/** One thread of the ceiling run: renders its emails, then POSTs them unsigned as fast as it can. */
import { parentPort, workerData } from 'node:worker_threads';
import { Pool } from 'undici';
import { sendEmailBody } from '../core/aws/fast/ses-transport.ts';
import { compileTemplate, renderTemplate } from '../core/templates/render.ts';
import { BENCH_DATA, BENCH_TEMPLATE, benchAddress, CSV_HEADER, recipientLine } from './fixtures.ts';

const { url, from, to, inFlight } = workerData as { url: string; from: number; to: number; inFlight: number };
const template = compileTemplate(BENCH_TEMPLATE);
const columns = CSV_HEADER.trim().split(',');
const bodies: string[] = [];
for (let i = from; i < to; i++) {
  const fields = recipientLine(i).trim().split(',');
  const vars = Object.fromEntries(columns.map((c, j) => [c, fields[j] as string]));
  const rendered = renderTemplate(template, {
    ...BENCH_DATA,
    ...vars,
    unsubscribe_url: `https://mail.example.com/u/${i}`,
  });
  bodies.push(
    sendEmailBody({
      from: 'news@sixback.example',
      to: benchAddress(i),
      subject: rendered.subject,
      html: rendered.html,
      text: rendered.text,
      tags: [{ name: 'campaign', value: 'ceiling' }],
    }),
  );
}
const pool = new Pool(url, { connections: inFlight });
parentPort?.postMessage('ready');
parentPort?.once('message', async () => {
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++] as string;
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
  await pool.close();
  parentPort?.postMessage('done');
});
