/** The API on a local port (sixback dev, tests): the same app as on Lambda, with a bearer token. */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { AWS_LIMITS } from '../core/aws/limits.ts';
import { type ApiOptions, createApi } from './app.ts';

export interface ApiServer {
  url: string;
  token: string;
  close(): Promise<void>;
}

export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

/** What API Gateway (HTTP API) answers itself when its Lambda integration does not answer in time. */
export function serviceUnavailable(): Response {
  return new Response(JSON.stringify({ message: 'Service Unavailable' }), {
    status: 503,
    headers: { 'content-type': 'application/json' },
  });
}

/**
 * Answers as API Gateway does when a request outlasts the integration timeout: 503 to the caller while
 * the handler goes on (as the Lambda would, until its own timeout). So a route too slow for AWS fails
 * locally too, instead of working here and not there.
 */
export function withIntegrationTimeout<A extends unknown[]>(
  fetch: (request: Request, ...rest: A) => Response | Promise<Response>,
  timeoutMs: number,
): (request: Request, ...rest: A) => Promise<Response> {
  return async (request, ...rest) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<Response>((resolve) => {
      timer = setTimeout(() => resolve(serviceUnavailable()), timeoutMs);
    });
    const answer = Promise.resolve(fetch(request, ...rest));
    // A late answer's failure has no one to go to (the caller already has its 503).
    answer.catch(() => undefined);
    try {
      return await Promise.race([answer, late]);
    } finally {
      clearTimeout(timer);
    }
  };
}

export async function startApiServer(
  options: Omit<ApiOptions, 'auth'> & {
    token?: string;
    port?: number;
    host?: string;
    /** API Gateway's integration timeout (29 s); tests set a shorter one. */
    integrationTimeoutMs?: number;
  },
): Promise<ApiServer> {
  const token = options.token ?? newToken();
  // Locally there is no API Gateway in front: a token is the only protection, so there is no no-auth mode.
  const app = createApi({ ...options, auth: { kind: 'bearer', token } });
  const host = options.host ?? '127.0.0.1';
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const fetch = withIntegrationTimeout(
      app.fetch,
      options.integrationTimeoutMs ?? AWS_LIMITS.apiIntegrationTimeoutMs,
    );
    const s = serve({ fetch, port: options.port ?? 0, hostname: host }, () => resolve(s));
    s.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    token,
    close: () =>
      new Promise<void>((resolve, reject) => {
        if ('closeAllConnections' in server) server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
