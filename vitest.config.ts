import { defineConfig } from 'vitest/config';
import { CHROMIUM_INSTALL_HINT, findChromium } from './test/support/chromium.ts';

// The browser tier needs a Chromium; a machine with only Node runs the other tiers and says plainly that
// this one was skipped (CI has one, and .ci/run refuses to go on without it).
const chromium = findChromium();
const wantsBrowser = !process.argv.some((a) => /^(--project=)?(unit|integ)$/.test(a));
if (chromium) process.env.CHROMIUM_PATH = chromium;
else if (wantsBrowser && process.env.CI)
  // In CI a skipped tier would pass unseen: refuse instead.
  throw new Error(`CI is set and no Chromium was found for the browser tier: ${CHROMIUM_INSTALL_HINT}.`);
else if (wantsBrowser)
  console.warn(`\n  Browser tier SKIPPED: no Chromium found. To run it, ${CHROMIUM_INSTALL_HINT}.\n`);

// Three tiers by file suffix: fast unit tests, integration tests that start the embedded local stack, and
// the console in Chromium.
const browserProject = {
  test: {
    name: 'browser',
    sequence: { groupOrder: 2 },
    // The web console end to end in Debian's Chromium (playwright-core); each file builds the SPA.
    include: ['test/web/**/*.browser.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 240_000,
    hookTimeout: 240_000,
    fileParallelism: false,
    maxWorkers: 1,
  },
};

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          // Projects with different worker limits must run as separate groups: unit, then integ, then browser.
          sequence: { groupOrder: 0 },
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.integ.test.ts', 'test/**/*.browser.test.ts'],
          setupFiles: ['test/setup.ts'],
        },
      },
      {
        test: {
          name: 'integ',
          sequence: { groupOrder: 1 },
          include: ['test/**/*.integ.test.ts'],
          setupFiles: ['test/setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 120_000,
          // Each file starts its own in-process stack on random ports; two at a time fits two cores.
          maxWorkers: 2,
        },
      },
      ...(chromium ? [browserProject] : []),
    ],
  },
});
