/**
 * The stand-in reads SendEmail bodies without a Buffer.concat per request (BodyRequest.bodyView, one
 * buffer shared by all requests): on generated bodies (valid and broken JSON, raw UTF-8, \u-escaped and
 * mixed-case addresses, stray bytes) cut into chunks anywhere, it must accept, refuse and count exactly
 * as the reading it replaced (test/support/ses-standin-reference.ts), through its own body reading, over
 * a raw socket written in arbitrary pieces (Content-Length and chunked bodies, pipelined), through undici
 * and through the real SESv2Client.
 */
import { connect, Socket } from 'node:net';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import fc from 'fast-check';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { toSendEmailInput } from '../../core/sending/email-sender.ts';
import { BodyRequest } from '../../local/http-server.ts';
import { firstRecipient, type SesStandin, startSesStandin } from '../../local/ses-standin.ts';
import {
  referenceBody,
  referenceFirstRecipient,
  referenceOutcome,
} from '../support/ses-standin-reference.ts';

const PATH = '/v2/email/outbound-emails';

const address = fc.oneof(
  fc.emailAddress(),
  fc.constantFrom(
    'Zoë@example.com',
    'ADA@Example.COM',
    '  padded@example.com ',
    '漢字@例え.jp',
    "o'hara@x.example",
    'tab\t@x.example',
    '😀@x.example',
  ),
  fc.string({ unit: 'grapheme', maxLength: 10 }).map((s) => `${s}@X.example`),
);

/** A JSON string literal for `s`: as JSON.stringify writes it, every code unit \u-escaped, or a mix. */
const literal = (s: string) =>
  fc.constantFrom('raw', 'escaped', 'mixed').chain((how) =>
    how === 'raw'
      ? fc.constant(JSON.stringify(s))
      : fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }).map((escapeUnit) => {
          let out = '"';
          for (let i = 0; i < s.length; i++) {
            const unit = s.charCodeAt(i);
            const surrogate = unit >= 0xd800 && unit <= 0xdfff;
            if (how === 'escaped' || escapeUnit[i] || surrogate)
              out += `\\u${unit.toString(16).padStart(4, '0')}`;
            else out += JSON.stringify(s[i]).slice(1, -1);
          }
          return `${out}"`;
        }),
  );

const recipients = fc.oneof(
  { weight: 6, arbitrary: fc.array(address.chain(literal), { minLength: 1, maxLength: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom([], ['""'], ['7'], ['null'], ['{"a":1}']) },
);

const sendEmailJson = fc
  .record({
    to: recipients,
    subject: fc.string({ maxLength: 20 }),
    html: fc.string({ unit: 'grapheme', maxLength: 200 }),
    destinationFirst: fc.boolean(),
  })
  .map(({ to, subject, html, destinationFirst }) => {
    const destination = `"Destination":{"ToAddresses":[${to.join(',')}]}`;
    const content = `"Content":{"Simple":{"Subject":{"Data":${JSON.stringify(subject)}},"Body":{"Html":{"Data":${JSON.stringify(html)}}}}}`;
    const members = destinationFirst ? [destination, content] : [content, destination];
    return `{"FromEmailAddress":"news@sixback.example",${members.join(',')}}`;
  });

/** Bodies: mostly valid SendEmail JSON, some broken (cut, extended, stray bytes, a BOM) or not JSON. */
const body: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 5, arbitrary: sendEmailJson.map((s) => Buffer.from(s)) },
  {
    weight: 4,
    arbitrary: fc
      .tuple(
        sendEmailJson.map((s) => Buffer.from(s)),
        fc.constantFrom('cut', 'append', 'insert', 'bom'),
        fc.nat(),
        fc.uint8Array({ minLength: 1, maxLength: 3 }),
      )
      .map(([b, how, at, bytes]) => {
        const i = at % (b.length + 1);
        if (how === 'cut') return b.subarray(0, i);
        if (how === 'append') return Buffer.concat([b, Buffer.from(bytes)]);
        if (how === 'bom') return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), b]);
        return Buffer.concat([b.subarray(0, i), Buffer.from(bytes), b.subarray(i)]);
      }),
  },
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc.constantFrom('', 'null', '[]', '{}', '"x"', '{"Destination":null}').map((s) => Buffer.from(s)),
      fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
    ),
  },
);

