/**
 * `npx tsx local/kafka/broker.ts [--port 9092] [--data-dir .data/kafka]` (also `npm run kafka`):
 * fetches the jars if needed, runs a single-node broker in the foreground, creates user_events and
 * transactions, prints the broker address on stdout and stops the broker on Ctrl-C.
 */
import { parseArgs } from 'node:util';
import { createLocalLogger } from '../logger.js';
import { startKafkaBroker } from './start-broker.js';
import { ensureTopics } from './topics.js';
import { DEFAULT_KAFKA_PORT } from './versions.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: String(DEFAULT_KAFKA_PORT) },
    'data-dir': { type: 'string' },
    'heap-mb': { type: 'string' },
  },
});

const logger = createLocalLogger('kafka-broker');
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  logger.error({ port: values.port }, '--port must be an integer between 0 and 65535');
  process.exit(2);
}

const broker = await startKafkaBroker({
  port,
  dataDir: values['data-dir'],
  heapMb: values['heap-mb'] ? Number(values['heap-mb']) : undefined,
  logger,
});
await ensureTopics(broker.brokers, undefined, { logger });
process.stdout.write(`KAFKA_BROKERS=${broker.brokers}\n`);

let stopping = false;
const shutdown = (signal: string): void => {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'stopping the Kafka broker');
  broker.stop().then(() => process.exit(0), (error: unknown) => {
    logger.error({ err: error }, 'could not stop the broker cleanly');
    process.exit(1);
  });
};
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));
