import { describe, expect, it } from 'vitest';
import { createEventProducer } from '../../local/kafka/produce.js';
import { describeTopics, ensureTopics } from '../../local/kafka/topics.js';
import { consumeAll, randomTopic, testBrokers } from '../helpers/kafka-env.js';

describe('local Kafka broker (shared by the run)', () => {
  it('has user_events and transactions with 6 partitions', async () => {
    const brokers = testBrokers();
    await ensureTopics(brokers);
    expect(await describeTopics(brokers, ['user_events', 'transactions'])).toEqual({ user_events: 6, transactions: 6 });
  });

  it('ensureTopics creates missing topics, is idempotent, and grows a topic that has too few partitions', async () => {
    const brokers = testBrokers();
    const topic = randomTopic('topics');
    await ensureTopics(brokers, [{ topic, numPartitions: 3 }]);
    await ensureTopics(brokers, [{ topic, numPartitions: 3 }]);
    expect(await describeTopics(brokers, [topic])).toEqual({ [topic]: 3 });
    await ensureTopics(brokers, [{ topic }]);
    expect(await describeTopics(brokers, [topic])).toEqual({ [topic]: 6 });
  });

  it('the idempotent event producer keys records by user_id, as JSON, in order per user', async () => {
    const brokers = testBrokers();
    const topic = randomTopic('produce');
    await ensureTopics(brokers, [{ topic }]);
    const users = Array.from({ length: 20 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    const events = Array.from({ length: 3000 }, (_, i) => ({ event_id: `e${i}`, user_id: users[i % users.length] as string, seq: i }));
    const producer = createEventProducer(brokers);
    try {
      await producer.sendEvents(topic, events);
    } finally {
      await producer.disconnect();
    }

    const seen = await consumeAll(brokers, topic, events.length);
    expect(seen).toHaveLength(events.length);
    const partitionOfUser = new Map<string, number>();
    const lastSeqOfUser = new Map<string, number>();
    for (const { partition, message } of seen) {
      const value = JSON.parse(message.value?.toString() ?? 'null') as { user_id: string; seq: number };
      expect(message.key?.toString()).toBe(value.user_id);
      expect(message.headers?.['content-type']?.toString()).toBe('application/json');
      expect(partitionOfUser.get(value.user_id) ?? partition).toBe(partition);
      partitionOfUser.set(value.user_id, partition);
      // Within a partition kafkajs hands records over in offset order, so per-user order is production order.
      expect(value.seq).toBeGreaterThan(lastSeqOfUser.get(value.user_id) ?? -1);
      lastSeqOfUser.set(value.user_id, value.seq);
    }
    expect(new Set(partitionOfUser.values()).size).toBeGreaterThan(1);
  });

  it('refuses events without a user_id to key them by', async () => {
    const producer = createEventProducer(testBrokers());
    try {
      await expect(producer.sendEvents(randomTopic(), [{ event_id: 'x' }])).rejects.toThrow(/user_id/);
    } finally {
      await producer.disconnect();
    }
  });
});
