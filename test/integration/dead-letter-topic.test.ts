// The dead-letter topic has one shape (README "Dead-letter topic"): every record is the rejected
// CloudEvent in Kafka binary content mode, whether the ingest wrote it (an invalid event) or the
// KafkaSource's dead-letter sink did (a KafkaSink in the cluster; here the dispatcher's
// deadLetterTopic, which writes as KafkaSink does). Against the run's real Kafka broker, the real
// dispatcher and a real ingest (embedded ClickHouse, PostgreSQL): no mocks.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import kafkajs from 'kafkajs';
import { DEAD_LETTER_TOPIC } from '../../functions/adapters/dead-letter-topic.js';
import { createKafkaClient } from '../../local/kafka/client.js';
import { ensureTopics } from '../../local/kafka/topics.js';
import { readWholeTopicRaw, type RawRecord } from '../helpers/dead-letter-records.js';
import { closeAfterTest, startTestDispatcher } from '../helpers/kafka-dispatcher.js';
import { randomTopic, testBrokers } from '../helpers/kafka-env.js';
import { startSinkServer } from '../helpers/kafka-sink-server.js';
import { startStack, waitFor, type Stack } from '../helpers/stack.js';
import { VALID_EVENTS } from '../unit/builders.js';

const SOURCE = { name: 'user-events', namespace: 'speed-layer' };
let stack: Stack;
let producer: kafkajs.Producer;
const brokers = () => testBrokers();

beforeAll(async () => {
  stack = await startStack({ BATCH_MAX_AGE_MS: 50, KAFKA_BROKERS: brokers() });
  await ensureTopics(brokers());
  producer = createKafkaClient(brokers(), { clientId: 'test-dead-letter-topic' }).producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
});
afterAll(async () => {
  await producer?.disconnect();
  await stack?.stop();
});

type Sent = { user: string; value: Buffer; partition: number; offset: number; timestamp: number };

/** Produces to user_events (each record keyed by its own user), with where each landed. */
async function produce(records: readonly { key: string | null; value: Buffer; headers: Record<string, string>; timestamp?: number }[]): Promise<{ partition: number; offset: number }[]> {
  const out: { partition: number; offset: number }[] = [];
  for (const r of records) {
    const [meta] = await producer.send({ topic: 'user_events', acks: -1, messages: [{ key: r.key, value: r.value, headers: r.headers, ...(r.timestamp ? { timestamp: String(r.timestamp) } : {}) }] });
    out.push({ partition: meta!.partition, offset: Number(meta!.baseOffset) });
  }
  return out;
}

async function recordsOf(topic: string, users: readonly string[]): Promise<Map<string, RawRecord>> {
  return waitFor(async () => {
    const mine = (await readWholeTopicRaw(brokers(), topic)).filter((r) => r.key !== null && users.includes(r.key));
    return mine.length >= users.length ? new Map(mine.map((r) => [r.key!, r])) : undefined;
  }, `${users.length} records in ${topic}`, 60_000, 500);
}

const withoutWhy = (h: Record<string, string>) => Object.fromEntries(Object.entries(h).filter(([k]) => !/^ce_(deadletter|knativeerror)/.test(k)));

