import kafkajs, { type Producer } from 'kafkajs';
import { BackpressureError } from '../core/errors.js';
import type { Logger } from '../core/log.js';

/**
 * Dead letters also go to a Kafka topic (when Kafka is configured), keyed by the CloudEvent id, so
 * whatever consumes rejects (a repair job, an alert) can read them where the events came from. The
 * request is answered only once the topic has them too; a retry may produce a copy there, while the
 * table keeps one row per reject.
 */
export const DEAD_LETTER_TOPIC = 'dead_letter_events';

export function createDeadLetterTopic(brokers: string, log: Logger) {
  let producer: Promise<Producer> | undefined;
  const connect = async () => {
    const kafka = new kafkajs.Kafka({ clientId: 'speed-layer-ingest-dlq', brokers: brokers.split(',').map((b) => b.trim()), logLevel: kafkajs.logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 200 } });
    // Not idempotent: kafkajs's idempotent producer breaks under concurrent sends (out-of-order
    // sequence numbers), and a copy in this topic is harmless (the table keeps one row per reject).
    const p = kafka.producer({ allowAutoTopicCreation: false });
    await p.connect();
    const admin = kafka.admin();
    await admin.connect();
    // Created if missing, so a fresh cluster or local broker needs no extra step.
    await admin.createTopics({ topics: [{ topic: DEAD_LETTER_TOPIC, numPartitions: 3 }], waitForLeaders: true }).catch((err) => log.warn({ err: (err as Error).message }, 'could not create the dead-letter topic'));
    await admin.disconnect();
    return p;
  };
  return {
    async send(rows: readonly { ce_id: string; reason: string; payload: string }[]) {
      if (!rows.length) return;
      try {
        producer ??= connect().catch((err) => { producer = undefined; throw err; });
        await (await producer).send({ topic: DEAD_LETTER_TOPIC, acks: -1, messages: rows.map((r) => ({ key: r.ce_id, value: JSON.stringify(r), headers: { reason: r.reason } })) });
      } catch (err) {
        // The rejects are in the table already; the sender retries and the table keeps one row.
        throw new BackpressureError(`dead-letter topic unavailable: ${(err as Error).message}`, 2);
      }
    },
    async close() {
      await (await producer?.catch(() => undefined))?.disconnect();
    },
  };
}
export type DeadLetterTopic = ReturnType<typeof createDeadLetterTopic>;
