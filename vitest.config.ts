import { defineConfig } from 'vitest/config';

// Two projects: unit tests live beside the code and need no server; integration tests under test/
// talk to the real local Kafka, PostgreSQL and MariaDB and run one file at a time, because they
// share one broker and kill real processes.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
