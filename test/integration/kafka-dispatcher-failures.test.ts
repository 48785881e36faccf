import { describe, expect, it } from 'vitest';
import { freePort } from '../../local/kafka/ports.js';
import { closeAfterTest, header, startTestDispatcher } from '../helpers/kafka-dispatcher.js';
import { spawnDispatcher } from '../helpers/kafka-dispatcher-process.js';
import { committedOffsets, consumeAll, createTopic, endOffsets, produceRecords, randomTopic, testBrokers, type TestRecord } from '../helpers/kafka-env.js';
import { parseKafkaEventId, startSinkServer, type SinkRequest } from '../helpers/kafka-sink-server.js';
import { waitFor } from '../../local/wait-for.js';

const brokers = (): string => testBrokers();

function bodyOf(request: SinkRequest): string {
  return request.body.toString();
}

async function committedReachEnd(group: string, topic: string): Promise<boolean> {
  const [ends, committed] = await Promise.all([endOffsets(brokers(), topic), committedOffsets(brokers(), group, topic)]);
  return [...ends].every(([p, end]) => end === 0 || committed.get(p) === end);
}

describe('dispatcher: retries and dead letters', () => {
  it('retries retryable answers with linear backoff, dead-letters after the last retry, and sends final refusals straight to the dead-letter sink and topic', async () => {
    const topic = await createTopic(brokers(), randomTopic('retry'));
    const deadLetterTopic = randomTopic('dlq');
    const flakyAnswers = [503, 503];
    const sink = closeAfterTest(await startSinkServer({
      responder: (r) => {
        const body = bodyOf(r);
        if (body === '"flaky"') return { status: flakyAnswers.shift() ?? 200 };
        if (body === '"broken"') return { status: 500, body: 'boom' };
        if (body === '"rejected"') return { status: 400, body: 'bad envelope' };
        return undefined;
      },
    }));
    const dls = closeAfterTest(await startSinkServer());
    await produceRecords(brokers(), topic, ['"ok"', '"flaky"', '"broken"', '"rejected"'].map((value, i) => ({
      key: `user-${i}`, value, partition: 0, headers: { 'content-type': 'application/json', 'x-origin': 'test' },
    })));
    const dispatcher = await startTestDispatcher({
      bootstrapServers: brokers(), topics: topic, sink: sink.url, ordering: 'unordered', deadLetterTopic,
      delivery: { retry: 3, backoffPolicy: 'linear', backoffDelay: 'PT0.1S', deadLetterSink: dls.url },
    });

    await waitFor(() => dls.requests.length >= 2 && sink.answeredIds().size >= 2, { message: () => `dls ${dls.requests.length}, ok ${sink.answeredIds().size}` });
    const attempts = (value: string): SinkRequest[] => sink.requests.filter((r) => bodyOf(r) === value);
    const gaps = (requests: SinkRequest[]): number[] => requests.slice(1).map((r, i) => r.startedAt - ((requests[i] as SinkRequest).endedAt ?? 0));

    expect(attempts('"ok"')).toHaveLength(1);
    expect(attempts('"flaky"').map((r) => r.status)).toEqual([503, 503, 200]);
    const flakyGaps = gaps(attempts('"flaky"'));
    expect(flakyGaps[0]).toBeGreaterThanOrEqual(90);
    expect(flakyGaps[1]).toBeGreaterThanOrEqual(190);
    // 1 attempt + 3 retries, waiting 0.1 s, 0.2 s, 0.3 s.
    expect(attempts('"broken"')).toHaveLength(4);
    expect(gaps(attempts('"broken"'))[2]).toBeGreaterThanOrEqual(290);
    // A 400 is a final answer: no retry.
    expect(attempts('"rejected"')).toHaveLength(1);

    const dead = new Map(dls.requests.map((r) => [bodyOf(r), r]));
    const broken = dead.get('"broken"');
    const original = attempts('"broken"')[0] as SinkRequest;
    expect(broken?.headers).toMatchObject({
      'ce-id': header(original, 'ce-id'),
      'ce-source': header(original, 'ce-source'),
      'ce-type': 'dev.knative.kafka.event',
      'ce-kafkaheaderxorigin': 'test',
      'ce-knativeerrorcode': '500',
      'ce-knativeerrordest': sink.url,
      'ce-knativeerrordata': Buffer.from('boom').toString('base64'),
      'content-type': 'application/json',
    });
    expect(dead.get('"rejected"')?.headers).toMatchObject({
      'ce-knativeerrorcode': '400',
      'ce-knativeerrordata': Buffer.from('bad envelope').toString('base64'),
    });

    const dlq = await consumeAll(brokers(), deadLetterTopic, 2);
    const dlqByValue = new Map(dlq.map(({ message }) => [message.value?.toString(), message]));
    // The topic gets what KafkaSink writes for the dead-lettered event: Kafka binary content mode,
    // every attribute as ce_<name>, content-type, the data as the value, keyed by partitionkey.
    const dlqBroken = dlqByValue.get('"broken"');
    expect(dlqBroken?.key?.toString()).toBe('user-2');
    const headersOf = (m: typeof dlqBroken) => Object.fromEntries(Object.entries(m?.headers ?? {}).map(([k, v]) => [k, String(v)]));
    expect(headersOf(dlqBroken)).toEqual({
      ce_specversion: '1.0',
      ce_id: header(original, 'ce-id'),
      ce_source: header(original, 'ce-source'),
      ce_type: 'dev.knative.kafka.event',
      ce_subject: header(original, 'ce-subject'),
      ce_time: header(original, 'ce-time'),
      ce_key: 'user-2',
      ce_partitionkey: 'user-2',
      ce_kafkaheaderxorigin: 'test',
      ce_knativeerrordest: sink.url,
      ce_knativeerrorcode: '500',
      ce_knativeerrordata: Buffer.from('boom').toString('base64'),
      'content-type': 'application/json',
    });
    expect(headersOf(dlqByValue.get('"rejected"'))).toMatchObject({ ce_knativeerrorcode: '400', ce_partitionkey: 'user-3' });

    await waitFor(() => committedReachEnd(dispatcher.group, topic), { message: 'offsets not committed after dead-lettering' });
    expect(dispatcher.stats()).toMatchObject({ delivered: 2, deadLettered: 2, discarded: 0 });
  });

  it('holds records while the sink is down (retries exhausted, no dead-letter sink) and delivers them once it is back', async () => {
    const topic = await createTopic(brokers(), randomTopic('down'));
    const port = await freePort();
    const records: TestRecord[] = Array.from({ length: 60 }, (_, i) => ({ key: `u${i % 7}`, value: `{"n":${i}}` }));
    await produceRecords(brokers(), topic, records);
    const dispatcher = await startTestDispatcher({
      bootstrapServers: brokers(), topics: topic, sink: `http://127.0.0.1:${port}/`, ordering: 'ordered',
      delivery: { retry: 1, backoffDelay: 'PT0.05S' },
    });
    await waitFor(() => dispatcher.stats().blockedRounds > 0, { message: 'dispatcher never gave up a round' });
    expect([...(await committedOffsets(brokers(), dispatcher.group, topic)).values()].every((o) => o < 0)).toBe(true);
    expect(dispatcher.stats()).toMatchObject({ delivered: 0, discarded: 0 });

    const sink = closeAfterTest(await startSinkServer({ port }));
    await waitFor(() => sink.answeredIds().size >= 60, { timeoutMs: 45_000, message: () => `${sink.answeredIds().size} of 60 after the sink came back` });
    await waitFor(() => committedReachEnd(dispatcher.group, topic), { message: 'offsets not committed after recovery' });
    expect(dispatcher.stats().discarded).toBe(0);
  });
});

