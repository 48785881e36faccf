import type { Config } from '../../functions/core/config.js';
import type { Logger } from '../../functions/core/log.js';
import { byTopic } from '../../generator/kafka-records.js';
import type { GeneratedRecord } from '../../generator/simulate.js';
import { dispatcherInFlight } from './kafka-sizing.js';

/**
 * `npm start -- --kafka`: a local KRaft broker (unless KAFKA_BROKERS names one), the topics, and
 * the KafkaSource-like dispatcher delivering user_events and transactions to the ingest, whether
 * or not the generator produces (with --rate 0 someone else does: kcatLine says how).
 */
export async function startKafkaPath(config: Config, opts: { rate: number; ingestUrl: string; log: Logger }) {
  const { startKafkaBroker, ensureTopics, createEventProducer } = await import('../../local/kafka/index.js');
  const { createDispatcher, parseDispatcherConfig } = await import('../../local/dispatcher/index.js');
  const { log } = opts;
  const broker = config.KAFKA_BROKERS ? undefined : await startKafkaBroker({ logger: log.child({ fn: 'kafka' }) });
  const brokers = config.KAFKA_BROKERS || broker!.brokers;
  await ensureTopics(brokers);
  const maxInFlight = dispatcherInFlight(opts.rate, config.BATCH_MAX_AGE_MS);
  const dispatcher = createDispatcher(parseDispatcherConfig({
    bootstrapServers: brokers, topics: ['user_events', 'transactions'], sink: opts.ingestUrl, name: 'speed-layer-events',
    namespace: 'speed-layer', consumerGroup: 'speed-layer-ingest', ordering: 'unordered',
    // unordered: one partition may carry most of the load, so it may use the whole limit.
    maxInFlight, maxInFlightPerPartition: maxInFlight,
    delivery: { retry: 5, backoffPolicy: 'exponential', backoffDelay: 'PT0.2S' }, deadLetterTopic: 'dead_letter_events',
  }), { logger: log.child({ fn: 'dispatcher' }) });
  await dispatcher.start();
  const producer = opts.rate > 0 ? createEventProducer(brokers, { logger: log.child({ fn: 'producer' }) }) : undefined;
  log.info({ brokers, maxInFlight }, 'Kafka path: producer -> Kafka -> dispatcher -> ingest');
  return {
    brokers,
    maxInFlight,
    async send(records: GeneratedRecord[]) {
      const t = byTopic(records);
      await Promise.all([producer?.send('user_events', t.user_events), producer?.send('transactions', t.transactions)]);
    },
    async stop() {
      await producer?.disconnect();
      await dispatcher.stop();
      await broker?.stop();
    },
  };
}

/** How to produce one event by hand to `brokers` with kcat (key: the user id, value: the event). */
export function kcatLine(brokers: string): string {
  const user = '9b2f6c1e-3f1a-4c2b-9d7e-1a2b3c4d5e6f';
  return `echo '${user}|{"event_id":"'$(cat /proc/sys/kernel/random/uuid)'","event_type":"page_view","user_id":"${user}","timestamp":"'$(date -u +%FT%T.000Z)'","page_url":"/"}' | kcat -P -b ${brokers.split(',')[0]} -t user_events -K '|'`;
}