/** `b` cut at the given points (sorted, deduplicated): chunk boundaries anywhere, empty chunks dropped. */
function cut(b: Buffer, points: number[]): Buffer[] {
  const at = [...new Set(points.map((p) => p % (b.length + 1)))].sort((x, y) => x - y);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const p of [...at, b.length]) {
    if (p > from) chunks.push(b.subarray(from, p));
    from = Math.max(from, p);
  }
  return chunks;
}

const bodyInChunks = fc
  .tuple(body, fc.array(fc.nat(), { maxLength: 6 }))
  .map(([b, points]) => cut(b, points));

describe('the stand-in reads SendEmail bodies as the reading it replaced', () => {
  it('gives the same bytes and the same first recipient for any body cut into chunks anywhere', () => {
    fc.assert(
      fc.property(fc.array(bodyInChunks, { minLength: 1, maxLength: 4 }), (bodies) => {
        const requests = bodies.map((chunks) => {
          const req = new BodyRequest(new Socket());
          for (const chunk of chunks) req.addChunk(chunk);
          return req;
        });
        // In turn and then again in reverse: one request's view must not spoil the next one's.
        for (const order of [bodies.keys(), [...bodies.keys()].reverse()]) {
          for (const i of order) {
            const reference = referenceBody(bodies[i] as Buffer[]);
            const view = (requests[i] as BodyRequest).bodyView();
            if (reference === undefined) expect(view).toBeUndefined();
            else expect(view?.equals(reference), 'the same bytes').toBe(true);
            expect(firstRecipient(view)).toBe(referenceFirstRecipient(reference));
          }
        }
      }),
      { numRuns: 300 },
    );
  }, 30_000);
});

