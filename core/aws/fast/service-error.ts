/**
 * What the thin transports (ses-transport.ts, dynamo-rpc.ts) throw when the service answers with an error:
 * shaped as the SDK shapes a service exception, so `error.name` checks, `$fault` and `$metadata` behave
 * the same whichever transport made the call.
 */
export class AwsServiceError extends Error {
  readonly $fault: 'client' | 'server';
  readonly $metadata: {
    httpStatusCode: number;
    requestId?: string | undefined;
    attempts: number;
    totalRetryDelay: number;
  };
  constructor(name: string, message: string, status: number, requestId: string | undefined) {
    super(message);
    this.name = name;
    this.$fault = status >= 500 ? 'server' : 'client';
    this.$metadata = { httpStatusCode: status, requestId, attempts: 1, totalRetryDelay: 0 };
  }
}

/**
 * The error code of an answer (awsJson1_0 or restJson1): the x-amzn-ErrorType header, else the body's
 * `code` or `__type`, cleaned as the SDK cleans it ("ns#Code:extra,more" -> "Code").
 */
export function awsErrorCode(
  header: string | string[] | undefined,
  body: Record<string, unknown>,
): string | undefined {
  const clean = (value: unknown) => {
    if (typeof value !== 'string' || value === '') return undefined;
    let code = value;
    if (code.includes(',')) code = code.split(',')[0] as string;
    if (code.includes(':')) code = code.split(':')[0] as string;
    if (code.includes('#')) code = code.split('#')[1] as string;
    return code;
  };
  return clean(Array.isArray(header) ? header[0] : header) ?? clean(body.code) ?? clean(body.__type);
}

/** The first value of a header (name in lower case) among undici's raw [name, value, ...] buffers. */
export function rawHeader(raw: readonly Buffer[], name: string): string | undefined {
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = raw[i] as Buffer;
    if (key.length === name.length && key.toString('latin1').toLowerCase() === name) {
      return (raw[i + 1] as Buffer).toString('utf8');
    }
  }
  return undefined;
}

/** A leading byte order mark, which undici's body.text() drops (so the thin transports drop it too). */
export const BOM = 0xfeff;
