import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One Kafka broker for the run (skipped when KAFKA_BROKERS is set); see test/helpers/kafka-global-setup.ts.
    globalSetup: ['test/helpers/kafka-global-setup.ts'],
    // Integration tests share one embedded ClickHouse per worker process and the machine has two cores.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
