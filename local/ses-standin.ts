/**
 * A fault-injecting SES v2 stand-in: an HTTP server on loopback that speaks just enough of the SES v2 REST
 * API for the real SESv2Client (SendEmail and GetAccount) and misbehaves on purpose, the way SES does:
 *
 * - a token-bucket rate limit: above it, 429 TooManyRequestsException and the message is dropped;
 * - a fraction of calls failing transiently (500 InternalFailure, nothing accepted);
 * - addresses rejected for good (400 MessageRejected);
 * - sending paused or the account suspended on demand (SendingPausedException / AccountSuspendedException);
 * - added latency.
 *
 * It counts what it accepted per recipient, which is what the delivery-guarantee tests assert on, and
 * keeps nothing else per message (a per-interval histogram of acceptances is the only other state), so
 * it stays fast enough for benchmarks of thousands of sends per second.
 *
 * Error responses follow the restJson1 protocol the SDK parses: the error name in the x-amzn-ErrorType
 * header and a JSON body with a message (test/unit/ses-standin.test.ts checks that the SDK turns each
 * into the exception class SES would).
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import { BodyRequest, listenOnLoopback, readBody } from './http-server.ts';

export interface SesStandinOptions {
  /** Sends accepted per second; above it calls get 429. Unlimited when unset. */
  rateLimit?: number;
  /** Tokens the bucket holds (how large a burst passes); default a fifth of a second of the rate. */
  burst?: number;
  /** Milliseconds before each answer (fixed, or drawn per call). */
  latencyMs?: number | (() => number);
  /** Fraction (0..1) of calls answered 500 InternalFailure without accepting the message. */
  transientFailureRate?: number;
  /** Addresses (any case) SES refuses for good with 400 MessageRejected. */
  reject?: Iterable<string> | ((address: string) => boolean);
  /** What GetAccount answers; SentLast24Hours grows with each accepted message. */
  quota?: { max24HourSend: number; maxSendRate: number; sentLast24Hours?: number };
  /** Width of the acceptance histogram's intervals, milliseconds (default 100). */
  intervalMs?: number;
  /** Keep when each recipient was first accepted (epoch ms), for the benchmark's per-batch timeline. */
  recordTimes?: boolean;
  random?: () => number;
  port?: number;
}

export interface SesStandinStats {
  accepted: number;
  throttled: number;
  transient: number;
  rejected: number;
  stopped: number;
}

export type StopCause = 'SendingPausedException' | 'AccountSuspendedException';

const SEND_PATH = '/v2/email/outbound-emails';

/**
 * A request with room for its own body and answer, so the per-request work needs no closures: the
 * 'end' listener is the shared function below and the 'data' one local/http-server.ts's, both called
 * with the request as `this`.
 */
class StandinRequest extends BodyRequest {
  standin: SesStandin | undefined;
  response: ServerResponse | undefined;
}

function onRequestEnd(this: StandinRequest): void {
  (this.standin as SesStandin).answer(this);
}

function answerLater(req: StandinRequest): void {
  (req.standin as SesStandin).route(req);
}

type SendEmailShape = { Destination?: { ToAddresses?: unknown[] } } | null;

/**
 * The first recipient of a SendEmail body, or undefined when the body is not JSON or names none: what
 * JSON.parse of the UTF-8 text and Destination.ToAddresses[0] give, for less. The bytes are parsed as
 * Latin-1 (one char per byte, so exactly the same JSON syntax is accepted and refused, without decoding
 * UTF-8 over the whole 4 KB of HTML); an address that is not plain ASCII (a raw UTF-8 byte or a \u
 * escape, which Latin-1 cannot tell apart) is read again from the UTF-8 text.
 */
export function firstRecipient(body: Buffer | undefined): string | undefined {
  let to: unknown;
  try {
    to = (JSON.parse(body === undefined ? '' : body.toString('latin1')) as SendEmailShape)?.Destination
      ?.ToAddresses?.[0];
  } catch {
    return undefined;
  }
  if (typeof to !== 'string' || to === '') return undefined;
  if (!NON_ASCII.test(to)) return to;
  to = (JSON.parse((body as Buffer).toString('utf8')) as SendEmailShape)?.Destination?.ToAddresses?.[0];
  return typeof to === 'string' ? to : undefined;
}
const NON_ASCII = /[^ -~]/; // anything but printable ASCII (controls are read again too, harmlessly)

