/**
 * A thin SES v2 SendEmail transport: the same HTTP request the SDK's SESv2Client makes, signed with
 * SigV4 (core/aws/fast/sigv4.ts, which signs exactly as the SDK's @smithy/signature-v4 does, with the signing key
 * cached per day), sent over a pooled undici client. The stock client spends about 1 ms of CPU per call,
 * mostly in its middleware stack; this path spends a fraction of that, which is what lets one vCPU keep
 * thousands of sends per second in flight.
 *
 * Per send it builds the body once as a string, encodes it to bytes once (hashed for the signature and
 * written to the socket as the same Buffer), and hands it to undici's `dispatch` with a small handler
 * that keeps the status, the raw headers and the body chunks: no response stream, no header parsing
 * unless SES answered with an error.
 *
 * It implements EmailSender, so the sender core cannot tell it from SesEmailSender, and it raises errors
 * shaped like the SDK's (name = the SES error code, `$metadata.httpStatusCode`, `$fault`), so
 * classifySendFailure sees the same thing for every answer; network failures are undici's own errors
 * (ECONNREFUSED, UND_ERR_SOCKET, UND_ERR_HEADERS_TIMEOUT...), unchanged. test/unit/ses-transport.contract.test.ts
 * holds both to the same requests and the same error classification.
 */
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import type { Dispatcher } from 'undici';
import type { EmailSender, OutgoingEmail } from '../../sending/email-sender.ts';
import { awsServiceHost } from '../hosts.ts';
import { SignedEndpoint } from './signed-endpoint.ts';

export interface SesTransportOptions {
  region: string;
  /** Where SES is; default https://email.<region>.<partition's DNS suffix> (core/aws/hosts.ts). */
  endpoint?: string | undefined;
  credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** Most keep-alive connections to SES (a send waits for a free one beyond this); default no limit,
   * as the sender already bounds the sends in flight. */
  connections?: number | null;
  /** Milliseconds to wait for an answer's headers, then for its body. */
  timeoutMs?: number;
}

const PATH = '/v2/email/outbound-emails';

/** JSON strings, escaped exactly as JSON.stringify does (the SDK serialises with JSON.stringify too). */
const s = JSON.stringify;

/**
 * The SendEmail body, byte for byte what the SDK writes for toSendEmailInput(email): members in the order
 * of the SES v2 model (Content, FromEmailAddress, Destination, ReplyToAddresses, EmailTags,
 * ConfigurationSetName; Subject, Body {Text, Html}, Headers). Built as one string rather than as an object
 * passed through JSON.stringify, which is most of the saving on large HTML bodies.
 */
export function sendEmailBody(email: OutgoingEmail): string {
  let simple = `{"Subject":{"Data":${s(email.subject)},"Charset":"UTF-8"},"Body":{`;
  if (email.text !== undefined) simple += `"Text":{"Data":${s(email.text)},"Charset":"UTF-8"},`;
  simple += `"Html":{"Data":${s(email.html)},"Charset":"UTF-8"}}`;
  if (email.headers && email.headers.length > 0) {
    simple += `,"Headers":[${email.headers.map((h) => `{"Name":${s(h.name)},"Value":${s(h.value)}}`).join(',')}]`;
  }
  let body = `{"Content":{"Simple":${simple}}},"FromEmailAddress":${s(email.from)},"Destination":{"ToAddresses":[${s(email.to)}]}`;
  if (email.replyTo && email.replyTo.length > 0) body += `,"ReplyToAddresses":${s(email.replyTo)}`;
  if (email.tags && email.tags.length > 0) {
    body += `,"EmailTags":[${email.tags.map((t) => `{"Name":${s(t.name)},"Value":${s(t.value)}}`).join(',')}]`;
  }
  if (email.configurationSet) body += `,"ConfigurationSetName":${s(email.configurationSet)}`;
  return `${body}}`;
}

/** An SES error, shaped as the SDK shapes a service exception so classifySendFailure reads it the same. */
export class SesServiceError extends Error {
  readonly $fault: 'client' | 'server';
  readonly $metadata: { httpStatusCode: number; requestId?: string | undefined; attempts: number };
  constructor(name: string, message: string, status: number, requestId: string | undefined) {
    super(message);
    this.name = name;
    this.$fault = status >= 500 ? 'server' : 'client';
    this.$metadata = { httpStatusCode: status, requestId, attempts: 1 };
  }
}

/** The error code of a restJson1 answer: the x-amzn-ErrorType header, else the body's code or __type. */
function errorCode(header: string | undefined, body: Record<string, unknown>): string | undefined {
  const clean = (value: unknown) => {
    if (typeof value !== 'string' || value === '') return undefined;
    let code = value.split(':')[0] as string;
    if (code.includes('#')) code = code.split('#')[1] as string;
    return code;
  };
  return clean(header) ?? clean(body.code) ?? clean(body.__type);
}

