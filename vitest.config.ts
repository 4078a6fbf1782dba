import { defineConfig } from 'vitest/config';

// Two tiers by file suffix: fast unit tests, and integration tests that start the embedded local stack.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.integ.test.ts', 'test/**/*.browser.test.ts'],
          setupFiles: ['test/setup.ts'],
        },
      },
      {
        test: {
          name: 'integ',
          include: ['test/**/*.integ.test.ts'],
          setupFiles: ['test/setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 120_000,
          // Each file starts its own in-process stack on random ports; two at a time fits two cores.
          maxWorkers: 2,
        },
      },
    ],
  },
});
