/**
 * A thin SES v2 SendEmail transport: the same HTTP request the SDK's SESv2Client makes, signed with
 * SigV4 (core/aws/fast/sigv4.ts, which signs exactly as the SDK's @smithy/signature-v4 does, with the signing key
 * cached per day), sent over a pooled undici client. The stock client spends about 1 ms of CPU per call,
 * mostly in its middleware stack; this path spends a fraction of that, which is what lets one vCPU keep
 * thousands of sends per second in flight.
 *
 * Per send it writes the body once into bytes (hashed for the signature and written to the socket as the
 * same Buffer): from the email's pre-encoded parts into a reused buffer when the renderer provided them
 * (static HTML copied, only the recipient's values escaped), else from one string. It hands the body to
 * undici's `dispatch` with a small handler that keeps the status, the raw headers and the body chunks:
 * no response stream, no header parsing unless SES answered with an error.
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
import type { SlottedPieces } from '../../templates/prepared.ts';
import { awsServiceHost } from '../hosts.ts';
import { DispatchAnswer } from './dispatch-answer.ts';
import { AwsServiceError, awsErrorCode, BOM, rawHeader } from './service-error.ts';
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
  /** Sends through this instead of the endpoint's pool (tests: one that holds the body's write). */
  dispatcher?: Pick<Dispatcher, 'dispatch'>;
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
  let body = `{"Content":{"Simple":{"Subject":{"Data":${s(email.subject)},"Charset":"UTF-8"},"Body":{`;
  if (email.text !== undefined) body += `"Text":{"Data":${s(email.text)},"Charset":"UTF-8"},`;
  return `${body}"Html":{"Data":${s(email.html)}${afterHtml(email)}`;
}

/** Everything after the Html part's string: the rest of Content, and the members after it. */
function afterHtml(email: OutgoingEmail): string {
  let body = `,"Charset":"UTF-8"}}`;
  const headers = email.headers;
  if (headers && headers.length > 0) {
    // A loop, not map and join: no array and closure per email for the one or two headers.
    body += ',"Headers":[';
    for (let i = 0; i < headers.length; i++) {
      const h = headers[i] as { name: string; value: string };
      body += `${i === 0 ? '' : ','}{"Name":${s(h.name)},"Value":${s(h.value)}}`;
    }
    body += ']';
  }
  body += `}},"FromEmailAddress":${s(email.from)},"Destination":{"ToAddresses":[${s(email.to)}]}`;
  if (email.replyTo && email.replyTo.length > 0) body += `,"ReplyToAddresses":${s(email.replyTo)}`;
  if (email.tags && email.tags.length > 0) body += tagsJson(email.tags);
  if (email.configurationSet) body += `,"ConfigurationSetName":${s(email.configurationSet)}`;
  return `${body}}`;
}

type Tags = NonNullable<OutgoingEmail['tags']>;

/** The EmailTags member of each frozen tags array (the sender makes one per variant per batch). */
const TAGS_JSON = new WeakMap<Tags, string>();

/**
 * The EmailTags member for these tags. A frozen array of frozen tags cannot change, so its JSON is made
 * once and kept for as long as the array lives; any other array is written anew, as it may have changed.
 */
function tagsJson(tags: Tags): string {
  const known = TAGS_JSON.get(tags);
  if (known !== undefined) return known;
  const json = `,"EmailTags":[${tags.map((t) => `{"Name":${s(t.name)},"Value":${s(t.value)}}`).join(',')}]`;
  if (Object.isFrozen(tags) && tags.every((t) => Object.isFrozen(t))) TAGS_JSON.set(tags, json);
  return json;
}

/**
 * Reusable body buffers: a 100 KB email's body is about 150 KB, and allocating one per send (outside V8's
 * heap, but counted towards it) makes the collector run for memory that is free again a millisecond later.
 */
export class BodyBuffers {
  private readonly free: Buffer[] = [];
  constructor(private readonly keep = 64) {}

