import { defineConfig } from 'vitest/config';

// Unit tests live beside the code and need no server. Integration tests under test/ talk to the
// real local Kafka, PostgreSQL and MariaDB. Each integration file works in its own throwaway
// databases and topic prefix, so files run two at a time (most of their time is spent waiting on
// real processes, polls and the broker). The two files that kill the shared broker run first,
// alone (an earlier sequence group): no other file sees the broker go away, and a restart is
// quick while the broker holds few topics (its log recovery grows with every topic the suite makes).
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
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          ...integration,
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: BROKER_FAULTS,
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          ...integration,
          name: 'broker-faults',
          include: BROKER_FAULTS,
          fileParallelism: false,
          sequence: { groupOrder: 0 },
        },
      },
    ],
  },
});
