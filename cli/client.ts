/** A small JSON client for the sixback API: bearer token locally, SigV4 for a deployed stack. */
import type { SignatureV4 } from '@smithy/signature-v4';
import { executeApiSigner } from '../core/aws/api-signer.ts';
import { CliError, EXIT, exitCodeForStatus } from './exit.ts';
import type { ApiTarget } from './target.ts';

export interface ApiErrorBody {
  error?: { code?: string; message?: string; details?: unknown };
}

export interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** Network failures are retried this many times (safe for GETs and for POSTs with an Idempotency-Key). */
  retries?: number;
}

/** How long one request may take before the CLI gives up on it (API Gateway's own limit is 29 s). */
export const REQUEST_TIMEOUT_MS = 60_000;

export class ApiClient {
  private signer: Promise<SignatureV4> | undefined;

  constructor(
    readonly target: ApiTarget,
    private readonly timeoutMs = REQUEST_TIMEOUT_MS,
  ) {}

  /** The AWS SDK pieces load only for a deployed stack: local commands start faster without them. */
  private sigv4(region: string): Promise<SignatureV4> {
    this.signer ??= executeApiSigner(region);
    return this.signer;
  }

  private async headersFor(
    method: string,
    url: URL,
    body: string | undefined,
    extra: Record<string, string>,
  ) {
    const headers: Record<string, string> = {
      accept: 'application/json',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...extra,
    };
    if (this.target.auth === 'bearer') return { ...headers, authorization: `Bearer ${this.target.token}` };
    const query: Record<string, string> = {};
    url.searchParams.forEach((value, key) => {
      query[key] = value;
    });
    let signed: { headers: Record<string, string> };
    try {
      signed = await (await this.sigv4(this.target.region)).sign({
        method,
        protocol: url.protocol,
        hostname: url.hostname,
        ...(url.port ? { port: Number(url.port) } : {}),
        path: url.pathname,
        query,
        headers: { ...headers, host: url.host },
        ...(body === undefined ? {} : { body }),
      });
    } catch (error) {
      throw new CliError(
        `No AWS credentials to sign the request with (${(error as Error).message}). Configure the AWS CLI, set AWS_PROFILE, or pass --token for a local API.`,
        EXIT.auth,
      );
    }
    const out = { ...signed.headers };
    delete out.host;
    return out;
  }

  /** Sends one request and returns the raw response; API errors become CliErrors with their exit code. */
  async fetch(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const url = new URL(`${this.target.url}${path}`);
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const retries = options.retries ?? (method === 'GET' ? 2 : 0);
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await fetch(url, {
          method,
          headers: await this.headersFor(method, url, body, options.headers ?? {}),
          ...(body === undefined ? {} : { body }),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch (error) {
        if (error instanceof CliError) throw error;
        if (attempt < retries) {
          await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** attempt));
          continue;
        }
        // A timeout is not "cannot reach": the API got the request and may have acted on it.
        if ((error as Error).name === 'TimeoutError') {
          throw new CliError(
            `The sixback API at ${this.target.url} did not answer within ${this.timeoutMs / 1000} s; ` +
              `the ${method} ${path} may still have taken effect (check with \`sixback status\`).`,
            EXIT.server,
          );
        }
        const inner = (error as { cause?: { code?: string; errors?: { code?: string }[] } }).cause;
        const cause = inner?.code ?? inner?.errors?.[0]?.code ?? (error as Error).message;
        throw new CliError(
          `Cannot reach the sixback API at ${this.target.url} (${cause}).${this.target.auth === 'bearer' ? ' Is `sixback dev` running?' : ''}`,
          EXIT.server,
        );
      }
      if (response.status >= 500 && response.status !== 501 && attempt < retries) {
        await response.arrayBuffer();
        await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** attempt));
        continue;
      }
      if (!response.ok) throw await toCliError(response, this.target);
      return response;
    }
  }

  async json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.fetch(method, path, options);
    return (await response.json()) as T;
  }
}

async function toCliError(response: Response, target: ApiTarget): Promise<CliError> {
  const text = await response.text();
  let body: ApiErrorBody = {};
  try {
    body = JSON.parse(text) as ApiErrorBody;
  } catch {
    // API Gateway's own refusals ({"message":"Forbidden"}) and proxies' HTML pages are not our shape.
  }
  const code = exitCodeForStatus(response.status);
  let message = body.error?.message ?? (body as { message?: string }).message ?? `HTTP ${response.status}`;
  if (code === EXIT.auth) {
    message +=
      target.auth === 'bearer'
        ? ` (token from ${target.source})`
        : ' (SigV4 with your AWS credentials: does this identity have execute-api:Invoke on the API?)';
  }
  return new CliError(message, code, body.error?.details, body.error?.code);
}
