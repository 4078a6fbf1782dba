/**
 * The floor: what one email costs that no sender can avoid, measured on this machine for a body of each
 * benchmark size. `npx tsx bench/floor.ts [n]`
 *
 * - sha256: the body's SHA-256 (SigV4 signs it for SES, as x-amz-content-sha256);
 * - write: the body written to a keep-alive loopback TCP socket (the client's CPU per body: the
 *   kernel's copy and the syscall), with a reader in another process;
 * - read: that reader's CPU per body (the kernel's side plus a Node socket reading and dropping it);
 * - stand-in parse: what the SES stand-in does with a body to find the recipient (local/ses-standin.ts
 *   firstRecipient: a Latin-1 decode and JSON.parse of the whole body, as SES must parse it too).
 */
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import { sendEmailBody } from '../core/aws/fast/ses-transport.ts';
import { compileTemplate, renderTemplate } from '../core/templates/render.ts';
import { firstRecipient } from '../local/ses-standin.ts';
import { benchVariables, loadBenchTemplate, TEMPLATE_FILES } from './fixtures.ts';

if (process.argv[2] === 'reader') {
  // The reader: counts bytes, reports its CPU when told the total.
  let received = 0;
  let cpu0 = process.cpuUsage();
  const server = createServer((socket) => {
    socket.on('data', (chunk) => {
      received += chunk.length;
    });
  });
  server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as { port: number }).port }));
  process.on('message', (m: { start?: boolean; expect?: number }) => {
    if (m.start) {
      received = 0;
      cpu0 = process.cpuUsage();
      return;
    }
    const wait = () => {
      if (received < (m.expect as number)) return setImmediate(wait);
      const c = process.cpuUsage(cpu0);
      process.send?.({ cpuUs: c.user + c.system });
    };
    wait();
  });
} else {
  const N = Number(process.argv[2] ?? 3000);
  const reader = fork(new URL(import.meta.url).pathname, ['reader'], { execArgv: ['--import', 'tsx'] });
  const [{ port }] = (await once(reader, 'message')) as [{ port: number }];
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  for (const kb of [3, 100]) {
    const compiled = compileTemplate(loadBenchTemplate(TEMPLATE_FILES[kb] as string));
    const r = renderTemplate(compiled, benchVariables(1));
    const body = Buffer.from(
      sendEmailBody({
        from: 'a@x.example',
        to: 'bench-1@example.com',
        subject: r.subject,
        html: r.html,
        text: r.text,
      }),
    );
    const cpu = (fn: () => void, n = N) => {
      fn();
      const t0 = process.cpuUsage();
      for (let i = 0; i < n; i++) fn();
      const c = process.cpuUsage(t0);
      return (c.user + c.system) / n;
    };
    const sha = cpu(() => createHash('sha256').update(body).digest());
    const parse = cpu(() => firstRecipient(body));
    reader.send({ start: true });
    const t0 = process.cpuUsage();
    for (let i = 0; i < N; i++) {
      if (!socket.write(body)) await once(socket, 'drain');
    }
    const c = process.cpuUsage(t0);
    reader.send({ expect: N * body.length });
    const [{ cpuUs }] = (await once(reader, 'message')) as [{ cpuUs: number }];
    console.log(
      JSON.stringify({
        emailKb: kb,
        bodyBytes: body.length,
        sha256Us: +sha.toFixed(1),
        writeUs: +((c.user + c.system) / N).toFixed(1),
        readUs: +(cpuUs / N).toFixed(1),
        standinParseUs: +parse.toFixed(1),
      }),
    );
  }
  socket.destroy();
  reader.kill();
}
