/**
 * A thin DynamoDB JSON 1.0 transport for the sender's hot calls (the ledger's BatchGetItem and
 * BatchWriteItem, the suppression list's BatchGetItem, leases, the campaign gate's read), which the stores
 * reach through the DynamoDocuments seam (core/aws/fast/rpc-documents.ts): the same POST the SDK's DynamoDBClient makes,
 * signed by core/aws/fast/sigv4.ts, sent over a pooled undici client, with hand-written marshalling of the plain
 * items these tables hold. Through the document client each call costs a few hundred microseconds of CPU
 * in middleware, schema serde and marshalling; this path spends a fraction of that.
 *
 * It behaves like the SDK where callers can tell: errors carry the service's error code as `name`,
 * `$metadata.httpStatusCode` and `$fault`, and throttling, 5xx and network failures are retried as the
 * installed DynamoDBClient retries them: by the SDK's own StandardRetryStrategy (4 attempts, 25 ms base
 * delay, its throttling base, cap and shared retry budget).
 * test/unit/dynamo-rpc.contract.test.ts holds the two paths to the same items, errors and signatures.
 */
import { convertToAttr, convertToNative, type NativeAttributeValue } from '@aws-sdk/util-dynamodb';
import {
  isServerError,
  isThrottlingError,
  isTransientError,
  MAXIMUM_RETRY_DELAY,
  StandardRetryStrategy,
} from '@smithy/core/retry';
import type {
  AwsCredentialIdentity,
  AwsCredentialIdentityProvider,
  RetryErrorType,
  SdkError,
  StandardRetryBackoffStrategy,
} from '@smithy/types';
import { awsServiceHost } from '../hosts.ts';
import { DispatchAnswer } from './dispatch-answer.ts';
import { AwsServiceError, awsErrorCode, BOM, rawHeader } from './service-error.ts';
import { SignedEndpoint } from './signed-endpoint.ts';

export type DynamoOperation =
  | 'BatchGetItem'
  | 'BatchWriteItem'
  | 'GetItem'
  | 'PutItem'
  | 'DeleteItem'
  | 'UpdateItem'
  | 'Query'
  | 'Scan';

/** A DynamoDB attribute value in DynamoDB JSON ({"S": "..."}, {"N": "12"}, {"BOOL": true}...). */
export type AttributeValue = Record<string, unknown>;
export type Item = Record<string, AttributeValue>;