/** The first value of a header (name in lower case) among undici's raw [name, value, ...] buffers. */
function rawHeader(raw: Buffer[], name: string): string | undefined {
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = raw[i] as Buffer;
    if (key.length === name.length && key.toString('latin1').toLowerCase() === name) {
      return (raw[i + 1] as Buffer).toString('utf8');
    }
  }
  return undefined;
}

const BOM = 0xfeff;

/**
 * What SES answered, turned into the send's outcome: the MessageId, or an SesServiceError. Headers are
 * only looked at for an error (the request id and x-amzn-ErrorType); the body is decoded as UTF-8 (a
 * leading BOM dropped, as undici's body.text() does) and parsed as JSON when it is JSON.
 */
function outcome(status: number, raw: Buffer[], body: string): { messageId: string } {
  if (body.charCodeAt(0) === BOM) body = body.slice(1);
  let parsed: Record<string, unknown> = {};
  try {
    parsed = body === '' ? {} : (JSON.parse(body) as Record<string, unknown>);
  } catch {
    // Not JSON (a proxy's error page): the status decides.
  }
  if (status >= 300) {
    const code = errorCode(rawHeader(raw, 'x-amzn-errortype'), parsed) ?? 'UnknownError';
    const message = parsed.message ?? parsed.Message;
    throw new SesServiceError(
      code,
      typeof message === 'string' ? message : code,
      status,
      rawHeader(raw, 'x-amzn-requestid'),
    );
  }
  const messageId = parsed.MessageId;
  if (typeof messageId !== 'string' || messageId === '')
    throw new Error('SES accepted the message but returned no MessageId');
  return { messageId };
}

const NO_HEADERS: Buffer[] = [];

/**
 * One send's answer, collected by undici's dispatch callbacks. This is undici's callback-style handler,
 * which it calls directly with the raw header buffers and the body chunks; the controller-style one
 * (onResponseStart...) goes through an adapter that parses every header into an object first, and
 * `request()` adds a Readable stream on top. Errors (refused or reset connections, timeouts) arrive in
 * onError as the same undici/Node errors `request()` rejects with.
 */
class Answer implements Dispatcher.DispatchHandler {
  private status = 0;
  private raw: Buffer[] = NO_HEADERS;
  private first: Buffer | undefined;
  private rest: Buffer[] | undefined;

  constructor(
    private readonly resolve: (value: { messageId: string }) => void,
    private readonly reject: (error: unknown) => void,
  ) {}

  onConnect(): void {}

  onHeaders(status: number, raw: Buffer[]): boolean {
    // 1xx informational answers come before the real one and carry nothing we need.
    if (status >= 200) {
      this.status = status;
      this.raw = raw;
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.first === undefined) this.first = chunk;
    else if (this.rest === undefined) this.rest = [this.first, chunk];
    else this.rest.push(chunk);
    return true;
  }

  onComplete(): void {
    const body =
      this.rest !== undefined
        ? Buffer.concat(this.rest).toString('utf8')
        : this.first !== undefined
          ? this.first.toString('utf8')
          : '';
    try {
      this.resolve(outcome(this.status, this.raw, body));
    } catch (error) {
      this.reject(error);
    }
  }

  onError(error: Error): void {
    this.reject(error);
  }
}

export class SesV2Transport implements EmailSender {
  private readonly endpoint: SignedEndpoint;

  constructor(options: SesTransportOptions) {
    const url = new URL(options.endpoint ?? `https://${awsServiceHost('email', options.region)}`);
    this.endpoint = new SignedEndpoint({
      label: 'SES',
      service: 'ses',
      region: options.region,
      url,
      path: `${url.pathname.replace(/\/+$/, '')}${PATH}`,
      credentials: options.credentials,
      connections: options.connections,
      timeoutMs: options.timeoutMs ?? 30_000,
    });
  }

  /** The signed headers (host included) for one email's body. */
  private sign(body: Buffer): Promise<Record<string, string>> {
    return this.endpoint.sign(
      { 'content-type': 'application/json', 'content-length': String(body.length) },
      body,
    );
  }

  /** The signed request for one email (the contract test compares it with the SDK's). */
  async signedRequest(email: OutgoingEmail) {
    const body = sendEmailBody(email);
    const headers = await this.sign(Buffer.from(body, 'utf8'));
    return { method: 'POST', path: this.endpoint.path, headers, body };
  }

  async send(email: OutgoingEmail): Promise<{ messageId: string }> {
    const body = Buffer.from(sendEmailBody(email), 'utf8');
    // The signed headers go as they are: undici writes the host header it is given (the endpoint's
    // host, the one it would write itself) and checks content-length against the body.
    const headers = await this.sign(body);
    return new Promise((resolve, reject) => {
      this.endpoint.pool.dispatch(
        { method: 'POST', path: this.endpoint.path, headers, body },
        new Answer(resolve, reject),
      );
    });
  }

  async close(): Promise<void> {
    await this.endpoint.close();
  }
}
