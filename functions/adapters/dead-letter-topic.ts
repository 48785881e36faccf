import kafkajs, { type Message, type Producer } from 'kafkajs';
import { DEAD_LETTER_PARTITIONS, DEAD_LETTER_TOPIC } from '../core/topics.js';
import { BackpressureError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { extensionsOf, toKafkaBinary, type IncomingEvent } from '../cloudevents/index.js';

/**
 * Dead letters also go to a Kafka topic (when Kafka is configured), so whatever consumes rejects
 * (a repair job, an alert) can read them where the events came from. The request is answered only
 * once the topic has them too; a retry may produce a copy there, while the table keeps one row per
 * reject.
 *
 * One shape for the whole topic: the rejected CloudEvent itself in Kafka binary content mode, the
 * way the cluster's KafkaSink (the KafkaSource's dead-letter sink, charts/eventing.ts) writes the
 * events KafkaSource could not deliver, so a consumer reads both alike and can re-produce any
 * record to user_events/transactions once its data is fixed (README "Dead-letter topic").
 *
 * What KafkaSink writes, checked in its sources: the receiver (knative-extensions/eventing-kafka-broker,
 * data-plane/receiver .../receiver/main/Main.java) produces with the CloudEvents SDK's
 * `io.cloudevents.kafka.CloudEventSerializer` and `PartitionKeyExtensionInterceptor`, in BINARY
 * encoding unless the KafkaSink says `contentMode: structured`
 * (.../receiver/impl/IngressProducerReconcilableStore.java). The serializer
 * (cloudevents/sdk-java kafka/.../impl/KafkaHeaders.java, BaseKafkaMessageWriterImpl.java) writes
 * every attribute and extension as a header `ce_<name>` with the value's UTF-8 bytes, except
 * `datacontenttype`, which becomes `content-type`, and the data as the value; the interceptor sets
 * the record key to the `partitionkey` extension when the event has one (else the key stays null).
 * The CloudEvents Kafka protocol binding (cloudevents/spec, kafka-protocol-binding.md, 3.1 and
 * 3.2) says the same. KafkaSource sets `partitionkey` (and `key`) to the original record's key.
 *
 * The ingest adds why it refused the event as extensions: `deadletterreason` (the reason code),
 * `deadletterdetail` and `deadletterfield` (when there is one). The key: the `partitionkey`
 * extension when the event has one, as KafkaSink does, so a record from Kafka keeps its original
 * key (the user id): re-produced after repair it lands in the user's partition again, in order with
 * the user's other events. An event without one (sent straight over HTTP) is keyed by its
 * CloudEvent id, where KafkaSink would leave the key null: copies of one reject then share a
 * partition, and a compacting or de-duplicating reader can use it.
 */
export { DEAD_LETTER_TOPIC };

/** One reject, for the topic: the event as it came and why it was refused. */
export type DeadLetter = { event: IncomingEvent; reason: string; detail: string; field?: string };

/** Why-extensions the ingest writes; incoming extensions of these names are dropped (stale). */
export const REASON_EXTENSIONS = { reason: 'deadletterreason', detail: 'deadletterdetail', field: 'deadletterfield', truncated: 'deadlettertruncated' } as const;

/**
 * Bounds that keep a record well under Kafka's default 1 MB message size whatever the input: one
 * reject with a 10 MB payload, or an attribute of megabytes in a structured event, would otherwise
 * be refused by the broker and answered 503 for ever (a 5xx caused by input). The table keeps the
 * whole payload; what was cut on the topic is listed in `deadlettertruncated`.
 */
export const TOPIC_DATA_BYTES = 256 * 1024;
export const TOPIC_ATTRIBUTE_CHARS = 1024;
export const TOPIC_MAX_EXTENSIONS = 64;
/** One send holds at most this much (kafkajs sends a partition's records as one batch). */
const TOPIC_CHUNK_BYTES = 256 * 1024;

/** The record for one reject: Kafka binary content mode (see above). Pure. */
export function deadLetterRecord(d: DeadLetter): Message {
  const { attrs } = d.event;
  const cut: string[] = [];
  const bounded = (name: string, v: string) => {
    if (v.length <= TOPIC_ATTRIBUTE_CHARS) return v;
    if (!cut.includes(name)) cut.push(name);
    return v.slice(0, TOPIC_ATTRIBUTE_CHARS);
  };
  // The event's attributes and extensions, bounded, then the why-extensions: encoded by the Kafka
  // binding (functions/cloudevents/kafka.ts), as KafkaSink's serializer does.
  const attributes: Record<string, string> = {};
  const core: [string, string | undefined][] = [['specversion', attrs.specversion], ['id', attrs.id], ['source', attrs.source], ['type', attrs.type], ['subject', attrs.subject], ['time', attrs.time]];
  for (const [name, v] of core) if (v !== undefined) attributes[name] = bounded(name, v);
  const own = new Set<string>(Object.values(REASON_EXTENSIONS));
  const incoming = extensionsOf(d.event);
  const extensions = Object.entries(incoming).filter(([name]) => !own.has(name) && name !== 'datacontenttype');
  if (extensions.length > TOPIC_MAX_EXTENSIONS) cut.push('extensions');
  for (const [name, v] of extensions.slice(0, TOPIC_MAX_EXTENSIONS)) attributes[name] = bounded(name, v);
  attributes[REASON_EXTENSIONS.reason] = d.reason;
  attributes[REASON_EXTENSIONS.detail] = d.detail;
  if (d.field) attributes[REASON_EXTENSIONS.field] = bounded(REASON_EXTENSIONS.field, d.field);
  if (attrs.datacontenttype !== undefined) attributes.datacontenttype = bounded('datacontenttype', attrs.datacontenttype);
  let value = d.event.bytes === undefined ? Buffer.from(d.event.raw) : d.event.bytes;
  if (value && value.length > TOPIC_DATA_BYTES) {
    cut.unshift('data');
    value = value.subarray(0, TOPIC_DATA_BYTES);
  }
  if (cut.length) attributes[REASON_EXTENSIONS.truncated] = cut.join(',');
  const record = toKafkaBinary({ attributes, data: value });
  // Keyed by partitionkey as KafkaSink does, else by the CloudEvent id (see above), never null.
  return { key: (incoming.partitionkey ?? attrs.id).slice(0, TOPIC_ATTRIBUTE_CHARS), value: record.value, headers: { ...record.headers } };
}

function recordBytes(m: Message): number {
  let n = 64 + (m.value ? (m.value as Buffer).length : 0) + Buffer.byteLength(String(m.key ?? ''));
  for (const [k, v] of Object.entries(m.headers ?? {})) n += k.length + Buffer.byteLength(String(v)) + 8;
  return n;
}

/** Records in sends Kafka takes: one send of 10,000 rejects exceeded the broker's message size. */
function chunks(messages: readonly Message[]): Message[][] {
  const out: Message[][] = [];
  let chunk: Message[] = [];
  let size = 0;
  for (const m of messages) {
    const n = recordBytes(m);
    if (chunk.length && size + n > TOPIC_CHUNK_BYTES) { out.push(chunk); chunk = []; size = 0; }
    chunk.push(m);
    size += n;
  }
  if (chunk.length) out.push(chunk);
  return out;
}

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
    await admin.createTopics({ topics: [{ topic: DEAD_LETTER_TOPIC, numPartitions: DEAD_LETTER_PARTITIONS }], waitForLeaders: true }).catch((err) => log.warn({ err: (err as Error).message }, 'could not create the dead-letter topic'));
    await admin.disconnect();
    return p;
  };
  return {
    async send(letters: readonly DeadLetter[]) {
      if (!letters.length) return;
      try {
        producer ??= connect().catch((err) => { producer = undefined; throw err; });
        const p = await producer;
        for (const messages of chunks(letters.map(deadLetterRecord))) await p.send({ topic: DEAD_LETTER_TOPIC, acks: -1, messages });
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
