/**
 * A thin SES v2 SendEmail transport: the same HTTP request the SDK's SESv2Client makes, signed by the
 * SDK's own SigV4 signer (@smithy/signature-v4), sent over a pooled undici client. The stock client spends
 * about 1 ms of CPU per call, mostly in its middleware stack; this path spends a fraction of that, which is
 * what lets one vCPU keep thousands of sends per second in flight.
 *
 * It implements EmailSender, so the sender core cannot tell it from SesEmailSender, and it raises errors
 * shaped like the SDK's (name = the SES error code, `$metadata.httpStatusCode`, `$fault`), so
 * classifySendFailure sees the same thing for every answer. test/unit/ses-transport.contract.test.ts holds
 * both to the same requests and the same error classification.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type {
  AwsCredentialIdentity,
  AwsCredentialIdentityProvider,
  Checksum,
  SourceData,
} from '@smithy/types';
import { Pool } from 'undici';
import type { EmailSender, OutgoingEmail } from './email-sender.ts';

/** SHA-256 / HMAC-SHA-256 on node:crypto, for the signer (the pure-JS one costs several times more). */
class NodeSha256 implements Checksum {
  private hash: Hash | Hmac;
  private readonly secret: Uint8Array | string | undefined;
  constructor(secret?: SourceData) {
    this.secret =
      secret === undefined || typeof secret === 'string'
        ? secret
        : ArrayBuffer.isView(secret)
          ? new Uint8Array(secret.buffer, secret.byteOffset, secret.byteLength)
          : new Uint8Array(secret);
    this.hash = this.fresh();
  }
  private fresh(): Hash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', this.secret);
  }
  update(data: Uint8Array | string): void {
    this.hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return this.hash.digest();
  }
  reset(): void {
    this.hash = this.fresh();
  }
}

export interface SesTransportOptions {
  region: string;
  /** Where SES is; default https://email.<region>.amazonaws.com. */
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
function errorCode(header: string | string[] | undefined, body: Record<string, unknown>): string | undefined {
  const clean = (value: unknown) => {
    if (typeof value !== 'string' || value === '') return undefined;
    let code = value.split(':')[0] as string;
    if (code.includes('#')) code = code.split('#')[1] as string;
    return code;
  };
  return clean(Array.isArray(header) ? header[0] : header) ?? clean(body.code) ?? clean(body.__type);
}

export class SesV2Transport implements EmailSender {
  private readonly pool: Pool;
  private readonly signer: SignatureV4;
  private readonly hostname: string;
  private readonly host: string;
  private readonly protocol: string;
  private readonly port: number | undefined;
  private readonly basePath: string;

  constructor(options: SesTransportOptions) {
    const url = new URL(options.endpoint ?? `https://email.${options.region}.amazonaws.com`);
    this.protocol = url.protocol;
    this.hostname = url.hostname;
    this.host = url.host;
    this.port = url.port === '' ? undefined : Number(url.port);
    this.basePath = url.pathname.replace(/\/+$/, '');
    const timeout = options.timeoutMs ?? 30_000;
    this.pool = new Pool(url.origin, {
      connections: options.connections ?? null,
      headersTimeout: timeout,
      bodyTimeout: timeout,
      keepAliveTimeout: 30_000,
    });
    this.signer = new SignatureV4({
      service: 'ses',
      region: options.region,
      credentials: options.credentials,
      sha256: NodeSha256,
    });
  }

  /** The signed request for one email (the contract test compares it with the SDK's). */
  async signedRequest(email: OutgoingEmail) {
    const body = sendEmailBody(email);
    const signed = await this.signer.sign({
      method: 'POST',
      protocol: this.protocol,
      hostname: this.hostname,
      ...(this.port === undefined ? {} : { port: this.port }),
      path: `${this.basePath}${PATH}`,
      query: {},
      headers: {
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        host: this.host,
      },
      body,
    });
    return { method: 'POST', path: signed.path, headers: signed.headers, body };
  }

  async send(email: OutgoingEmail): Promise<{ messageId: string }> {
    const request = await this.signedRequest(email);
    const { host: _host, ...headers } = request.headers;
    const response = await this.pool.request({
      method: 'POST',
      path: request.path,
      headers,
      body: request.body,
    });
    const text = await response.body.text();
    const requestId = response.headers['x-amzn-requestid'] as string | undefined;
    let parsed: Record<string, unknown> = {};
    try {
      parsed = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
    } catch {
      // Not JSON (a proxy's error page): the status decides.
    }
    if (response.statusCode >= 300) {
      const code = errorCode(response.headers['x-amzn-errortype'], parsed) ?? 'UnknownError';
      const message = parsed.message ?? parsed.Message;
      throw new SesServiceError(
        code,
        typeof message === 'string' ? message : code,
        response.statusCode,
        requestId,
      );
    }
    const messageId = parsed.MessageId;
    if (typeof messageId !== 'string' || messageId === '')
      throw new Error('SES accepted the message but returned no MessageId');
    return { messageId };
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
