import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import kafkajs from 'kafkajs';
import { pino, type Logger } from 'pino';
import { createKafkaClient } from '../../local/kafka/client.js';
import { ensureTopics } from '../../local/kafka/topics.js';

const { Partitioners } = kafkajs;

/** The run's shared broker, from the global setup (or KAFKA_BROKERS given from outside). */
export function testBrokers(): string {
  return process.env.KAFKA_BROKERS ?? inject('kafkaBrokers');
}

/** Test logs stay quiet unless TEST_LOG_LEVEL asks for them. */
export function testLogger(): Logger {
  return pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }, pino.destination(2));
}

/** A topic name no other test uses, so no test depends on another's leftovers. */
export function randomTopic(prefix = 'test'): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export async function createTopic(brokers: string, topic: string, numPartitions = 6): Promise<string> {
  await ensureTopics(brokers, [{ topic, numPartitions }]);
  return topic;
}

export interface TestRecord {
  readonly key: string | null;
  readonly value: string;
  readonly partition?: number;
  readonly headers?: Record<string, string>;
  readonly timestamp?: number;
}

/** Produces with a plain kafkajs producer (explicit partitions allowed), all acknowledged. */
export async function produceRecords(brokers: string, topic: string, records: readonly TestRecord[]): Promise<void> {
  const producer = createKafkaClient(brokers, { clientId: 'test-producer' })
    .producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  try {
    for (let i = 0; i < records.length; i += 1000) {
      await producer.send({
        topic,
        acks: -1,
        messages: records.slice(i, i + 1000).map((r) => ({
          key: r.key,
          value: r.value,
          partition: r.partition,
          headers: r.headers,
          timestamp: r.timestamp === undefined ? undefined : String(r.timestamp),
        })),
      });
    }
  } finally {
    await producer.disconnect();
  }
}

/** Committed offsets of a group, per partition (-1 where none). */
export async function committedOffsets(brokers: string, groupId: string, topic: string): Promise<Map<number, number>> {
  const admin = createKafkaClient(brokers, { clientId: 'test-admin' }).admin();
  await admin.connect();
  try {
    const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map((entry?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  } finally {
    await admin.disconnect();
  }
}

/** End offset (next offset to be written) per partition. */
export async function endOffsets(brokers: string, topic: string): Promise<Map<number, number>> {
  const admin = createKafkaClient(brokers, { clientId: 'test-admin' }).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((p) => [p.partition, Number(p.high)]));
  } finally {
    await admin.disconnect();
  }
}

/** Reads every record of a topic from the beginning, until `count` have been seen. */
export async function consumeAll(brokers: string, topic: string, count: number, timeoutMs = 30_000): Promise<kafkajs.EachMessagePayload[]> {
  const consumer = createKafkaClient(brokers, { clientId: 'test-consumer' }).consumer({ groupId: `test-reader-${randomUUID()}`, maxWaitTimeInMs: 200 });
  const seen: kafkajs.EachMessagePayload[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let done: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => { done = resolve; });
    await consumer.run({ eachMessage: async (payload) => { seen.push(payload); if (seen.length >= count) done(); } });
    const timer = new Promise<void>((_, reject) => setTimeout(() => reject(new Error(`read ${seen.length} of ${count} records from ${topic}`)), timeoutMs));
    await Promise.race([finished, timer]);
    return seen;
  } finally {
    await consumer.disconnect();
  }
}
