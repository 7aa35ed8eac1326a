import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // The embedded sample ingested once per run; sampleStore() copies it (test/sample-template.ts).
    globalSetup: ['test/sample-template.ts'],
  },
});
