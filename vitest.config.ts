import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Integration tests share one DynamoDB Local and one SQS emulator per worker; two cores here.
    maxWorkers: 2,
  },
});
