/**
 * The hook for the web console: a single-page app built into web/dist, served by the local server from
 * the same origin as the API (so no CORS). Its files are public; everything it shows comes from /v1
 * routes, which need the token. On AWS the console is served elsewhere (S3 and CloudFront).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Hono } from 'hono';
import type { ApiEnv } from './types.ts';

export const WEB_DIST = fileURLToPath(new URL('../web/dist', import.meta.url));

export function webConsoleBuilt(root = WEB_DIST): boolean {
  return existsSync(`${root}/index.html`);
}

/** Paths the console's files live at: anything that is not the API (/v1) or a public API route (/u). */
export const isWebPath = (path: string) => !/^\/(v1|u)(\/|$)/.test(path);

export function mountWebConsole(app: Hono<ApiEnv>, root = WEB_DIST): void {
  app.use('*', async (c, next) => (isWebPath(c.req.path) ? serveStatic({ root })(c, next) : next()));
  // Client-side routes (/campaigns/abc) get the app's index.html.
  app.get('*', async (c, next) =>
    isWebPath(c.req.path) ? serveStatic({ root, path: 'index.html' })(c, next) : next(),
  );
}
