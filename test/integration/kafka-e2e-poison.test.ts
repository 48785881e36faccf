import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { EventRecord } from '../../local/kafka/produce.js';
import { chunks, DISPATCHER_RETRY, duplicateFigures, startKafkaE2e, type KafkaE2e } from '../helpers/kafka-e2e.js';
import { figureTests } from '../helpers/kafka-e2e-figures.js';
import { recordKey, REPLICA_UNREACHABLE } from '../helpers/kafka-e2e-router.js';
import { parseKafkaEventId } from '../helpers/kafka-sink-server.js';
import { waitFor } from '../helpers/stack.js';

/**
 * Issue 8, a poison event end to end: the real broker, the dispatcher (KafkaSource's stand-in, a
 * child process, with a dead-letter sink as in the cluster) and two real ingest replicas. Poison
 * records are produced into the middle of user_events, keyed by a user whose valid events follow
 * them, so they share a partition with those events:
 *
 * - envelope poisons (the ingest answers 400): a final no, tried once, straight to the dead-letter sink;
 * - a crash poison that kills (as kill -9: buffer lost) whichever replica it reaches, every time:
 *   tried exactly retry + 1 times, then dead-lettered with the dispatcher's reason (502), and its
 *   partition goes on;
 * - invalid events (well formed; the ingest dead-letters them itself and answers 200): tried once,
 *   in dead_letter_events with their reason, never at the dead-letter sink.
 *
 * Every valid record is stored exactly once in every table and view (the checks the other Kafka
 * end-to-end tests make), and the group's offsets reach the end of every partition.
 *
 * Why it is deterministic: the envelope and invalid poisons go in the first half of the stream,
 * which is drained before the crash poison is produced, so no crash touches them. The crash poison
 * is produced alone and the second half only once its first attempt has crashed a replica, so a
 * valid record can be in flight at no more than the remaining DISPATCHER_RETRY crashes: fewer than
 * its DISPATCHER_RETRY + 1 attempts. The router answers each crash only once the replica is back,
 * so one replica is always up.
 */
const SEED = 23;
const CRASH_HEADER = 'x-poison';

let e2e: KafkaE2e;
let figures: Awaited<ReturnType<typeof duplicateFigures>> | undefined;
let victim: string;
/** The victim's valid events produced after the crash poison (same partition, later offsets). */
let laterEvents: string[] = [];

type Poison = { readonly name: string; readonly record: EventRecord };
let envelopePoisons: (Poison & { readonly code: string })[] = [];
let invalidPoisons: (Poison & { readonly reason: string })[] = [];
let crashPoison: Poison;

const valueOf = (p: Poison) => String(p.record.value);
const dlsRequestsOf = (p: Poison) => (e2e.deadLetterSink?.requests ?? []).filter((r) => r.body.toString() === valueOf(p));

