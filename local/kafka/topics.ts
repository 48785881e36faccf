import type { Logger } from '../logger.js';
import { createKafkaClient } from './client.js';
import { DEFAULT_PARTITIONS } from './server-properties.js';

export interface TopicSpec {
  readonly topic: string;
  /** At least this many partitions; an existing topic with fewer is grown. Default 6. */
  readonly numPartitions?: number;
  readonly configEntries?: readonly { readonly name: string; readonly value: string }[];
}

/** The contract's two input topics, keyed by user_id, 6 partitions each. */
export const SPEED_LAYER_TOPICS: readonly TopicSpec[] = [
  { topic: 'user_events', numPartitions: DEFAULT_PARTITIONS },
  { topic: 'transactions', numPartitions: DEFAULT_PARTITIONS },
];

/**
 * Creates the topics that are missing and grows those with too few partitions; leaves the rest
 * alone. Safe to call from several processes at once (TOPIC_ALREADY_EXISTS counts as done).
 */
export async function ensureTopics(
  brokers: string | readonly string[],
  topics: readonly TopicSpec[] = SPEED_LAYER_TOPICS,
  options: { readonly logger?: Logger } = {},
): Promise<void> {
  const admin = createKafkaClient(brokers, { clientId: 'speed-layer-topics', logger: options.logger }).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.topic));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((t) => ({
          topic: t.topic,
          numPartitions: t.numPartitions ?? DEFAULT_PARTITIONS,
          replicationFactor: 1,
          configEntries: t.configEntries ? [...t.configEntries] : undefined,
        })),
      }).catch((error: unknown) => {
        // A concurrent caller created it first: the topic is there, which is all we wanted.
        if (!(error instanceof Error && /already exists/i.test(error.message))) throw error;
      });
      options.logger?.info({ topics: missing.map((t) => t.topic) }, 'created Kafka topics');
    }
    const present = topics.filter((t) => existing.has(t.topic));
    if (present.length > 0) {
      const { topics: metadata } = await admin.fetchTopicMetadata({ topics: present.map((t) => t.topic) });
      const grow = present
        .map((t) => ({ topic: t.topic, count: t.numPartitions ?? DEFAULT_PARTITIONS,
          has: metadata.find((m) => m.name === t.topic)?.partitions.length ?? 0 }))
        .filter((t) => t.has < t.count);
      if (grow.length > 0) {
        await admin.createPartitions({ validateOnly: false, topicPartitions: grow.map(({ topic, count }) => ({ topic, count })) });
        options.logger?.warn({ topics: grow }, 'grew Kafka topics to the requested partition count');
      }
    }
  } finally {
    await admin.disconnect();
  }
}

/** Partition count of each topic, for checks and tests. */
export async function describeTopics(brokers: string | readonly string[], topics: readonly string[]): Promise<Record<string, number>> {
  const admin = createKafkaClient(brokers, { clientId: 'speed-layer-topics' }).admin();
  await admin.connect();
  try {
    const { topics: metadata } = await admin.fetchTopicMetadata({ topics: [...topics] });
    return Object.fromEntries(metadata.map((m) => [m.name, m.partitions.length]));
  } finally {
    await admin.disconnect();
  }
}