  /** A buffer of at least `size` bytes. */
  take(size: number): Buffer {
    const last = this.free[this.free.length - 1];
    if (last !== undefined && last.length >= size) return this.free.pop() as Buffer;
    // Rounded up so bodies of similar sizes share buffers.
    return Buffer.allocUnsafeSlow(Math.max(16_384, 2 ** Math.ceil(Math.log2(size))));
  }

  give(buffer: Buffer): void {
    if (this.free.length < this.keep) this.free.push(buffer);
  }
}

/**
 * The SendEmail body of an email with pre-encoded parts (`email.json`, core/templates/prepared.ts) written
 * into `buffer` (at least `encodedBodyBound(email)` bytes): the same bytes as
 * Buffer.from(sendEmailBody(email)), with the static parts copied rather than escaped and encoded again.
 * Returns the number of bytes written.
 */
export function writeEncodedBody(
  email: OutgoingEmail,
  json: NonNullable<OutgoingEmail['json']>,
  buffer: Buffer,
): number {
  return writeBodyParts(subjectHead(email), json, afterHtml(email), buffer);
}

/** The body up to the text part's string: the subject, and the start of the text part. */
const subjectHead = (email: OutgoingEmail) =>
  `{"Content":{"Simple":{"Subject":{"Data":${s(email.subject)},"Charset":"UTF-8"},"Body":{"Text":{"Data":"`;
const BETWEEN = '","Charset":"UTF-8"},"Html":{"Data":"';

function writeBodyParts(
  head: string,
  json: NonNullable<OutgoingEmail['json']>,
  tail: string,
  buffer: Buffer,
): number {
  let at = buffer.write(head, 0);
  at = json.textSlots ? writeSlotted(json.textSlots, buffer, at) : writePieces(json.text, buffer, at);
  at += buffer.write(BETWEEN, at);
  // The slotted form when the renderer gave it: the same pieces, without a list per email.
  at = json.htmlSlots ? writeSlotted(json.htmlSlots, buffer, at) : writePieces(json.html, buffer, at);
  at += buffer.write('"', at);
  at += buffer.write(tail, at);
  return at;
}

function writePieces(pieces: readonly (Uint8Array | string)[], buffer: Buffer, at: number): number {
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i] as Uint8Array | string;
    at = typeof piece !== 'string' ? writeBytes(piece, buffer, at) : writeString(piece, buffer, at);
  }
  return at;
}

/** The pieces a SlottedPieces stands for (core/templates/prepared.ts listSlotted), written as writePieces
 * writes that list. */
function writeSlotted({ pieces, values }: SlottedPieces, buffer: Buffer, at: number): number {
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i] as Uint8Array | number;
    at =
      typeof piece !== 'number'
        ? writeBytes(piece, buffer, at)
        : writeString(values[piece] as string, buffer, at);
  }
  return at;
}

function writeBytes(piece: Uint8Array, buffer: Buffer, at: number): number {
  const n = piece.length;
  // Most static pieces between two outputs are short (`, `, `</td><td>`): a loop costs less than
  // the call into TypedArray.prototype.set.
  if (n > 32) buffer.set(piece, at);
  else for (let k = 0; k < n; k++) buffer[at + k] = piece[k] as number;
  return at + n;
}

function writeString(piece: string, buffer: Buffer, at: number): number {
  if (piece.length > 24) return at + buffer.write(piece, at);
  // A short value (a name, an id): copying ASCII by hand costs less than a call into the encoder.
  let k = 0;
  for (; k < piece.length; k++) {
    const c = piece.charCodeAt(k);
    if (c >= 0x80) break;
    buffer[at + k] = c;
  }
  return k < piece.length ? at + k + buffer.write(piece.slice(k), at + k) : at + k;
}

/** The most bytes writeEncodedBody can write for this email (a UTF-16 unit is at most 3 UTF-8 bytes). */
export function encodedBodyBound(email: OutgoingEmail, json: NonNullable<OutgoingEmail['json']>): number {
  return bodyPartsBound(subjectHead(email), json, afterHtml(email));
}