export class SesStandin {
  readonly stats: SesStandinStats = { accepted: 0, throttled: 0, transient: 0, rejected: 0, stopped: 0 };
  private readonly perRecipient = new Map<string, number>();
  private readonly firstAccepted = new Map<string, number>();
  private readonly histogram = new Map<number, number>();
  private readonly rejects: (address: string) => boolean;
  private readonly intervalMs: number;
  private readonly random: () => number;
  private tokens: number;
  private refilledAt = performance.now();
  private stopCause: StopCause | undefined;
  private messageCounter = 0;
  private server: Server | undefined;
  url = '';

  constructor(private readonly options: SesStandinOptions = {}) {
    const reject = options.reject;
    if (typeof reject === 'function') this.rejects = reject;
    else {
      const set = new Set([...(reject ?? [])].map((a) => a.trim().toLowerCase()));
      this.rejects = (address) => set.has(address);
    }
    this.intervalMs = options.intervalMs ?? 100;
    this.random = options.random ?? Math.random;
    this.tokens = this.capacity();
  }

  private capacity(): number {
    const rate = this.options.rateLimit;
    if (rate === undefined) return Number.POSITIVE_INFINITY;
    return this.options.burst ?? Math.max(1, rate / 5);
  }

  async start(): Promise<this> {
    const server = createServer({ IncomingMessage: StandinRequest }, (req, res) => {
      req.standin = this;
      req.response = res;
      readBody(req, onRequestEnd);
    });
    this.url = await listenOnLoopback(server, this.options.port);
    this.server = server;
    return this;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** From now on every send fails with this cause, as SES does when it pauses or suspends an account. */
  stopSending(cause: StopCause = 'SendingPausedException'): void {
    this.stopCause = cause;
  }

  resumeSending(): void {
    this.stopCause = undefined;
  }

  /** Accepted messages per recipient (lowercase address). */
  counts(): Map<string, number> {
    return new Map(this.perRecipient);
  }

  count(address: string): number {
    return this.perRecipient.get(address.trim().toLowerCase()) ?? 0;
  }

  /** When each recipient (lowercase address) was first accepted, epoch ms; empty unless `recordTimes`. */
  acceptedAt(): ReadonlyMap<string, number> {
    return this.firstAccepted;
  }

  /** Total accepted; the same as stats.accepted. */
  get accepted(): number {
    return this.stats.accepted;
  }

  /**
   * The highest number of messages accepted within any window of `windowMs` (a multiple of the interval),
   * and the mean rate between the first and last accepted message, both in messages per second.
   */
  rates(windowMs = 1000): { peak: number; mean: number; first: number; last: number } {
    const width = Math.max(1, Math.round(windowMs / this.intervalMs));
    const slots = [...this.histogram.keys()].sort((a, b) => a - b);
    if (slots.length === 0) return { peak: 0, mean: 0, first: 0, last: 0 };
    const first = slots[0] as number;
    const last = slots[slots.length - 1] as number;
    let peak = 0;
    for (let start = first; start <= last - width + 1; start++) {
      let sum = 0;
      for (let s = start; s < start + width; s++) sum += this.histogram.get(s) ?? 0;
      peak = Math.max(peak, sum);
    }
    const spanSeconds = ((last - first + 1) * this.intervalMs) / 1000;
    return {
      peak: (peak * 1000) / (width * this.intervalMs),
      mean: this.stats.accepted / spanSeconds,
      first: first * this.intervalMs,
      last: (last + 1) * this.intervalMs,
    };
  }

  /** Accepted messages per interval, oldest first, from the first to the last interval with any. */
  intervals(): { startMs: number; intervalMs: number; counts: number[] } {
    const slots = [...this.histogram.keys()].sort((a, b) => a - b);
    if (slots.length === 0) return { startMs: 0, intervalMs: this.intervalMs, counts: [] };
    const first = slots[0] as number;
    const last = slots[slots.length - 1] as number;
    const counts: number[] = [];
    for (let s = first; s <= last; s++) counts.push(this.histogram.get(s) ?? 0);
    return { startMs: first * this.intervalMs, intervalMs: this.intervalMs, counts };
  }

  reset(): void {
    this.perRecipient.clear();
    this.firstAccepted.clear();
    this.histogram.clear();
    for (const key of Object.keys(this.stats) as (keyof SesStandinStats)[]) this.stats[key] = 0;
    this.tokens = this.capacity();
    this.refilledAt = performance.now();
  }

  private takeToken(): boolean {
    const rate = this.options.rateLimit;
    if (rate === undefined) return true;
    const now = performance.now();
    this.tokens = Math.min(this.capacity(), this.tokens + ((now - this.refilledAt) * rate) / 1000);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Called once a request's body is in (internal: from the shared 'end' listener). */
  answer(req: StandinRequest): void {
    const option = this.options.latencyMs;
    const latency = typeof option === 'function' ? option() : (option ?? 0);
    if (latency > 0) setTimeout(answerLater, latency, req);
    else this.route(req);
  }

  /** Internal: answers a request whose body is in and whose latency has passed. */
  route(req: StandinRequest) {
    const res = req.response as ServerResponse;
    const url = req.url ?? '';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    if (req.method === 'POST' && path === SEND_PATH)
      return this.sendEmail(firstRecipient(req.bodyView()), res);
    if (req.method === 'GET' && path === '/v2/email/account') return this.getAccount(res);
    if (req.method === 'GET' && path === '/counts') {
      return answerJson(res, 200, JSON.stringify(Object.fromEntries(this.perRecipient)));
    }
    if (req.method === 'GET' && path === '/stats') {
      return answerJson(res, 200, JSON.stringify(this.stats));
    }
    error(res, 404, 'NotFoundException', `The stand-in does not implement ${req.method} ${path}`);
  }

  private sendEmail(to: string | undefined, res: ServerResponse) {
    if (to === undefined) return error(res, 400, 'BadRequestException', 'Missing Destination.ToAddresses');
    if (this.stopCause) {
      this.stats.stopped++;
      const message =
        this.stopCause === 'SendingPausedException'
          ? 'Sending is paused for this account.'
          : 'Your account has been suspended.';
      return error(res, 400, this.stopCause, message);
    }
    if (!this.takeToken()) {
      this.stats.throttled++;
      return error(res, 429, 'TooManyRequestsException', 'Maximum sending rate exceeded.');
    }
    const rate = this.options.transientFailureRate ?? 0;
    if (rate > 0 && this.random() < rate) {
      this.stats.transient++;
      return error(res, 500, 'InternalFailure', 'We encountered an internal error. Please try again.');
    }
    const key = to.trim().toLowerCase();
    if (this.rejects(key)) {
      this.stats.rejected++;
      return error(res, 400, 'MessageRejected', `Email address is not verified: ${to}`);
    }
    this.stats.accepted++;
    const before = this.perRecipient.get(key) ?? 0;
    this.perRecipient.set(key, before + 1);
    if (before === 0 && this.options.recordTimes)
      this.firstAccepted.set(key, performance.timeOrigin + performance.now());
    const slot = Math.floor(performance.timeOrigin / this.intervalMs + performance.now() / this.intervalMs);
    this.histogram.set(slot, (this.histogram.get(slot) ?? 0) + 1);
    answerJson(res, 200, `{"MessageId":"standin-${++this.messageCounter}"}`);
  }

  private getAccount(res: ServerResponse): void {
    const quota = this.options.quota ?? { max24HourSend: 1_000_000, maxSendRate: 500 };
    answerJson(
      res,
      200,
      JSON.stringify({
        SendQuota: {
          Max24HourSend: quota.max24HourSend,
          MaxSendRate: quota.maxSendRate,
          SentLast24Hours: (quota.sentLast24Hours ?? 0) + this.stats.accepted,
        },
        SendingEnabled: this.stopCause === undefined,
        ProductionAccessEnabled: true,
        EnforcementStatus: this.stopCause === 'AccountSuspendedException' ? 'SHUTDOWN' : 'HEALTHY',
        DedicatedIpAutoWarmupEnabled: false,
      }),
    );
  }
}

/**
 * Answers with a JSON body and, for an error, its name in x-amzn-ErrorType (restJson1). The length is
 * given: writeHead without one makes Node frame the body as chunked (the size line, the body and the
 * terminating chunk as separate pieces of one writev), more work per answer at thousands a second.
 */
function answerJson(res: ServerResponse, status: number, body: string, errorType?: string): void {
  const length = String(Buffer.byteLength(body));
  res
    .writeHead(
      status,
      errorType === undefined
        ? ['content-type', 'application/json', 'content-length', length]
        : ['content-type', 'application/json', 'content-length', length, 'x-amzn-ErrorType', errorType],
    )
    .end(body);
}

function error(res: ServerResponse, status: number, name: string, message: string): void {
  answerJson(res, status, JSON.stringify({ message }), name);
}

export async function startSesStandin(options: SesStandinOptions = {}): Promise<SesStandin> {
  return new SesStandin(options).start();
}
