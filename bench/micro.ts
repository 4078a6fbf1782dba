/**
 * Component costs, one at a time: CPU microseconds per operation in this process, and per send in the
 * stand-in's own process. `npx tsx bench/micro.ts [sends] [rounds] [kinds]`, e.g.
 * `npx tsx bench/micro.ts 20000 3 transport,unsigned [inFlight]`: the kinds (sdk, transport, unsigned) take turns
 * for the given rounds and the best (lowest CPU) of each is printed last, as the machine is shared and
 * any single round can be inflated by other work.
 */
import { readFileSync } from 'node:fs';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { Pool } from 'undici';
import { SesV2Transport, sendEmailBody } from '../core/aws/fast/ses-transport.ts';
import { type EmailSender, type OutgoingEmail, SesEmailSender } from '../core/sending/email-sender.ts';
import { compileTemplate, renderTemplate } from '../core/templates/render.ts';
import { benchVariables } from './fixtures.ts';
import { StandinProcess } from './standin.ts';

const html = readFileSync(new URL('./template.html', import.meta.url), 'utf8');
const compiled = compileTemplate({ subject: 'Your {{ month }} update, {{ first_name }}', html });
const vars = benchVariables;

function cpu<T>(label: string, n: number, fn: (i: number) => T) {
  const t0 = process.cpuUsage();
  const w0 = performance.now();
  for (let i = 0; i < n; i++) fn(i);
  const c = process.cpuUsage(t0);
  console.log(
    `${label}: ${((c.user + c.system) / n).toFixed(1)} us/op cpu, ${(n / ((performance.now() - w0) / 1000)).toFixed(0)}/s`,
  );
}
const emailOf = (i: number): OutgoingEmail => {
  const r = renderTemplate(compiled, vars(i));
  return {
    from: 'news@sixback.example',
    to: `bench-${i}@example.com`,
    subject: r.subject,
    html: r.html,
    text: r.text,
    headers: [
      { name: 'List-Unsubscribe', value: '<https://x.example/u/abc>' },
      { name: 'List-Unsubscribe-Post', value: 'List-Unsubscribe=One-Click' },
    ],
    tags: [{ name: 'campaign', value: 'c1' }],
  };
};
cpu('render (liquid + htmlToText)', 5000, (i) => renderTemplate(compiled, vars(i)));
cpu('render', 5000, (i) => renderTemplate(compiled, vars(i)));
const sample = emailOf(1);
console.log('body bytes', Buffer.byteLength(sendEmailBody(sample)));
cpu('sendEmailBody', 20000, () => sendEmailBody(sample));

async function run(
  label: string,
  n: number,
  inflight: number,
  send: (i: number) => Promise<unknown>,
  standin: StandinProcess,
) {
  await standin.reset();
  const t0 = process.cpuUsage();
  const w0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: inflight }, async () => {
      while (next < n) await send(next++);
    }),
  );
  const c = process.cpuUsage(t0);
  const wall = performance.now() - w0;
  const s = await standin.summary(0);
  const client = (c.user + c.system) / n;
  const server = s.cpuUs / n;
  console.log(
    `${label}: client ${client.toFixed(0)} us/send, standin ${server.toFixed(0)} us/send, ${(n / (wall / 1000)).toFixed(0)}/s, accepted ${s.stats.accepted}`,
  );
  const previous = best.get(label);
  best.set(label, {
    client: Math.min(client, previous?.client ?? client),
    standin: Math.min(server, previous?.standin ?? server),
  });
}
const best = new Map<string, { client: number; standin: number }>();
const standin = await StandinProcess.start({});
const creds = { accessKeyId: 'AKID', secretAccessKey: 'SECRET' };
const emails = Array.from({ length: 2000 }, (_, i) => emailOf(i));
const N = Number(process.argv[2] ?? 10000);
const ROUNDS = Number(process.argv[3] ?? 2);
const KINDS = new Set((process.argv[4] ?? 'sdk,transport,unsigned').split(','));
/** Sends in flight (default 32): fewer arrive at the stand-in in smaller bunches, each costing it more. */
const IN_FLIGHT = Number(process.argv[5] ?? 32);
const sdk: EmailSender = new SesEmailSender(
  new SESv2Client({ region: 'us-east-1', endpoint: standin.url, credentials: creds, maxAttempts: 1 }),
);
const fast = new SesV2Transport({
  region: 'us-east-1',
  endpoint: standin.url,
  credentials: creds,
  connections: 32,
});
const pool = new Pool(standin.url, { connections: 32 });
for (let round = 0; round < ROUNDS; round++) {
  if (KINDS.has('sdk')) await run('sdk', N / 2, IN_FLIGHT, (i) => sdk.send(emails[i % 2000]!), standin);
  if (KINDS.has('transport'))
    await run('transport', N, IN_FLIGHT, (i) => fast.send(emails[i % 2000]!), standin);
  if (!KINDS.has('unsigned')) continue;
  await run(
    'unsigned undici',
    N,
    IN_FLIGHT,
    async (i) => {
      const r = await pool.request({
        method: 'POST',
        path: '/v2/email/outbound-emails',
        headers: { 'content-type': 'application/json' },
        body: sendEmailBody(emails[i % 2000]!),
      });
      await r.body.text();
    },
    standin,
  );
}
for (const [label, b] of best) {
  console.log(
    `best of ${ROUNDS} ${label}: client ${b.client.toFixed(0)} us/send, standin ${b.standin.toFixed(0)} us/send`,
  );
}
await standin.close();
await fast.close();
await pool.close();
