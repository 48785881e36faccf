/**
 * vitest globalSetup: one Kafka broker for the whole test run, unless KAFKA_BROKERS already points
 * at one. Fetches the jars on first use, starts the broker on a free port (never a developer's 9092)
 * with its data in a temporary folder, creates user_events and transactions, and hands the
 * address to the tests as process.env.KAFKA_BROKERS and inject('kafkaBrokers').
 * Tests that stop, kill or restart a broker start their own (test/helpers/kafka-env.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { createLocalLogger } from '../../local/logger.js';
import { ensureKafkaJars } from '../../local/kafka/fetch.js';
import { startKafkaBroker } from '../../local/kafka/start-broker.js';
import { ensureTopics } from '../../local/kafka/topics.js';

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string;
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const existing = process.env.KAFKA_BROKERS;
  if (existing) {
    project.provide('kafkaBrokers', existing);
    return undefined;
  }
  const logger = createLocalLogger('kafka-global-setup', process.env.LOG_LEVEL ?? 'warn');
  await ensureKafkaJars({ logger, inheritOutput: true });
  const dataDir = await mkdtemp(join(tmpdir(), 'speed-layer-kafka-'));
  const broker = await startKafkaBroker({ port: 0, dataDir, logger });
  await ensureTopics(broker.brokers, undefined, { logger });
  process.env.KAFKA_BROKERS = broker.brokers;
  project.provide('kafkaBrokers', broker.brokers);
  return async () => {
    await broker.stop();
    delete process.env.KAFKA_BROKERS;
    await rm(dataDir, { recursive: true, force: true });
  };
}