function bodyPartsBound(head: string, json: NonNullable<OutgoingEmail['json']>, tail: string): number {
  return (
    3 * (head.length + BETWEEN.length + 1 + tail.length) +
    // (Each only when not counted: with htmlSlots or textSlots it is listed when read.)
    (json.textBytes ?? piecesBound(json.text)) +
    (json.htmlBytes ?? piecesBound(json.html))
  );
}

/** The most UTF-8 bytes of these pieces, when the renderer did not count them as it made them. */
function piecesBound(pieces: readonly (Uint8Array | string)[]): number {
  let bound = 0;
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i] as Uint8Array | string;
    bound += typeof piece === 'string' ? 3 * piece.length : piece.length;
  }
  return bound;
}

/**
 * What SES answered, turned into the send's outcome: the MessageId, or an AwsServiceError. Headers are
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
    const code = awsErrorCode(rawHeader(raw, 'x-amzn-errortype'), parsed) ?? 'UnknownError';
    const message = parsed.message ?? parsed.Message;
    throw new AwsServiceError(
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

/** One send's answer (dispatch-answer.ts): SES's MessageId, or the error its status and body name. */
class Answer extends DispatchAnswer {
  constructor(
    private readonly resolve: (value: { messageId: string }) => void,
    reject: (error: unknown) => void,
    /** Called once SES accepted the message (so it read the whole body, which may then be reused). */
    private readonly accepted?: () => void,
  ) {
    super(reject);
  }

  protected complete(status: number, raw: Buffer[], body: string): void {
    let result: { messageId: string };
    try {
      result = outcome(status, raw, body);
    } catch (error) {
      this.reject(error);
      return;
    }
    this.accepted?.();
    this.resolve(result);
  }
}

export class SesV2Transport implements EmailSender {
  private readonly endpoint: SignedEndpoint;
  private readonly buffers = new BodyBuffers();
  private readonly dispatcher: Pick<Dispatcher, 'dispatch'>;

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
    this.dispatcher = options.dispatcher ?? this.endpoint.pool;
  }

  /** The signed headers (host included) for one email's body. */
  private sign(body: Buffer): Promise<Record<string, string>> {
    return this.endpoint.sign(
      { 'content-type': 'application/json', 'content-length': String(body.length) },
      body,
    );
  }

  /** The body of one email: from its pre-encoded parts into a reused buffer when it has them. */
  private body(email: OutgoingEmail): { body: Buffer; buffer: Buffer | undefined } {
    const json = email.json;
    // (Pieces always include the text part's; email.text is not read, so a lazily joined text stays unjoined.)
    if (json === undefined) {
      return { body: Buffer.from(sendEmailBody(email), 'utf8'), buffer: undefined };
    }
    // The subject and the members after the html, made once for the bound and the write.
    const head = subjectHead(email);
    const tail = afterHtml(email);
    const buffer = this.buffers.take(bodyPartsBound(head, json, tail));
    return { body: buffer.subarray(0, writeBodyParts(head, json, tail, buffer)), buffer };
  }

  /** The signed request for one email (the contract test compares it with the SDK's). */
  async signedRequest(email: OutgoingEmail) {
    const { body } = this.body(email);
    const headers = await this.sign(body);
    return { method: 'POST', path: this.endpoint.path, headers, body: body.toString('utf8') };
  }

  async send(email: OutgoingEmail): Promise<{ messageId: string }> {
    const { body, buffer } = this.body(email);
    // The signed headers go as they are: undici writes the host header it is given (the endpoint's
    // host, the one it would write itself) and checks content-length against the body.
    const headers = await this.sign(body);
    return new Promise((resolve, reject) => {
      this.dispatcher.dispatch(
        { method: 'POST', path: this.endpoint.path, headers, body },
        // A buffer is reused only after SES accepted its message: it read the whole body by then. After
        // an error (a timeout, a reset, a 5xx, an abort) the buffer is left to the collector, in case the
        // socket still holds it: a retry writes its body into another buffer.
        // (test/unit/ses-transport.buffers.test.ts holds writes to prove no buffer is reused in flight.)
        new Answer(resolve, reject, buffer && (() => this.buffers.give(buffer))),
      );
    });
  }

  async close(): Promise<void> {
    await this.endpoint.close();
  }
}