beforeAll(async () => {
  const t0 = Date.now();
  e2e = await startKafkaE2e({ seed: SEED, users: 50, hours: 4, replicas: 2, commitInterval: 'PT0.5S', maxInFlight: 64, deadLetterSink: true });
  const [first, second] = chunks(e2e.gen.records, 2) as [typeof e2e.gen.records, typeof e2e.gen.records];

  // The victim: the user with the most events in the second half who also has events in the first.
  const eventsOf = (records: typeof first) => {
    const by = new Map<string, string[]>();
    for (const r of records) if (r.kind === 'event') by.set(r.event.user_id, [...(by.get(r.event.user_id) ?? []), r.id]);
    return by;
  };
  const before = eventsOf(first);
  [victim, laterEvents] = [...eventsOf(second)].filter(([u]) => before.has(u)).sort((a, b) => b[1].length - a[1].length)[0]!;
  const template = first.find((r) => r.kind === 'event' && r.event.user_id === victim)!;
  const like = (changes: Record<string, unknown>) => JSON.stringify({ ...(template.kind === 'event' ? template.event : {}), event_id: e2e.rnd.uuid(), ...changes });

  const structured = { 'content-type': 'application/cloudevents+json' };
  envelopePoisons = [
    { name: 'structured mode, body not JSON', code: 'invalid_json', record: { key: victim, value: 'poison: this is not a CloudEvent {', headers: structured } },
    { name: 'structured mode, no specversion', code: 'missing_attribute', record: { key: victim, value: JSON.stringify({ id: 'poison-1', source: 'poison', type: 'user_event', data: {} }), headers: structured } },
  ];
  invalidPoisons = [
    // Binary mode (what KafkaSource makes of a plain record): data that is not JSON is an invalid event, not an envelope error.
    { name: 'data not JSON', reason: 'invalid_json', record: { key: victim, value: 'poison: not JSON {' } },
    { name: 'unknown event type', reason: 'unknown_type', record: { key: victim, value: like({ event_type: 'teleport' }) } },
    // (An extra field is no poison any more: it is stored with a warning, docs/data-quality.md.)
    { name: 'event_id not a UUID', reason: 'schema_violation', record: { key: victim, value: like({ event_id: 'poison-not-a-uuid' }) } },
  ];
  // Looks like a valid event of the victim's: stored, it would show as unexpected.
  crashPoison = { name: 'crashes the replica', record: { key: victim, value: like({}), headers: { [CRASH_HEADER]: 'crash' } } };
  e2e.crashReplicaOn((headers) => headers[`ce-kafkaheader${CRASH_HEADER.replace('-', '')}`] === 'crash');
  e2e.note(`${e2e.gen.records.length} records; victim ${victim} with ${laterEvents.length} events after the crash poison`);

  try {
    const mid = Math.floor(first.length / 2);
    await e2e.produce(first.slice(0, mid));
    await e2e.produceRaw('user_events', [...envelopePoisons, ...invalidPoisons].map((p) => p.record));
    await e2e.produce(first.slice(mid));
    await e2e.startDispatcher();
    await e2e.waitDrained();
    e2e.note('first half drained (envelope and invalid poisons in it)');

    await e2e.produceRaw('user_events', [crashPoison.record]);
    await waitFor(() => (e2e.router.crashes().size > 0 ? true : undefined), 'the crash poison reaches a replica', 60_000, 20);
    await e2e.produce(second);
    e2e.note('second half produced while the crash poison is retried');
    await e2e.waitDrained();
    await e2e.waitSettled();
  } catch (error) {
    console.log(`kafka-e2e poison failed after ${((Date.now() - t0) / 1000).toFixed(1)} s:\n${e2e.summary()}`);
    throw error;
  }
  figures = await duplicateFigures(e2e);
  const [crashKey, crashAttempts] = [...e2e.router.crashes()][0]!;
  console.log(`kafka-e2e poison (seed ${SEED}), ${((Date.now() - t0) / 1000).toFixed(1)} s:\n${e2e.timeline.join('\n')}\n` +
    `crash poison ${crashKey}: ${crashAttempts} attempts; dead-letter sink: ${e2e.deadLetterSink?.requests.length} requests; ` +
    `failed answers to valid records (in flight on a crashed replica, retried): ${figures.failedAnswers - crashAttempts - envelopePoisons.length}\n${JSON.stringify(figures, null, 2)}`);
}, 200_000);

afterAll(async () => {
  if (e2e && !figures) console.log(`kafka-e2e poison did not finish:\n${e2e.summary()}`);
  await e2e?.stop();
});

