/**
 * Node side, not part of the bundle. How the API server serves the web console: the built files in web/dist, under /, without
 * authentication (they are public static files; every API call they make carries the token). Plug into
 * createApi({ beforeRoutes, isPublicPath }) from api/app.ts.
 *
 * `config.json` tells the console about its surroundings (local mode, the local SES inbox address); it
 * holds nothing secret.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Hono } from 'hono';

export const CONSOLE_DIST = fileURLToPath(new URL('../dist/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
};

/** The console's pages allow scripts and styles from itself only; images from anywhere (email previews). */
const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src * data: blob:; " +
    "connect-src 'self' http://localhost:* http://127.0.0.1:* https:; frame-src 'self'; " +
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
};

export interface ConsoleOptions {
  /** Folder of the built console (default web/dist). */
  dist?: string;
  /** Published to the console as config.json. */
  config?: { mode?: 'local' | 'aws'; inboxUrl?: string | undefined };
}

/** Paths the console's files live at: everything that is not the API (/v1/...) or an unsubscribe link. */
export function isConsolePath(path: string): boolean {
  return path === '/' || path === '/index.html' || path === '/config.json' || path.startsWith('/assets/');
}

export function consoleBuilt(dist = CONSOLE_DIST): boolean {
  return existsSync(join(dist, 'index.html'));
}

/** Mounts the console's routes on the API app. Call from createApi's `beforeRoutes`. */
export function serveConsole(app: Hono<never> | Hono, options: ConsoleOptions = {}): void {
  const dist = resolve(options.dist ?? CONSOLE_DIST);
  const config = JSON.stringify(options.config ?? {});
  const file = (relative: string) => {
    const path = normalize(join(dist, relative));
    if (!path.startsWith(dist) || !existsSync(path) || !statSync(path).isFile()) return undefined;
    return path;
  };
  const send = (path: string, cache: string) =>
    new Response(readFileSync(path), {
      headers: {
        ...SECURITY_HEADERS,
        'Content-Type': TYPES[extname(path)] ?? 'application/octet-stream',
        'Cache-Control': cache,
      },
    });
  const index = () => {
    const path = file('index.html');
    if (!path) {
      return new Response('The web console is not built. Run `npm run build:web`, then reload.', {
        status: 503,
        headers: { 'Content-Type': 'text/plain; charset=utf-8' },
      });
    }
    return send(path, 'no-cache');
  };
  const routes = app as Hono;
  routes.get('/', () => index());
  routes.get('/index.html', () => index());
  routes.get(
    '/config.json',
    () =>
      new Response(config, { headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' } }),
  );
  routes.get('/assets/*', (c) => {
    const path = file(c.req.path.slice(1));
    // Asset names carry a content hash: cache them for good.
    return path ? send(path, 'public, max-age=31536000, immutable') : c.notFound();
  });
}