describe('the stand-in server accepts, refuses and counts as the reference', () => {
  let standin: SesStandin;
  beforeAll(async () => {
    standin = await startSesStandin();
  });
  afterAll(() => standin.close());
  beforeEach(() => standin.reset());

  function expected(bodies: readonly Buffer[]) {
    const outcomes = bodies.map(referenceOutcome);
    const counts = new Map<string, number>();
    for (const o of outcomes) if (o.key !== undefined) counts.set(o.key, (counts.get(o.key) ?? 0) + 1);
    return { statuses: outcomes.map((o) => o.status), counts };
  }

  function errorType(status: number) {
    return status === 200 ? null : 'BadRequestException';
  }

  it('over a raw socket written in arbitrary pieces, Content-Length or chunked, pipelined', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(body, fc.boolean(), fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 4 })), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.array(fc.nat(), { maxLength: 8 }),
        async (requests, points) => {
          standin.reset();
          const port = Number(new URL(standin.url).port);
          const wire = Buffer.concat(
            requests.map(([b, chunked, sizes]) => {
              if (!chunked) {
                const head = `POST ${PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${b.length}\r\n\r\n`;
                return Buffer.concat([Buffer.from(head), b]);
              }
              const parts: Buffer[] = [
                Buffer.from(`POST ${PATH} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n`),
              ];
              let at = 0;
              for (let k = 0; at < b.length; k++) {
                const n = Math.min(sizes[k % Math.max(1, sizes.length)] ?? b.length, b.length - at);
                parts.push(Buffer.from(`${n.toString(16)}\r\n`), b.subarray(at, at + n), Buffer.from('\r\n'));
                at += n;
              }
              parts.push(Buffer.from('0\r\n\r\n'));
              return Buffer.concat(parts);
            }),
          );
          const answers = await exchange(port, cut(wire, points), requests.length);
          const want = expected(requests.map(([b]) => b));
          expect(answers.map((a) => a.status)).toEqual(want.statuses);
          expect(answers.map((a) => a.errorType)).toEqual(want.statuses.map(errorType));
          expect(standin.counts()).toEqual(want.counts);
        },
      ),
      { numRuns: 60 },
    );
  }, 30_000);

  it('through undici', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(body, { minLength: 1, maxLength: 4 }), async (bodies) => {
        standin.reset();
        const answers: { status: number; errorType: string | null }[] = [];
        for (const b of bodies) {
          const res = await request(`${standin.url}${PATH}`, { method: 'POST', body: b });
          await res.body.text();
          const type = res.headers['x-amzn-errortype'];
          answers.push({ status: res.statusCode, errorType: typeof type === 'string' ? type : null });
        }
        const want = expected(bodies);
        expect(answers.map((a) => a.status)).toEqual(want.statuses);
        expect(answers.map((a) => a.errorType)).toEqual(want.statuses.map(errorType));
        expect(standin.counts()).toEqual(want.counts);
      }),
      { numRuns: 40 },
    );
  }, 30_000);

  it('through the real SESv2Client, counting each address lowercased', async () => {
    const ses = new SESv2Client({
      region: 'us-east-1',
      endpoint: standin.url,
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      maxAttempts: 1,
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(address, fc.string({ unit: 'grapheme', maxLength: 300 })), {
          minLength: 1,
          maxLength: 3,
        }),
        async (emails) => {
          standin.reset();
          const counts = new Map<string, number>();
          for (const [to, html] of emails) {
            const out = await ses.send(
              new SendEmailCommand(
                toSendEmailInput({ from: 'news@sixback.example', to, subject: 'Hi', html }),
              ),
            );
            expect(out.MessageId).toMatch(/^standin-\d+$/);
            const key = to.trim().toLowerCase();
            counts.set(key, (counts.get(key) ?? 0) + 1);
          }
          expect(standin.counts()).toEqual(counts);
        },
      ),
      { numRuns: 25 },
    );
    ses.destroy();
  }, 30_000);
});

/** Writes `pieces` to a fresh connection one write each, and reads `n` answers (status, error type). */
async function exchange(port: number, pieces: Buffer[], n: number) {
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  const answers: { status: number; errorType: string | null }[] = [];
  let received = Buffer.alloc(0);
  const done = new Promise<void>((resolve, reject) => {
    socket.on('error', reject);
    socket.on('close', () =>
      reject(new Error(`the connection closed after ${answers.length} of ${n} answers`)),
    );
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      for (;;) {
        const end = received.indexOf('\r\n\r\n');
        if (end === -1) return;
        const head = received.subarray(0, end).toString('latin1');
        const length = /\r\ntransfer-encoding: *chunked/i.test(head)
          ? chunkedLength(received, end + 4)
          : Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (length === undefined || received.length < end + 4 + length) return;
        answers.push({
          status: Number(head.slice(9, 12)),
          errorType: /\r\nx-amzn-errortype: *([^\r]*)/i.exec(head)?.[1] ?? null,
        });
        received = received.subarray(end + 4 + length);
        if (answers.length === n) {
          socket.removeAllListeners('close');
          resolve();
        }
      }
    });
  });
  for (const piece of pieces) socket.write(piece);
  await done;
  socket.destroy();
  return answers;
}

/** The bytes of a chunked body that starts at `from`, up to its last chunk; undefined until all are in. */
function chunkedLength(b: Buffer, from: number): number | undefined {
  let at = from;
  for (;;) {
    const line = b.indexOf('\r\n', at);
    if (line === -1) return undefined;
    const size = Number.parseInt(b.subarray(at, line).toString('latin1'), 16);
    at = line + 2 + size + 2;
    if (at > b.length) return undefined;
    if (size === 0) return at - from;
  }
}