describe('dispatcher: commits only what was answered', () => {
  it('after kill -9 mid-stream, committed offsets cover only 2xx-answered records, and a restart delivers every record', async () => {
    const topic = await createTopic(brokers(), randomTopic('crash'));
    const group = randomTopic('crash-group');
    const total = 1500;
    await produceRecords(brokers(), topic, Array.from({ length: total }, (_, i) => ({ key: `user-${i % 101}`, value: `{"n":${i}}` })));
    // Fast until 300 are answered, then slow, so the kill surely lands mid-stream with requests in flight.
    let slow = false;
    const sink = closeAfterTest(await startSinkServer({ responder: () => ({ delayMs: slow ? 2_000 : 10 }) }));
    const args = ['--brokers', brokers(), '--topics', topic, '--sink', sink.url, '--group', group, '--ordering', 'unordered',
      '--max-in-flight-per-partition', '4', '--commit-interval', 'PT0.1S', '--session-timeout', 'PT6S', '--stats-interval', 'PT0S'];

    const first = await spawnDispatcher(args);
    await waitFor(() => sink.answeredIds().size >= 300, { message: () => `${sink.answeredIds().size} answered before the kill` });
    slow = true;
    await waitFor(async () => [...(await committedOffsets(brokers(), group, topic)).values()].some((o) => o > 0), { message: 'nothing committed before the kill' });
    await first.signal('SIGKILL');
    slow = false;
    const answeredAtKill = new Set(sink.requests.filter((r) => r.status === 200).map((r) => header(r, 'ce-id')));

    const committed = await committedOffsets(brokers(), group, topic);
    const ends = await endOffsets(brokers(), topic);
    expect([...committed.values()].some((o) => o > 0)).toBe(true);
    expect([...ends].some(([p, end]) => (committed.get(p) ?? -1) < end)).toBe(true);
    for (const [partition, offset] of committed) {
      for (let o = 0; o < offset; o++) expect(answeredAtKill.has(`partition:${partition}/offset:${o}`)).toBe(true);
    }

    const second = await spawnDispatcher(args);
    const allIds = [...ends].flatMap(([p, end]) => Array.from({ length: end }, (_, o) => `partition:${p}/offset:${o}`));
    expect(allIds).toHaveLength(total);
    await waitFor(() => {
      const answered = new Set(sink.requests.filter((r) => r.status === 200).map((r) => header(r, 'ce-id')));
      return allIds.every((id) => answered.has(id));
    }, { timeoutMs: 60_000, message: () => `${sink.answeredIds().size} of ${total} answered after restart` });
    // Graceful stop: finishes in flight, commits, exits 0.
    expect(await second.signal('SIGTERM')).toBe(0);
    await waitFor(() => committedReachEnd(group, topic), { message: 'not committed to the end after a graceful stop' });
    const perRecord = new Map<string, number>();
    for (const r of sink.requests) perRecord.set(header(r, 'ce-id') ?? '', (perRecord.get(header(r, 'ce-id') ?? '') ?? 0) + 1);
    expect(sink.requests.map((r) => parseKafkaEventId(header(r, 'ce-id') ?? '')[0]).every((p) => ends.has(p))).toBe(true);
    expect(perRecord.size).toBe(total);
  });
});
