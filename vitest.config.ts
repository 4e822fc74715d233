import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // e2e/support holds the e2e suite's pure helpers; their own tests need no browser.
    include: ['src/**/*.test.ts', 'training/**/*.test.ts', 'e2e/support/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
