import { defineConfig } from 'vitest/config';

// End-to-end tests drive one real Chromium: one file at a time, one worker, generous timeouts
// (a cold Chromium start on a 2-core machine takes seconds).
export default defineConfig({
  test: {
    include: ['e2e/**/*.test.ts'],
    exclude: ['e2e/support/**', 'node_modules/**'],
    environment: 'node',
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
