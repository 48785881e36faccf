import { describe, expect, it } from 'vitest';
import { closeAfterTest, header, startTestDispatcher } from '../helpers/kafka-dispatcher.js';
import { committedOffsets, createTopic, endOffsets, produceRecords, randomTopic, testBrokers, type TestRecord } from '../helpers/kafka-env.js';
import { parseKafkaEventId, startSinkServer, type SinkRequest } from '../helpers/kafka-sink-server.js';
import { waitFor } from '../../local/wait-for.js';

const brokers = (): string => testBrokers();

function keyedRecords(count: number, prefix = 'r'): TestRecord[] {
  return Array.from({ length: count }, (_, i) => ({ key: `user-${i % 37}`, value: JSON.stringify({ id: `${prefix}${i}` }) }));
}

function idOf(request: SinkRequest): [number, number] {
  return parseKafkaEventId(header(request, 'ce-id') ?? '');
}

describe('dispatcher: CloudEvents as KafkaSource builds them', () => {
  it('posts one binary-mode CloudEvent per record with KafkaSource attributes, key, headers and time', async () => {
    const topic = await createTopic(brokers(), randomTopic('shape'));
    const sink = closeAfterTest(await startSinkServer());
    await produceRecords(brokers(), topic, [
      { key: 'user-1', value: '{"a":1}', partition: 2, timestamp: 1_700_000_000_123,
        headers: { 'content-type': 'application/json', 'X-Trace_Id': 'abc 1', tenant: 'shop' } },
      { key: null, value: 'plain text', partition: 2, headers: { 'Content-Type': 'Text/Plain' } },
      { key: 'user-2', value: '{"b":2}', partition: 3 },
    ]);
    await startTestDispatcher({
      bootstrapServers: brokers(), topics: topic, sink: sink.url, name: 'shape-source', namespace: 'test-ns',
      ceOverrides: { extensions: { team: 'speed' } },
    });
    await waitFor(() => sink.requests.length >= 3, { message: () => `${sink.requests.length} of 3 requests` });
    const byId = new Map(sink.requests.map((r) => [header(r, 'ce-id'), r]));

    const first = byId.get('partition:2/offset:0');
    expect(first?.headers).toMatchObject({
      'ce-specversion': '1.0',
      'ce-type': 'dev.knative.kafka.event',
      'ce-source': `/apis/v1/namespaces/test-ns/kafkasources/shape-source#${topic}`,
      'ce-subject': 'partition:2#0',
      'ce-id': 'partition:2/offset:0',
      'ce-time': '2023-11-14T22:13:20.123Z',
      'ce-key': 'user-1',
      'ce-partitionkey': 'user-1',
      'ce-kafkaheaderxtraceid': 'abc%201',
      'ce-kafkaheadertenant': 'shop',
      'ce-team': 'speed',
      'content-type': 'application/json',
    });
    expect(first?.headers['ce-kafkaheadercontenttype']).toBeUndefined();
    expect(first?.body.toString()).toBe('{"a":1}');

    const second = byId.get('partition:2/offset:1');
    expect(second?.headers['ce-key']).toBeUndefined();
    expect(second?.headers['content-type']).toBe('text/plain');
    expect(second?.headers['ce-subject']).toBe('partition:2#1');
    expect(second?.body.toString()).toBe('plain text');

    const third = byId.get('partition:3/offset:0');
    expect(third?.headers['content-type']).toBe('application/json');
    expect(third?.headers['ce-key']).toBe('user-2');
    expect(Date.parse(header(third as SinkRequest, 'ce-time') ?? '')).toBeGreaterThan(Date.now() - 60_000);
  });

  it('delivers every record and commits every partition up to its end offset', async () => {
    const topic = await createTopic(brokers(), randomTopic('all'));
    const sink = closeAfterTest(await startSinkServer());
    await produceRecords(brokers(), topic, keyedRecords(1200));
    const dispatcher = await startTestDispatcher({ bootstrapServers: brokers(), topics: topic, sink: sink.url, ordering: 'unordered' });
    await waitFor(() => sink.answeredIds().size >= 1200, { message: () => `${sink.answeredIds().size} of 1200 delivered` });
    const ends = await endOffsets(brokers(), topic);
    await waitFor(async () => {
      const committed = await committedOffsets(brokers(), dispatcher.group, topic);
      return [...ends].every(([p, end]) => committed.get(p) === end);
    }, { message: 'committed offsets did not reach the end offsets' });
    expect(dispatcher.stats()).toMatchObject({ delivered: 1200, deadLettered: 0, discarded: 0 });
    const bodies = new Set(sink.requests.map((r) => (JSON.parse(r.body.toString()) as { id: string }).id));
    expect(bodies.size).toBe(1200);
  });

  it('initialOffset latest, as Knative: offsets start at the ends before start() resolves, so nothing older is sent and nothing newer is skipped', async () => {
    const topic = await createTopic(brokers(), randomTopic('latest'));
    const sink = closeAfterTest(await startSinkServer());
    await produceRecords(brokers(), topic, keyedRecords(60, 'old'));
    const before = await endOffsets(brokers(), topic);
    const dispatcher = await startTestDispatcher({ bootstrapServers: brokers(), topics: topic, sink: sink.url, ordering: 'unordered', initialOffset: 'latest' });
    // Committed at the ends already, before any new record (left to the consumer, "latest" was
    // resolved at its first fetch, and records produced before that were skipped).
    expect(await committedOffsets(brokers(), dispatcher.group, topic)).toEqual(before);
    await produceRecords(brokers(), topic, keyedRecords(60, 'new'));
    await waitFor(() => sink.answeredIds().size >= 60, { message: () => `${sink.answeredIds().size} of 60 delivered` });
    const bodies = sink.requests.map((r) => (JSON.parse(r.body.toString()) as { id: string }).id);
    expect(new Set(bodies).size).toBe(60);
    expect(bodies.every((id) => id.startsWith('new'))).toBe(true);
  });
});

