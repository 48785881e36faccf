/**
 * vitest globalSetup: one Kafka broker for the whole test run, unless KAFKA_BROKERS already points
 * at one. Fetches the jars on first use, starts the broker on 9092 if free (else any free port)
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
import { isPortFree } from '../../local/kafka/ports.js';
import { startKafkaBroker } from '../../local/kafka/start-broker.js';
import { ensureTopics } from '../../local/kafka/topics.js';
import { DEFAULT_KAFKA_PORT } from '../../local/kafka/versions.js';

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
  // A port seen free can be taken by another process before the JVM binds it (other test runs
  // on the machine start brokers too): the broker then exits at start, and a fresh port is tried.
  let broker: Awaited<ReturnType<typeof startKafkaBroker>> | undefined;
  for (let attempt = 1; !broker; attempt++) {
    const port = attempt === 1 && (await isPortFree(DEFAULT_KAFKA_PORT)) ? DEFAULT_KAFKA_PORT : 0;
    try {
      broker = await startKafkaBroker({ port, dataDir: join(dataDir, String(attempt)), logger });
    } catch (err) {
      if (attempt >= 3) throw err;
      logger.warn({ attempt, err: (err as Error).message.slice(0, 200) }, 'Kafka broker did not start; trying another port');
    }
  }
  await ensureTopics(broker.brokers, undefined, { logger });
  process.env.KAFKA_BROKERS = broker.brokers;
  project.provide('kafkaBrokers', broker.brokers);
  return async () => {
    await broker.stop();
    delete process.env.KAFKA_BROKERS;
    await rm(dataDir, { recursive: true, force: true });
  };
}
