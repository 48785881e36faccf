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
/** Until every partition of the topics has a leader (bounded: 30 s). */
async function waitForLeaders(admin: ReturnType<ReturnType<typeof createKafkaClient>['admin']>, topics: string[]) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ready = await admin.fetchTopicMetadata({ topics })
      .then(({ topics: m }) => m.length === topics.length && m.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0)))
      .catch(() => false);
    if (ready) return;
    if (Date.now() > deadline) throw new Error(`Kafka topics ${topics.join(', ')} have no leaders after 30 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

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
        // A concurrent caller created it first: the topic is there, which is all we wanted. And
        // on a busy machine kafkajs's waitForLeaders can ask before the metadata has spread and
        // give up with "does not host this topic-partition": the wait below covers that.
        if (!(error instanceof Error && /already exists|does not host this topic-partition/i.test(error.message))) throw error;
      });
      await waitForLeaders(admin, missing.map((t) => t.topic));
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
