/**
 * Node side, not part of the bundle: the console against a DEPLOYED stack, run on the user's machine.
 *
 * The deployed API only takes IAM-signed (SigV4) requests, and a browser has no business holding AWS
 * credentials. So the console is served from 127.0.0.1 by this small server, which
 *  - serves the built SPA (web/dist) like `sixback dev` does,
 *  - requires a fresh random bearer token on every /v1 call (the same check as the local API), handed to
 *    the browser in the URL fragment only,
 *  - forwards each /v1 call to the API Gateway URL, signed with the user's own AWS credentials (the
 *    standard credential chain: profile, SSO, environment), and passes the answer back unchanged.
 * Nothing new is exposed on AWS: no public console, no CORS on the API, no credentials in the browser.
 * Uploads still go straight from the browser to S3 with the presigned POST the API hands out (the bucket's
 * CORS rule allows POST).
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { SignatureV4 } from '@smithy/signature-v4';
import { Hono } from 'hono';
import { authenticate } from '../api/auth.ts';
import type { ApiEnv } from '../api/types.ts';
import { isWebPath, mountWebConsole, WEB_DIST } from '../api/web.ts';
import { executeApiSigner } from '../core/aws/api-signer.ts';
import { toHttpError } from '../core/errors.ts';

/** Largest request body forwarded; the API refuses more anyway (api/http.ts). */
const MAX_BODY_BYTES = 1024 * 1024;
/** Request headers worth forwarding; everything else (cookies, the local bearer token) stays here. */
const FORWARDED = ['accept', 'content-type', 'idempotency-key'];

export interface AwsConsoleOptions {
  /** The deployed API's base URL, e.g. https://abc123.execute-api.eu-west-1.amazonaws.com */
  apiUrl: string;
  region: string;
  /** Signs for execute-api; by default the standard AWS credential chain. */
  signer?: Pick<SignatureV4, 'sign'>;
  port?: number;
  /** Folder of the built console. */
  dist?: string;
  fetch?: typeof fetch;
}

export interface AwsConsole {
  url: string;
  token: string;
  /** Open this: it carries the token in the fragment, which the console moves to sessionStorage. */
  consoleUrl: string;
  close(): Promise<void>;
}

const defaultSigner = (region: string): Promise<Pick<SignatureV4, 'sign'>> => executeApiSigner(region);

export async function startAwsConsole(options: AwsConsoleOptions): Promise<AwsConsole> {
  const upstream = new URL(options.apiUrl);
  if (upstream.protocol !== 'https:' && !['localhost', '127.0.0.1'].includes(upstream.hostname)) {
    throw new Error(`The API URL must be https (got ${options.apiUrl}).`);
  }
  const base = upstream.pathname.replace(/\/$/, '');
  const signer = options.signer ?? (await defaultSigner(options.region));
  const send = options.fetch ?? fetch;
  const token = randomBytes(24).toString('base64url');

  const app = new Hono<ApiEnv>();
  app.onError((error, c) => {
    const { status, body } = toHttpError(error);
    return c.json(body, status as 400);
  });
  app.use('*', authenticate({ kind: 'bearer', token }, isWebPath));
  mountWebConsole(app, options.dist ?? WEB_DIST);
  app.all('/v1/*', async (c) => {
    const body = ['GET', 'HEAD'].includes(c.req.method) ? undefined : await c.req.text();
    if (body !== undefined && Buffer.byteLength(body) > MAX_BODY_BYTES) {
      return c.json({ error: { code: 'payload_too_large', message: 'The request body is over 1 MB.' } }, 413);
    }
    const incoming = new URL(c.req.url);
    const target = new URL(`${base}${incoming.pathname}${incoming.search}`, upstream);
    const headers: Record<string, string> = { host: target.host };
    for (const name of FORWARDED) {
      const value = c.req.header(name);
      if (value !== undefined) headers[name] = value;
    }
    const query: Record<string, string> = {};
    target.searchParams.forEach((value, key) => {
      query[key] = value;
    });
    let signed: { headers: Record<string, string> };
    try {
      signed = await signer.sign({
        method: c.req.method,
        protocol: target.protocol,
        hostname: target.hostname,
        ...(target.port ? { port: Number(target.port) } : {}),
        path: target.pathname,
        query,
        headers,
        ...(body === undefined || body === '' ? {} : { body }),
      });
    } catch (error) {
      return c.json(
        {
          error: {
            code: 'no_credentials',
            message: `No AWS credentials to sign the request with (${(error as Error).message}). Configure the AWS CLI or set AWS_PROFILE, then restart the console.`,
          },
        },
        502,
      );
    }
    const outHeaders = { ...signed.headers };
    delete outHeaders.host;
    const response = await send(target, {
      method: c.req.method,
      headers: outHeaders,
      ...(body === undefined || body === '' ? {} : { body }),
      redirect: 'manual',
    });
    const passHeaders = new Headers();
    for (const name of ['content-type', 'content-disposition', 'idempotent-replayed', 'location']) {
      const value = response.headers.get(name);
      if (value !== null) passHeaders.set(name, value);
    }
    return new Response(response.body, { status: response.status, headers: passHeaders });
  });

  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: options.port ?? 0, hostname: '127.0.0.1' }, () => resolve(s));
    s.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    token,
    consoleUrl: `${url}/#token=${token}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        if ('closeAllConnections' in server) server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