export interface DynamoRpcOptions {
  region: string;
  /** Where DynamoDB is; default https://dynamodb.<region>.<partition's DNS suffix> (core/aws/hosts.ts). */
  endpoint?: string | undefined;
  credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** Attempts per call, the first included (default 4, the DynamoDBClient's default). */
  maxAttempts?: number;
  /** Most keep-alive connections (default no limit: callers bound their calls in flight). */
  connections?: number | null;
  /** Milliseconds to wait for an answer's headers, then for its body. */
  timeoutMs?: number;
  /** For tests: the backoff's random source (0 retries at once). */
  random?: () => number;
}

/**
 * The SDK's own standard retry strategy (@smithy/core/retry, which DynamoDBClient runs) and its error
 * classification: its budget, costs and backoff bases are the installed SDK's, not copies that drift.
 * DynamoDBClient configures it with a 25 ms base delay.
 */
const DYNAMODB_BASE_DELAY_MS = 25;

/** undici's codes for a connection that broke or timed out, which the SDK's Node handler never throws. */
const UNDICI_NETWORK_CODES = new Set([
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

function retryErrorType(error: unknown, depth = 0): RetryErrorType {
  if (!error || typeof error !== 'object') return 'CLIENT_ERROR';
  const e = error as SdkError & { code?: string; cause?: unknown };
  if (isThrottlingError(e)) return 'THROTTLING';
  if (isTransientError(e) || UNDICI_NETWORK_CODES.has(e.code ?? '')) return 'TRANSIENT';
  if (isServerError(e)) return 'SERVER_ERROR';
  if (e.cause !== undefined && depth <= 10 && retryErrorType(e.cause, depth + 1) === 'TRANSIENT')
    return 'TRANSIENT';
  return 'CLIENT_ERROR';
}

/** The SDK's full-jitter exponential backoff, with the random source a test may fix. */
function jitteredBackoff(random: () => number): StandardRetryBackoffStrategy {
  let base = DYNAMODB_BASE_DELAY_MS;
  return {
    computeNextBackoffDelay: (retries) =>
      Math.floor(random() * Math.min(base * 2 ** retries, MAXIMUM_RETRY_DELAY)),
    setDelayBase: (delay) => {
      base = delay;
    },
  };
}

/** One call's answer: its status, undici's raw header buffers and the body as text. */
interface RawAnswer {
  status: number;
  raw: Buffer[];
  body: string;
}

/** A DynamoDB call's answer as it came; the caller decides what its status and body mean. */
class AnswerCollector extends DispatchAnswer {
  constructor(
    private readonly resolve: (answer: RawAnswer) => void,
    reject: (error: unknown) => void,
  ) {
    super(reject);
  }

  protected complete(status: number, raw: Buffer[], body: string): void {
    this.resolve({ status, raw, body });
  }
}

export class DynamoRpc {
  private readonly endpoint: SignedEndpoint;
  /** Attempts, backoff and the shared retry budget (a retry spends tokens, a success returns some). */
  private readonly retry: StandardRetryStrategy;

  constructor(options: DynamoRpcOptions) {
    const url = new URL(options.endpoint ?? `https://${awsServiceHost('dynamodb', options.region)}`);
    this.endpoint = new SignedEndpoint({
      label: 'DynamoDB',
      service: 'dynamodb',
      region: options.region,
      url,
      path: url.pathname === '' ? '/' : url.pathname,
      credentials: options.credentials,
      connections: options.connections,
      timeoutMs: options.timeoutMs ?? 60_000,
    });
    this.retry = new StandardRetryStrategy({
      maxAttempts: options.maxAttempts ?? 4,
      baseDelay: DYNAMODB_BASE_DELAY_MS,
      ...(options.random ? { backoff: jitteredBackoff(options.random) } : {}),
    });
  }

  /** The request for one call, signed (the contract test verifies its signature as a server would). */
  async signedRequest(operation: DynamoOperation, body: string, date?: Date) {
    const bytes = Buffer.from(body);
    const headers = await this.endpoint.sign(
      {
        'content-type': 'application/x-amz-json-1.0',
        'content-length': String(bytes.length),
        'x-amz-target': `DynamoDB_20120810.${operation}`,
      },
      bytes,
      date,
    );
    return { path: this.endpoint.path, headers, body: bytes };
  }

  /** One call, retried as the SDK retries it; resolves with the parsed answer. */
  async call<T = Record<string, unknown>>(operation: DynamoOperation, body: string | object): Promise<T> {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    let token = await this.retry.acquireInitialRetryToken('dynamodb');
    let totalDelay = 0;
    for (let attempt = 1; ; attempt++) {
      try {
        const result = (await this.once(operation, text)) as T;
        this.retry.recordSuccess(token);
        return result;
      } catch (error) {
        const metadata = (error as { $metadata?: { attempts: number; totalRetryDelay: number } }).$metadata;
        const retryStart = performance.now();
        try {
          // Waits the backoff, or refuses (not retryable, out of attempts or of budget).
          token = await this.retry.refreshRetryTokenForRetry(token, {
            errorType: retryErrorType(error),
            error: error as SdkError,
          });
        } catch {
          if (metadata) {
            metadata.attempts = attempt;
            metadata.totalRetryDelay = totalDelay;
          }
          throw error;
        }
        totalDelay += Math.round(performance.now() - retryStart);
      }
    }
  }

  private async once(operation: DynamoOperation, body: string): Promise<unknown> {
    const request = await this.signedRequest(operation, body);
    const { host: _host, ...headers } = request.headers;
    const answer = await new Promise<RawAnswer>((resolve, reject) => {
      this.endpoint.pool.dispatch(
        { method: 'POST', path: request.path, headers, body: request.body },
        new AnswerCollector(resolve, reject),
      );
    });
    let text = answer.body;
    if (text.charCodeAt(0) === BOM) text = text.slice(1);
    let parsed: Record<string, unknown> = {};
    try {
      parsed = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
    } catch {
      if (answer.status < 300) throw new Error(`DynamoDB answered ${operation} with something not JSON`);
      // Not JSON (a proxy's error page): the status decides.
    }
    if (answer.status >= 300) {
      const code = awsErrorCode(rawHeader(answer.raw, 'x-amzn-errortype'), parsed) ?? 'UnknownError';
      const message = parsed.message ?? parsed.Message;
      throw new AwsServiceError(
        code,
        typeof message === 'string' ? message : code,
        answer.status,
        rawHeader(answer.raw, 'x-amzn-requestid'),
      );
    }
    return parsed;
  }

  async close(): Promise<void> {
    await this.endpoint.close();
  }
}

// ---- Marshalling: DynamoDB JSON text for plain items, as lib-dynamodb writes it with removeUndefinedValues.

const s = JSON.stringify;

/** One value as DynamoDB JSON text; undefined for undefined (the attribute is left out). */
export function attributeText(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return `{"S":${s(value)}}`;
    case 'boolean':
      return value ? '{"BOOL":true}' : '{"BOOL":false}';
    case 'undefined':
      return undefined;
    case 'number':
      // Finite safe numbers are written as the SDK writes them (String(n)); anything else gets the SDK's
      // own conversion, and its error.
      if (Number.isFinite(value) && Math.abs(value) <= Number.MAX_SAFE_INTEGER) return `{"N":"${value}"}`;
      return s(convertToAttr(value));
    default:
      if (value === null) return '{"NULL":true}';
      if (value instanceof Uint8Array || value instanceof ArrayBuffer)
        throw new Error('binary attributes are not supported by the fast DynamoDB transport');
      return s(convertToAttr(value as NativeAttributeValue, { removeUndefinedValues: true }));
  }
}

/** An item (or key) as DynamoDB JSON text, undefined attributes left out. */
export function itemText(item: Record<string, unknown>): string {
  let out = '';
  for (const name in item) {
    const value = attributeText(item[name]);
    if (value === undefined) continue;
    out += out === '' ? `${nameText(name)}:${value}` : `,${nameText(name)}:${value}`;
  }
  return `{${out}}`;
}

/** Attribute names as JSON text. The few names the tables use recur on every item of every call: each is
 * quoted once (a bounded cache, so a caller with ever-new names costs no more than JSON.stringify). */
const NAME_TEXT = new Map<string, string>();
function nameText(name: string): string {
  let text = NAME_TEXT.get(name);
  if (text === undefined) {
    text = s(name);
    if (NAME_TEXT.size < 256) NAME_TEXT.set(name, text);
  }
  return text;
}

/** An item as lib-dynamodb returns it (numbers as numbers; beyond the safe range as the SDK does). */
export function unmarshallItem(item: Item): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name in item) {
    const value = item[name] as AttributeValue;
    if (typeof value.S === 'string') out[name] = value.S;
    else if (typeof value.N === 'string') {
      const n = Number(value.N);
      out[name] = Math.abs(n) <= Number.MAX_SAFE_INTEGER ? n : convertToNative(value as never);
    } else if (typeof value.BOOL === 'boolean') out[name] = value.BOOL;
    else out[name] = convertToNative(value as never);
  }
  return out;
}
