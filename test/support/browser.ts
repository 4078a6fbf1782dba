/**
 * The browser tier's pieces: one Chromium launch, and the console as `sixback dev` serves it (the SPA
 * built, mounted on the API server of a fresh local stack).
 */
import { mkdirSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { build } from 'vite';
import { type ApiServer, startApiServer } from '../../api/node.ts';
import { isWebPath, mountWebConsole } from '../../api/web.ts';
import type { LocalStack } from '../../local/stack.ts';
import { chromiumPath } from './chromium.ts';
import { startTestStack } from './local-stack.ts';

/** Where the browser tests write their screenshots (and a page's, when its test failed). */
export const SHOTS = 'test-artifacts/screenshots';

// Headless, and nothing of Chromium's own talking to the network while a test measures the page.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS });
}

/**
 * The console on a fresh local stack. No CORS rule on the local bucket, as with `sixback dev` today: the
 * console must cope (see uploadFile).
 */
export async function startConsole(): Promise<{ stack: LocalStack; server: ApiServer }> {
  mkdirSync(SHOTS, { recursive: true });
  await build({ configFile: 'web/vite.config.ts', logLevel: 'warn' });
  const stack = await startTestStack();
  const server = await startApiServer({
    deps: { app: stack.deps, campaigns: stack.campaignDeps },
    beforeRoutes: (app) => mountWebConsole(app),
    isPublicPath: isWebPath,
    log: () => undefined,
  });
  return { stack, server };
}
