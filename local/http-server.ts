/**
 * What the local stack's own HTTP servers (the local SES, the SES stand-in) share: listening on loopback,
 * and the body of a request, read whole before the request is answered. The request keeps its chunks itself and the 'data' listener is
 * one shared function called with the request as `this`, so reading a body allocates no closure: the
 * stand-in answers thousands of sends a second for the benchmark.
 */
import { IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const LOOPBACK = '127.0.0.1';

/** Listens on loopback (port 0: any free one), keeping idle connections 30 s; the server's base URL. */
export async function listenOnLoopback(server: Server, port = 0): Promise<string> {
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, LOOPBACK, () => resolve());
  });
  return `http://${LOOPBACK}:${(server.address() as AddressInfo).port}`;
}

/** An IncomingMessage that holds its own body; give it to createServer as `IncomingMessage`. */
export class BodyRequest extends IncomingMessage {
  /** Usually the only chunk; `more` only when the body came in several. */
  private first: Buffer | undefined;
  private more: Buffer[] | undefined;

  /** What the 'data' listener does with each chunk. */
  addChunk(chunk: Buffer): void {
    if (this.first === undefined) this.first = chunk;
    else if (this.more === undefined) this.more = [this.first, chunk];
    else this.more.push(chunk);
  }

  /** The whole body (once 'end' has fired) in a buffer of its own; undefined when there was none. */
  body(): Buffer | undefined {
    if (this.more === undefined) return this.first;
    return Buffer.concat(this.more);
  }

  /**
   * The whole body (once 'end' has fired) for a caller that is done with it before it returns: the one
   * chunk as it came, or the chunks copied into one buffer every request of the process shares, so the
   * next call may overwrite it. A 100 KB body comes in two or three socket reads, and a fresh buffer
   * per request (Buffer.concat) costs an allocation outside the V8 heap, its accounting and its
   * collection on top of the copy (bench/standin-micro.ts, docs/bench-standin.md).
   */
  bodyView(): Buffer | undefined {
    const more = this.more;
    if (more === undefined) return this.first;
    let length = 0;
    for (const chunk of more) length += chunk.length;
    if (shared.length < length) shared = Buffer.allocUnsafeSlow(Math.max(length, 2 * shared.length));
    let at = 0;
    for (const chunk of more) at += chunk.copy(shared, at);
    return shared.subarray(0, length);
  }
}

/** What bodyView copies a body of several chunks into; grown to the largest body seen. */
let shared = Buffer.allocUnsafeSlow(0);

function onData(this: BodyRequest, chunk: Buffer): void {
  this.addChunk(chunk);
}

/** Reads `req`'s body, then calls `onEnd` with the request as `this` (pass a shared function to allocate nothing). */
export function readBody<R extends BodyRequest>(req: R, onEnd: (this: R) => void): void {
  req.on('data', onData);
  req.on('end', onEnd);
}
