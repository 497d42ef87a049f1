import { defineConfig } from 'vitest/config';

// Unit tests live beside the code and need no server. Integration tests under test/ talk to the
// real local Kafka, PostgreSQL and MariaDB. Each integration file works in its own throwaway
// databases and topic prefix, so files run two at a time (most of their time is spent waiting on
// real processes, polls and the broker); the two files that kill the shared broker run afterwards,
// alone (a later sequence group), so no other file sees the broker go away.
const BROKER_FAULTS = ['test/integration/kafka-broker-restart.test.ts', 'test/integration/pipeline-broker-kill.test.ts'];

const integration = {
  globalSetup: ['test/support/global-setup.ts'],
  testTimeout: 180_000,
  hookTimeout: 180_000,
};

export default defineConfig({
  test: {
    // two files at a time: the machine has 2 cores, and integration files mostly wait
    maxWorkers: 2,
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
          ...integration,
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: BROKER_FAULTS,
        },
      },
      {
        test: {
          ...integration,
          name: 'broker-faults',
          include: BROKER_FAULTS,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