describe(`${DEAD_LETTER_TOPIC}: one shape, the CloudEvent in Kafka binary mode`, () => {
  test('an ingest reject reads back byte-exact as KafkaSink would write the event, plus its reason; fixed and re-produced to user_events (from either writer) it is stored', async () => {
    const dlqTopic = randomTopic('dlq');
    // Dispatcher A: KafkaSource's stand-in, user_events -> the ingest.
    await startTestDispatcher({ bootstrapServers: brokers(), topics: 'user_events', sink: `${stack.ingestUrl}/`, ordering: 'unordered', initialOffset: 'latest', ...SOURCE });
    // Dispatcher B: the same records to a sink that refuses them all (400), dead-lettered to a topic as the cluster's KafkaSink writes them.
    const refuser = closeAfterTest(await startSinkServer({ responder: () => ({ status: 400, body: 'refused' }) }));
    await startTestDispatcher({ bootstrapServers: brokers(), topics: 'user_events', sink: refuser.url, ordering: 'unordered', initialOffset: 'latest', deadLetterTopic: dlqTopic, ...SOURCE });

    const now = Date.now();
    const notUtf8 = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0xff, 0xfe, 0x80, 0x7d]); // {"a":<bad bytes>}
    const sent: Sent[] = [];
    const [u1, u2] = [randomUUID(), randomUUID()];
    const originals = [
      { user: u1, value: notUtf8, reason: 'invalid_json' },
      { user: u2, value: Buffer.from(JSON.stringify({ ...VALID_EVENTS.add_to_cart, event_id: randomUUID(), user_id: u2, timestamp: new Date(now).toISOString(), price: 'NaN' })), reason: 'schema_violation' },
    ];
    const where = await produce(originals.map((o) => ({ key: o.user, value: o.value, headers: { 'content-type': 'application/json', 'x-origin': 'repair-test' }, timestamp: now })));
    originals.forEach((o, i) => sent.push({ user: o.user, value: o.value, ...where[i]!, timestamp: now }));
    const users = sent.map((s) => s.user);

    const fromIngest = await recordsOf(DEAD_LETTER_TOPIC, users);
    const fromSink = await recordsOf(dlqTopic, users);
    const rows = await stack.query<{ ce_id: string; reason: string; detail: string; field: string }>(
      'SELECT ce_id, reason, detail, field FROM {db}.dead_letter_events FINAL WHERE ce_id IN {ids:Array(String)}', { ids: sent.map((s) => `partition:${s.partition}/offset:${s.offset}`) });

    for (const [i, s] of sent.entries()) {
      const id = `partition:${s.partition}/offset:${s.offset}`;
      // The event as KafkaSource built it (README of local/dispatcher) in Kafka binary mode.
      const event = {
        ce_specversion: '1.0', ce_id: id, ce_source: `/apis/v1/namespaces/${SOURCE.namespace}/kafkasources/${SOURCE.name}#user_events`,
        ce_type: 'dev.knative.kafka.event', ce_subject: `partition:${s.partition}#${s.offset}`, ce_time: new Date(s.timestamp).toISOString(),
        ce_key: s.user, ce_partitionkey: s.user, ce_kafkaheaderxorigin: 'repair-test', 'content-type': 'application/json',
      };
      const row = rows.find((r) => r.ce_id === id)!;
      expect(row.reason).toBe(originals[i]!.reason);
      const ingest = fromIngest.get(s.user)!;
      expect(ingest.key).toBe(s.user);
      expect(ingest.value!.equals(s.value)).toBe(true);
      expect(ingest.headers).toEqual({ ...event, ce_deadletterreason: row.reason, ce_deadletterdetail: row.detail, ...(row.field ? { ce_deadletterfield: row.field } : {}) });
      const sink = fromSink.get(s.user)!;
      expect(sink.key).toBe(s.user);
      expect(sink.value!.equals(s.value)).toBe(true);
      expect(sink.headers).toEqual({ ...event, ce_knativeerrordest: refuser.url, ce_knativeerrorcode: '400', ce_knativeerrordata: Buffer.from('refused').toString('base64') });
      // One shape: the same event, only the why-extensions differ.
      expect(withoutWhy(ingest.headers)).toEqual(withoutWhy(sink.headers));
    }
    expect(rows.find((r) => r.reason === 'schema_violation')?.field).toBe('price');

    // Repair: fix the data, re-produce to user_events with the record's key and headers (the
    // ingest's without the why-extensions, as the README says; KafkaSink's as they are: the ingest
    // ignores extensions it does not know). The dispatcher forwards a ce_* record as that event.
    const fixed = [...fromIngest.values(), ...fromSink.values()].map((r, i) => {
      const user = r.key!;
      const eventId = randomUUID();
      const value = Buffer.from(JSON.stringify({ ...VALID_EVENTS.add_to_cart, event_id: eventId, user_id: user, timestamp: new Date(now).toISOString() }));
      return { eventId, record: { key: r.key, value, headers: i < fromIngest.size ? withoutWhy(r.headers) : r.headers } };
    });
    await produce(fixed.map((f) => f.record));
    const stored = await waitFor(async () => {
      const got = await stack.query<{ id: string }>('SELECT toString(event_id) AS id FROM {db}.user_events_realtime WHERE event_id IN {ids:Array(UUID)}', { ids: fixed.map((f) => f.eventId) });
      return got.length >= fixed.length ? got : undefined;
    }, 'the repaired events stored', 60_000, 250);
    expect(stored.map((r) => r.id).sort()).toEqual(fixed.map((f) => f.eventId).sort());
  });
});
