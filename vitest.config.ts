import { defineConfig } from 'vitest/config';

// Two tiers by file suffix: fast unit tests, and integration tests that start the embedded local stack.
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
      {
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
      },
    ],
  },
});
