import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventProducer } from '../../local/kafka/produce.js';
import { startKafkaBroker, type KafkaBroker } from '../../local/kafka/start-broker.js';
import { describeTopics } from '../../local/kafka/topics.js';
import { closeAfterTest, startTestDispatcher } from '../helpers/kafka-dispatcher.js';
import { committedOffsets, createTopic, endOffsets, randomTopic, testLogger } from '../helpers/kafka-env.js';
import { startSinkServer, type SinkServer } from '../helpers/kafka-sink-server.js';
import { waitFor } from '../../local/wait-for.js';

// These tests stop and kill a broker, so they run their own rather than the run's shared one.
let broker: KafkaBroker;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'speed-layer-kafka-restart-'));
  broker = await startKafkaBroker({ port: 0, dataDir, logger: testLogger() });
});

afterAll(async () => {
  await broker?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

function deliveredIds(sink: SinkServer): Set<string> {
  return new Set(sink.requests.filter((r) => r.status === 200).map((r) => (JSON.parse(r.body.toString()) as { event_id: string }).event_id));
}

function events(from: number, count: number): { event_id: string; user_id: string }[] {
  return Array.from({ length: count }, (_, i) => ({ event_id: `e${from + i}`, user_id: `user-${(from + i) % 53}` }));
}

async function committedReachEnd(group: string, topic: string): Promise<boolean> {
  const [ends, committed] = await Promise.all([endOffsets(broker.brokers, topic), committedOffsets(broker.brokers, group, topic)]);
  return [...ends].every(([p, end]) => end === 0 || committed.get(p) === end);
}

describe.each([
  ['restarted (SIGTERM, then start)', async () => broker.restart()],
  ['crashed (kill -9, then start)', async () => { await broker.kill(); await broker.restart(); }],
])('a broker %s in the middle of the stream', (_, bounce) => {
  it('loses no record: everything produced before and after is delivered and committed', async () => {
    const topic = await createTopic(broker.brokers, randomTopic('bounce'));
    // Slow once 200 are delivered, so the bounce surely happens with records in flight and still to read.
    let slow = false;
    const sink = closeAfterTest(await startSinkServer({ responder: () => ({ delayMs: slow ? 300 : 10 }) }));
    const producer = createEventProducer(broker.brokers);
    try {
      await producer.sendEvents(topic, events(0, 800));
      const dispatcher = await startTestDispatcher({
        bootstrapServers: broker.brokers, topics: topic, sink: sink.url, ordering: 'unordered', maxInFlightPerPartition: 4,
      });
      await waitFor(() => deliveredIds(sink).size >= 200, { message: () => `${deliveredIds(sink).size} delivered before the bounce` });
      slow = true;
      expect(deliveredIds(sink).size).toBeLessThan(800);

      await bounce();
      slow = false;
      expect(await describeTopics(broker.brokers, [topic])).toEqual({ [topic]: 6 });
      await producer.sendEvents(topic, events(800, 200));

      await waitFor(() => deliveredIds(sink).size >= 1000, { timeoutMs: 60_000, message: () => `${deliveredIds(sink).size} of 1000 delivered` });
      await waitFor(() => committedReachEnd(dispatcher.group, topic), { timeoutMs: 30_000, message: 'offsets not committed to the end' });
      expect(dispatcher.stats()).toMatchObject({ deadLettered: 0, discarded: 0 });
    } finally {
      await producer.disconnect();
    }
  });
});