describe('Kafka end to end: poison records mid-stream', () => {
  test(`the crash poison: exactly ${DISPATCHER_RETRY + 1} attempts, each crashed the replica it reached, then the dead-letter sink with the dispatcher's reason`, () => {
    const crashes = e2e.router.crashes();
    expect(crashes.size).toBe(1);
    const [key, crashed] = [...crashes][0]!;
    expect(crashed).toBe(DISPATCHER_RETRY + 1);
    expect(e2e.router.deliveriesOf(key)).toBe(DISPATCHER_RETRY + 1);
    const dead = dlsRequestsOf(crashPoison);
    expect(dead).toHaveLength(1);
    expect(recordKey(dead[0]!.headers)).toBe(key);
    expect(dead[0]!.headers).toMatchObject({
      'ce-type': 'dev.knative.kafka.event',
      'ce-key': victim,
      'ce-kafkaheaderxpoison': 'crash',
      'ce-knativeerrordest': e2e.router.url,
      'ce-knativeerrorcode': '502',
    });
    expect(Buffer.from(String(dead[0]!.headers['ce-knativeerrordata']), 'base64').toString()).toBe(`${REPLICA_UNREACHABLE}: the replica crashed`);
    expect(e2e.replicas.every((r) => r.up)).toBe(true);
  });

  test('the envelope poisons: answered 400 once, never retried, straight to the dead-letter sink with the ingest\'s answer', () => {
    for (const p of envelopePoisons) {
      const dead = dlsRequestsOf(p);
      expect(dead, p.name).toHaveLength(1);
      expect(e2e.router.deliveriesOf(recordKey(dead[0]!.headers)), p.name).toBe(1);
      expect(dead[0]!.headers, p.name).toMatchObject({ 'ce-knativeerrorcode': '400', 'ce-knativeerrordest': e2e.router.url, 'ce-key': victim });
      const answer = JSON.parse(Buffer.from(String(dead[0]!.headers['ce-knativeerrordata']), 'base64').toString()) as { code: string };
      expect(answer.code, p.name).toBe(p.code);
    }
  });

  test('the invalid-event poisons: delivered once, in dead_letter_events with their reason, never at the dead-letter sink', async () => {
    const rows = await e2e.stack.query<{ ce_source: string; ce_id: string; reason: string; payload: string }>(
      'SELECT ce_source, ce_id, reason, payload FROM {db}.dead_letter_events FINAL');
    for (const p of invalidPoisons) {
      const mine = rows.filter((r) => r.payload === valueOf(p));
      expect(mine.map((r) => r.reason), p.name).toEqual([p.reason]);
      expect(e2e.router.deliveriesOf(`${mine[0]!.ce_source} ${mine[0]!.ce_id}`), p.name).toBe(1);
      expect(dlsRequestsOf(p), p.name).toEqual([]);
    }
  });

  test('the dead-letter sink got the envelope and crash poisons once each, and nothing else', () => {
    const bodies = (e2e.deadLetterSink?.requests ?? []).map((r) => r.body.toString()).sort();
    expect(bodies).toEqual([...envelopePoisons, crashPoison].map(valueOf).sort());
  });

  test('the poisons share a partition with the victim\'s later events; that partition resumed: all of them stored once, committed to its end', async () => {
    const crashDead = dlsRequestsOf(crashPoison)[0]!;
    const [partition, offset] = parseKafkaEventId(String(crashDead.headers['ce-id']));
    const partitions = [
      ...envelopePoisons.map((p) => parseKafkaEventId(String(dlsRequestsOf(p)[0]!.headers['ce-id']))[0]),
      ...(await e2e.stack.query<{ ce_id: string }>(`SELECT ce_id FROM {db}.dead_letter_events FINAL WHERE payload IN (${invalidPoisons.map((_, i) => `{p${i}:String}`).join(',')})`,
        Object.fromEntries(invalidPoisons.map((p, i) => [`p${i}`, valueOf(p)])))).map((r) => parseKafkaEventId(r.ce_id)[0]),
    ];
    expect(partitions).toEqual(Array.from({ length: envelopePoisons.length + invalidPoisons.length }, () => partition));
    const [c] = (await e2e.committed()).filter((o) => o.topic === 'user_events' && o.partition === partition);
    expect(c!.end - (offset + 1)).toBeGreaterThanOrEqual(laterEvents.length);
    expect(c!.committed).toBe(c!.end);
    expect(laterEvents.length).toBeGreaterThan(5);
    const stored = await e2e.stack.query<{ id: string; n: string }>(
      'SELECT toString(event_id) AS id, sum(sign) AS n FROM {db}.user_events_realtime WHERE user_id = {u:String} GROUP BY event_id', { u: victim });
    const net = new Map(stored.map((r) => [r.id, Number(r.n)]));
    expect(laterEvents.filter((id) => net.get(id) !== 1)).toEqual([]);
  });

  figureTests(() => e2e, () => ({ ingestDeadLetters: invalidPoisons.map((p) => ({ reason: p.reason, payload: valueOf(p) })) }));
});
