/**
 * Where the Chromium for the browser tier is: CHROMIUM_PATH when set, else the first of the usual
 * commands on PATH. playwright-core cannot download browsers here, so none found means the tier is skipped
 * (vitest.config.ts says so; CI installs Debian's chromium and refuses to run without it, see .ci/run).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const COMMANDS = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];

export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.CHROMIUM_PATH) return existsSync(env.CHROMIUM_PATH) ? env.CHROMIUM_PATH : undefined;
  for (const command of COMMANDS) {
    try {
      const path = execFileSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).trim();
      if (path) return path;
    } catch {
      // not on PATH: try the next
    }
  }
  return undefined;
}

export const CHROMIUM_INSTALL_HINT =
  'install Chromium (Debian/Ubuntu: apt-get install chromium) or set CHROMIUM_PATH to a Chromium or Chrome binary';

/** The browser tests' launch path: what vitest.config.ts found, passed on in the environment. */
export function chromiumPath(): string {
  const path = findChromium();
  if (!path) throw new Error(`No Chromium for the browser tests: ${CHROMIUM_INSTALL_HINT}.`);
  return path;
}