describe('dispatcher: ordered and unordered delivery', () => {
  it('ordered: one request at a time per partition, in offset order', async () => {
    const topic = await createTopic(brokers(), randomTopic('ordered'));
    const sink = closeAfterTest(await startSinkServer({ responder: (r) => ({ delayMs: r.seq % 3 }) }));
    await produceRecords(brokers(), topic, keyedRecords(300));
    await startTestDispatcher({ bootstrapServers: brokers(), topics: topic, sink: sink.url, ordering: 'ordered' });
    await waitFor(() => sink.answeredIds().size >= 300, { message: () => `${sink.answeredIds().size} of 300 delivered` });

    const perPartition = new Map<number, SinkRequest[]>();
    for (const request of sink.requests) {
      const [partition] = idOf(request);
      perPartition.set(partition, [...(perPartition.get(partition) ?? []), request]);
    }
    expect(perPartition.size).toBeGreaterThan(1);
    for (const [, requests] of perPartition) {
      expect(requests.map((r) => idOf(r)[1])).toEqual(requests.map((_, i) => i));
      for (let i = 1; i < requests.length; i++) {
        expect((requests[i] as SinkRequest).startedAt).toBeGreaterThanOrEqual((requests[i - 1] as SinkRequest).endedAt ?? Infinity);
      }
    }
  });

  it('unordered: keeps delivering past a slow record, and does not commit past it until it is answered', async () => {
    const topic = await createTopic(brokers(), randomTopic('unordered'));
    const slowId = 'partition:0/offset:0';
    let slowAnswered = false;
    const sink = closeAfterTest(await startSinkServer({
      responder: (r) => {
        if (header(r, 'ce-id') !== slowId || slowAnswered) return undefined;
        slowAnswered = true;
        return { delayMs: 4_000 };
      },
    }));
    await produceRecords(brokers(), topic, [
      ...Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: `{"i":${i}}`, partition: 0 })),
      ...Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `{"i":${i}}`, partition: 1 })),
    ]);
    const dispatcher = await startTestDispatcher({ bootstrapServers: brokers(), topics: topic, sink: sink.url, ordering: 'unordered', maxInFlightPerPartition: 8 });
    const { group } = dispatcher;

    // Records after the slow one in the same partition are answered while it is still in flight.
    await waitFor(() => {
      const answered = sink.answeredIds();
      const rest = Array.from({ length: 49 }, (_, i) => `/apis/v1/namespaces/default/kafkasources/speed-layer#${topic} partition:0/offset:${i + 1}`);
      return rest.every((id) => answered.has(id));
    }, { message: 'records behind the slow one were not delivered while it was pending' });
    const slow = sink.requests.find((r) => header(r, 'ce-id') === slowId);
    expect(slow?.endedAt).toBeUndefined();

    // Partition 1 gets committed to its end, which shows commits ran; partition 0 stays at the slow record.
    await waitFor(async () => (await committedOffsets(brokers(), group, topic)).get(1) === 20, { message: 'partition 1 not committed' });
    expect((await committedOffsets(brokers(), group, topic)).get(0)).toBeLessThanOrEqual(0);

    await waitFor(() => sink.requests.find((r) => header(r, 'ce-id') === slowId)?.endedAt !== undefined, { timeoutMs: 15_000 });
    await waitFor(async () => (await committedOffsets(brokers(), group, topic)).get(0) === 50, { message: 'partition 0 not committed after the slow record' });
  });
});

describe('dispatcher: batch mode (extension)', () => {
  it('posts application/cloudevents-batch+json arrays of at most batchSize structured events', async () => {
    const topic = await createTopic(brokers(), randomTopic('batch'));
    const sink = closeAfterTest(await startSinkServer());
    await produceRecords(brokers(), topic, keyedRecords(240).map((r) => ({ ...r, headers: { 'content-type': 'application/json' } })));
    await startTestDispatcher({ bootstrapServers: brokers(), topics: topic, sink: sink.url, ordering: 'unordered', batchSize: 10 });
    const events = (): Record<string, unknown>[] => sink.requests.flatMap((r) => JSON.parse(r.body.toString()) as Record<string, unknown>[]);
    await waitFor(() => new Set(events().map((e) => `${String(e.subject)}`)).size >= 240, { message: () => `${events().length} of 240 events` });

    for (const request of sink.requests) {
      expect(request.headers['content-type']).toBe('application/cloudevents-batch+json');
      const batch = JSON.parse(request.body.toString()) as unknown[];
      expect(batch.length).toBeGreaterThan(0);
      expect(batch.length).toBeLessThanOrEqual(10);
    }
    expect(sink.requests.length).toBeLessThan(240);
    const [first] = events();
    expect(first).toMatchObject({
      specversion: '1.0',
      type: 'dev.knative.kafka.event',
      source: `/apis/v1/namespaces/default/kafkasources/speed-layer#${topic}`,
      datacontenttype: 'application/json',
    });
    expect(first?.data).toEqual({ id: expect.stringMatching(/^r\d+$/) });
    expect(first?.key).toMatch(/^user-\d+$/);
  });
});
