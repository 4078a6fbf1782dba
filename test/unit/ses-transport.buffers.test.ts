/**
 * The thin SES transport writes each body into a reused buffer (BodyBuffers). A buffer must never be
 * written again while a socket may still be sending it: only after SES accepted the message (it read the
 * whole body by then), never after a timeout, a reset, a 5xx or an abort, when the write may still be
 * pending. A dispatcher that holds every body and "writes" it (copies it) only when the test says so
 * makes those pending writes certain: a buffer reused too early shows as another email's bytes.
 */
import type { Dispatcher } from 'undici';
import { describe, expect, it } from 'vitest';
import { SesV2Transport, sendEmailBody } from '../../core/aws/fast/ses-transport.ts';
import type { OutgoingEmail } from '../../core/sending/email-sender.ts';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
const encoder = new TextEncoder();

/** An email of about 60 KB with pre-encoded parts (nothing in them to escape), its address repeated all
 * through the html. */
function email(n: number): OutgoingEmail {
  const to = `r${n}@x.example`;
  const html: (Uint8Array | string)[] = [];
  for (let i = 0; i < 300; i++) html.push(encoder.encode('<td style=padding:0>'.repeat(9)), to);
  return {
    from: 'news@x.example',
    to,
    subject: `Hi ${n}`,
    html: html.map((p) => (typeof p === 'string' ? p : Buffer.from(p).toString('utf8'))).join(''),
    text: `text ${to}`,
    json: { html, text: [`text ${to}`] },
  };
}

interface Held {
  body: Buffer;
  handler: Dispatcher.DispatchHandler;
  /** The bytes as the socket would send them: copied when the write happens. */
  written?: Buffer;
}

/** Holds each request: its body is copied only by write(), its answer given only by answer()/fail(). */
class HoldingDispatcher {
  readonly held: Held[] = [];
  dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    this.held.push({ body: options.body as Buffer, handler });
    return true;
  }
  write(h: Held): void {
    h.written = Buffer.from(h.body);
  }
  answer(h: Held, n: number): void {
    const body = Buffer.from(JSON.stringify({ MessageId: `m-${n}` }));
    h.handler.onConnect?.(() => undefined);
    h.handler.onHeaders?.(
      200,
      [Buffer.from('content-type'), Buffer.from('application/json')],
      () => {},
      'OK',
    );
    h.handler.onData?.(body);
    h.handler.onComplete?.([]);
  }
  serverError(h: Held): void {
    const body = Buffer.from(JSON.stringify({ message: 'internal' }));
    h.handler.onConnect?.(() => undefined);
    h.handler.onHeaders?.(
      500,
      [Buffer.from('x-amzn-ErrorType'), Buffer.from('InternalFailure')],
      () => {},
      'Internal Server Error',
    );
    h.handler.onData?.(body);
    h.handler.onComplete?.([]);
  }
  fail(h: Held, code: string): void {
    h.handler.onError?.(Object.assign(new Error(code), { code }));
  }
}

/** Waits until the dispatcher holds `count` requests (a send signs before it dispatches). */
async function holding(d: HoldingDispatcher, count: number): Promise<void> {
  for (let i = 0; i < 1000 && d.held.length < count; i++) await new Promise((r) => setImmediate(r));
  expect(d.held.length).toBe(count);
}

const expected = (e: OutgoingEmail) => Buffer.from(sendEmailBody(e), 'utf8');

describe('SesV2Transport reuses a body buffer only once its write is done', () => {
  it('never while a write is pending after a timeout, a reset, a 5xx or an abort, nor for a retry; and does reuse accepted ones', async () => {
    const dispatcher = new HoldingDispatcher();
    const transport = new SesV2Transport({
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:9',
      credentials,
      dispatcher,
    });
    const emails = Array.from({ length: 24 }, (_, n) => email(n));
    const settled: Promise<unknown>[] = [];
    const send = (e: OutgoingEmail) => {
      const p = transport.send(e).then(
        (r) => r,
        (error: unknown) => error,
      );
      settled.push(p);
      return p;
    };

    // Eight sends in flight, none written yet.
    for (let n = 0; n < 8; n++) void send(emails[n] as OutgoingEmail);
    await holding(dispatcher, 8);
    const first = dispatcher.held.slice();
    // Two accepted (written, then answered, as SES answers); the others fail with their write pending.
    for (const [i, h] of first.entries()) {
      if (i < 2) {
        dispatcher.write(h);
        dispatcher.answer(h, i);
      }
    }
    dispatcher.fail(first[2] as Held, 'UND_ERR_HEADERS_TIMEOUT');
    dispatcher.fail(first[3] as Held, 'ECONNRESET');
    dispatcher.serverError(first[4] as Held);
    dispatcher.fail(first[5] as Held, 'UND_ERR_ABORTED');
    await Promise.all(settled.slice(0, 6));
    // A retry of each failed email, and eight new sends, while those writes are still pending.
    for (const n of [2, 3, 4, 5]) void send(emails[n] as OutgoingEmail);
    for (let n = 8; n < 16; n++) void send(emails[n] as OutgoingEmail);
    await holding(dispatcher, 20);
    // Now the pending writes happen: each must still be its own email's bytes.
    for (const h of dispatcher.held) if (h.written === undefined) dispatcher.write(h);
    for (const [i, h] of dispatcher.held.entries()) {
      const n = i < 8 ? i : i < 12 ? i - 8 + 2 : i - 4;
      expect(h.written?.equals(expected(emails[n] as OutgoingEmail)), `body ${i} (email ${n})`).toBe(true);
    }
    // Accepted buffers were reused (else this test would prove nothing), failed ones never.
    const buffersOf = (held: Held[]) => held.map((h) => h.body.buffer);
    const accepted = buffersOf(first.slice(0, 2));
    const failed = buffersOf(first.slice(2, 6));
    const later = buffersOf(dispatcher.held.slice(8));
    expect(later.filter((b) => accepted.includes(b)).length).toBe(2);
    expect(later.filter((b) => failed.includes(b))).toEqual([]);
    // Two still in flight from the first eight: no later send shares their buffers either.
    expect(later.filter((b) => buffersOf(first.slice(6, 8)).includes(b))).toEqual([]);
    for (const [i, h] of dispatcher.held.entries()) if (i >= 6) dispatcher.answer(h, i);
    const results = await Promise.all(settled);
    expect(results.slice(0, 2)).toEqual([{ messageId: 'm-0' }, { messageId: 'm-1' }]);
    expect((results[2] as { code?: string }).code).toBe('UND_ERR_HEADERS_TIMEOUT');
    expect((results[4] as Error).name).toBe('InternalFailure');
    expect(results.slice(6).every((r) => typeof (r as { messageId?: string }).messageId === 'string')).toBe(
      true,
    );
    await transport.close();
  });
});
