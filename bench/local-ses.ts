/**
 * Sends per second the local SES accepts (what `sixback dev`, the demo and the tests go through): a
 * number of SESv2Client SendEmail calls with sixback's usual 16 in flight, timed end to end, the
 * mailbox on disk and the events published into a no-op consumer. Compares nothing by itself; run it
 * against another server with `--url`.
 *
 *   npx tsx bench/local-ses.ts [--count 5000] [--in-flight 16] [--configuration-set sixback-local-tracked] [--url http://...]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { SAMPLE_TEMPLATE } from '../cli/sample.ts';
import { toSendEmailInput } from '../core/sending/email-sender.ts';
import { trackingVariants } from '../core/sending/tracking.ts';
import { eventTypesFor, startLocalSes } from '../local/ses/server.ts';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '5000' },
    'in-flight': { type: 'string', default: '16' },
    'configuration-set': { type: 'string' },
    url: { type: 'string' },
  },
});
const count = Number(values.count);
const inFlight = Number(values['in-flight']);
const directory = mkdtempSync(join(tmpdir(), 'sixback-ses-bench-'));
let events = 0;
const local = values.url
  ? undefined
  : await startLocalSes({
      directory,
      configurationSets: trackingVariants('sixback-local').map(({ name, tracking }) => ({
        name,
        eventTypes: eventTypesFor(tracking),
      })),
      onEvents: async (batch) => {
        events += batch.length;
      },
    });
const url = values.url ?? (local?.url as string);
const ses = new SESv2Client({
  region: 'us-east-1',
  endpoint: url,
  credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
});
const html = SAMPLE_TEMPLATE.html.replace(/\{\{[^}]*\}\}/g, 'value');
const send = (i: number) =>
  ses.send(
    new SendEmailCommand(
      toSendEmailInput({
        from: 'bench@sixback.example',
        to: `user${i}@example.com`,
        subject: `Welcome ${i}`,
        html,
        text: 'Welcome',
        headers: [{ name: 'List-Unsubscribe', value: '<http://localhost:8787/u/x>' }],
        tags: [{ name: 'campaign', value: 'bench' }],
        configurationSet: values['configuration-set'],
      }),
    ),
  );
// Warm up the connections and the JIT before timing.
await Promise.all(Array.from({ length: inFlight }, (_, i) => send(i)));
let next = 0;
const started = performance.now();
await Promise.all(
  Array.from({ length: inFlight }, async () => {
    while (next < count) await send(next++);
  }),
);
const seconds = (performance.now() - started) / 1000;
await local?.events.idle();
console.log(
  JSON.stringify({
    server: values.url ? url : 'local/ses',
    configurationSet: values['configuration-set'] ?? null,
    sends: count,
    inFlight,
    seconds: Number(seconds.toFixed(2)),
    perSecond: Math.round(count / seconds),
    bodyBytes: Buffer.byteLength(html),
    ...(local ? { stored: local.store.count, events } : {}),
  }),
);
ses.destroy();
await local?.close();
rmSync(directory, { recursive: true, force: true });
