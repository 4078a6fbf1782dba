/** The API on a local port (sixback dev, tests): the same app as on Lambda, with a bearer token. */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { type ApiOptions, createApi } from './app.ts';

export interface ApiServer {
  url: string;
  token: string;
  close(): Promise<void>;
}

export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

export async function startApiServer(
  options: Omit<ApiOptions, 'auth'> & { token?: string; port?: number; host?: string },
): Promise<ApiServer> {
  const token = options.token ?? newToken();
  // Locally there is no API Gateway in front: a token is the only protection, so there is no no-auth mode.
  const app = createApi({ ...options, auth: { kind: 'bearer', token } });
  const host = options.host ?? '127.0.0.1';
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: options.port ?? 0, hostname: host }, () => resolve(s));
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
