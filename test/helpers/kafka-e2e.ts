import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEAD_LETTER_TOPIC } from '../../functions/adapters/dead-letter-topic.js';
import { groundTruth, type GroundTruth } from '../../generator/ground-truth.js';
import { byTopic } from '../../generator/kafka-records.js';
import { createRandom, type Random } from '../../generator/random.js';
import { generate, type Generated, type GeneratedRecord } from '../../generator/simulate.js';
import { createKafkaClient } from '../../local/kafka/client.js';
import { createEventProducer, type EventProducer, type EventRecord } from '../../local/kafka/produce.js';
import { startKafkaBroker, type KafkaBroker } from '../../local/kafka/start-broker.js';
import { ensureTopics } from '../../local/kafka/topics.js';
import { startClickHouseServer } from './clickhouse-server.js';
import { spawnDispatcherChild, type DispatcherChild } from './kafka-e2e-children.js';
import { createProcessReplicaSlot, createReplicaSlot, type ReplicaSlot } from './kafka-e2e-replicas.js';
import { recordKey, startRouter, type Router } from './kafka-e2e-router.js';
import { testLogger } from './kafka-env.js';
import { startSinkServer, type SinkRequest, type SinkServer } from './kafka-sink-server.js';
import { startStack, waitFor, type Stack } from './stack.js';

/**
 * The harness of the Kafka end-to-end tests (test/integration/kafka-e2e*.test.ts, issue 4): the
 * whole speed layer against a real broker, with every part that can crash under the test's control.
 *
 *   generator ─► broker (own, per test file: the topics must be named user_events/transactions)
 *     ─► dispatcher (a child process: kill -9 is a crash) ─► router (kafka-e2e-router.ts)
 *     ─► ingest replica slots (in this process: chDB allows one process per data directory)
 *     ─► embedded ClickHouse ◄─ sessionizer (every 500 ms), analytics API
 *
 * Killing a replica closes its server's connections and calls `abort()` (the buffer is lost,
 * waiting requests fail, a batch already being written may still land); a fresh replica (new
 * memory, so it has seen nothing) then listens on the same port.
 *
 * With `replicaProcesses` the replicas are OS processes instead (`functions/ingest/main.ts`, as
 * `npm run ingest` runs it) and ClickHouse is a real server (test/helpers/clickhouse-server.ts)
 * shared by them and this process's sessionizer and analytics: killing a replica is SIGKILL.
 *
 * The broker runs with time retention off (see startRetentionlessBroker). Environment knobs for
 * debugging: KAFKA_E2E_VERBOSE=1 prints the timeline as it happens (and progress every 5 s),
 * KAFKA_E2E_KEEP_DATA=1 keeps the broker's folder, TEST_LOG_LEVEL=info shows the replicas' and the
 * dispatcher's logs.
 */
export const RANGE_START_MS = Date.parse('2026-03-02T08:00:00.000Z');

export interface KafkaE2eOptions {
  readonly seed: number;
  readonly users: number;
  readonly hours: number;
  /** Ingest replica slots behind the router. */
  readonly replicas: number;
  /** How often the dispatcher commits; the longer, the more a crash redelivers. */
  readonly commitInterval: string;
  /** Requests in flight from the dispatcher (unordered); with the commit interval, bounds what a crash redelivers. */
  readonly maxInFlight: number;
  /**
   * Give the dispatcher a dead-letter sink (an HTTP server that records what it gets), as the
   * cluster's KafkaSource has. Without one (the default) a record whose retries are exhausted is
   * held and retried until a replica takes it, so no fault can make the dispatcher drop a record.
   */
  readonly deadLetterSink?: boolean;
  /**
   * Ingest replicas as OS processes (`functions/ingest/main.ts` run by tsx) against a real
   * ClickHouse server the harness starts; `kill()` is SIGKILL. Default: in this process, on the
   * embedded engine.
   */
  readonly replicaProcesses?: boolean;
}

async function startRetentionlessBroker(dataDir: string): Promise<KafkaBroker> {
  // Retention off on this broker. The generator's records carry their event time (hours to months
  // ago) as the Kafka record timestamp, and the local broker's time retention (24 h) deletes such
  // records at its first retention check, 30 s after start: a dispatcher that restarts from a
  // committed offset then gets OFFSET_OUT_OF_RANGE, kafkajs resets it to the new log start, and the
  // records it had not delivered yet are silently gone (seen here; see the report of issue 4).
  return startKafkaBroker({ port: 0, dataDir, logger: testLogger(), serverOverrides: { 'log.retention.ms': -1 } });
}

/** Log start, committed (-1: none) and end offset per partition of a topic, for a group. */
async function offsets(brokers: string, group: string, topic: string): Promise<{ partition: number; start: number; committed: number; end: number }[]> {
  const admin = createKafkaClient(brokers, { clientId: 'test-e2e-admin' }).admin();
  await admin.connect();
  try {
    const [ends, [committed]] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId: group, topics: [topic] })]);
    const c = new Map((committed?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    return ends.map((p) => ({ partition: p.partition, start: Number(p.low), end: Number(p.high), committed: c.get(p.partition) ?? -1 }));
  } finally {
    await admin.disconnect();
  }
}

export const TOPICS = ['user_events', 'transactions'] as const;
/** The dispatcher's `delivery.retry`: a record is tried at most this + 1 times before it is dead-lettered (or held). */
export const DISPATCHER_RETRY = 3;

export interface KafkaE2e {
  readonly broker: KafkaBroker;
  readonly stack: Stack;
  readonly router: Router;
  readonly replicas: readonly ReplicaSlot[];
  readonly gen: Generated;
  readonly truth: GroundTruth;
  /** The analytics API's from/to covering the generated events. */
  readonly range: string;
  readonly group: string;
  readonly rnd: Random;
  /** Records per topic produced so far (generated and raw). */
  readonly produced: Record<(typeof TOPICS)[number], number>;
  /** Records produced with produceRaw (not the generator's), all topics. */
  readonly producedRaw: number;
  /** The dispatcher's dead-letter sink (option deadLetterSink). */
  readonly deadLetterSink: SinkServer | undefined;
  /** What happened when, for the report. */
  readonly timeline: string[];
  note(what: string): void;
  produce(records: readonly GeneratedRecord[]): Promise<void>;
  /** Records written by hand (a poison pill, say), to one of TOPICS. */
  produceRaw(topic: (typeof TOPICS)[number], records: readonly EventRecord[]): Promise<void>;
  /** The first request the dead-letter sink got for each record (`ce-source ce-id`). */
  dispatcherDeadLetters(): ReadonlyMap<string, SinkRequest>;
  /** Records of `topic` the dead-letter sink got. */
  dispatcherDeadLetteredOf(topic: string): number;
  /** Records matching `match` crash the ingest replica they are routed to, which then restarts (see Router.crashOn). */
  crashReplicaOn(match: Parameters<Router['crashOn']>[0]): void;
  startDispatcher(): Promise<void>;
  killDispatcher(): Promise<void>;
  /** Waits until `n` distinct records have been answered 2xx. */
  waitAnswered(n: number, timeoutMs?: number): Promise<void>;
  /** Every produced record answered 2xx (or taken by the dead-letter sink) and every offset committed to the end. */
  waitDrained(timeoutMs?: number): Promise<void>;
  /** The sessionizer has nothing left to cancel, write or close. */
  waitSettled(timeoutMs?: number): Promise<void>;
  committed(): Promise<{ topic: string; partition: number; start: number; committed: number; end: number }[]>;
  dispatcherOutput(): string;
  /** The timeline, the router's counts and the dispatcher's last log lines: what a failure report needs. */
  summary(): string;
  stop(): Promise<void>;
}

export async function startKafkaE2e(opts: KafkaE2eOptions): Promise<KafkaE2e> {
  const t0 = Date.now();
  const timeline: string[] = [];
  const note = (what: string) => {
    const line = `${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s  ${what}`;
    timeline.push(line);
    if (process.env.KAFKA_E2E_VERBOSE) console.log(line);
  };
  const dataDir = await mkdtemp(join(tmpdir(), 'speed-layer-kafka-e2e-'));
  // KAFKA_E2E_KEEP_DATA=1 keeps the broker's folder (its broker.log explains a broker that misbehaved).
  const cleanups: (() => Promise<unknown>)[] = [async () => (process.env.KAFKA_E2E_KEEP_DATA ? console.log(`kept ${dataDir}`) : rm(dataDir, { recursive: true, force: true }))];
  const stopAll = async () => {
    while (cleanups.length) await cleanups.pop()?.().catch((err: unknown) => console.warn('kafka-e2e cleanup:', (err as Error).message));
  };
  try {
    const broker = await startRetentionlessBroker(dataDir);
    cleanups.push(() => broker.stop());
    await ensureTopics(broker.brokers);
    note(`broker ${broker.brokers} up, topics created`);

    // Replaying hours in seconds with many requests in flight and crashes reorders events by minutes
    // of event time; the allowed lateness covers that (see test/e2e/ingest-to-analytics.test.ts).
    // Process replicas share ClickHouse with this process: a real server, not the embedded engine.
    const server = opts.replicaProcesses ? await startClickHouseServer() : undefined;
    if (server) {
      cleanups.push(() => server.stop());
      note(`ClickHouse server ${server.url} up`);
    }
    const stack = await startStack({
      ...(server ? { CLICKHOUSE_URL: server.url, CLICKHOUSE_DATA_DIR: '' } : {}),
      KAFKA_BROKERS: broker.brokers, BATCH_MAX_AGE_MS: 250, IDLE_TIMEOUT_MS: 3_000, ALLOWED_LATENESS_MS: 30 * 60_000, SESSIONIZER_INTERVAL_MS: 500,
    });
    cleanups.push(() => stack.stop());
    const gen = generate({ seed: opts.seed, users: opts.users, startMs: RANGE_START_MS, durationMs: opts.hours * 3600_000 });
    const truth = groundTruth(gen);
    await stack.seedUsers(gen.users);
    const range = `from=${new Date(truth.range.fromMs - 60_000).toISOString()}&to=${new Date(truth.range.toMs + 3600_000).toISOString()}`;

    const router = await startRouter(opts.replicas);
    cleanups.push(() => router.close());
    const replicas = Array.from({ length: opts.replicas }, (_, i) => (opts.replicaProcesses ? createProcessReplicaSlot : createReplicaSlot)(i, stack, router));
    cleanups.push(() => Promise.all(replicas.map((r) => r.stop())));
    // Processes start in parallel (each takes seconds); in-process replicas in order, as before.
    if (opts.replicaProcesses) await Promise.all(replicas.map((r) => r.start()));
    else for (const r of replicas) await r.start();
    note(`stack up: ${replicas.length} ingest replicas${opts.replicaProcesses ? ` (processes ${replicas.map((r) => r.pid).join(', ')})` : ''} behind the router ${router.url}`);

    const producer: EventProducer = createEventProducer(broker.brokers);
    cleanups.push(() => producer.disconnect());
    const produced = { user_events: 0, transactions: 0 };
    let producedRaw = 0;

    const deadLetterSink = opts.deadLetterSink ? await startSinkServer() : undefined;
    if (deadLetterSink) cleanups.push(() => deadLetterSink.close());
    const dispatcherDeadLetters = () => {
      const out = new Map<string, SinkRequest>();
      for (const r of deadLetterSink?.requests ?? []) {
        const key = recordKey(r.headers);
        if (!out.has(key)) out.set(key, r);
      }
      return out;
    };
    const dispatcherDeadLetteredOf = (topic: string) => [...dispatcherDeadLetters().keys()].filter((k) => k.slice(0, k.indexOf(' ')).endsWith(`#${topic}`)).length;
    // Records the dispatcher is done with: answered 2xx, or dead-lettered (never both without a redelivery).
    const doneOf = (topic: string) => router.answeredOf(topic) + dispatcherDeadLetteredOf(topic);

    const group = `e2e-${randomBytes(4).toString('hex')}`;
    const args = [
      '--brokers', broker.brokers, '--topics', TOPICS.join(','), '--sink', router.url, '--group', group,
      '--ordering', 'unordered', '--commit-interval', opts.commitInterval, '--session-timeout', 'PT6S',
      '--max-in-flight', String(opts.maxInFlight), '--drain-timeout', 'PT5S', '--stats-interval', 'PT0S', '--retry', String(DISPATCHER_RETRY), '--backoff-delay', 'PT0.2S',
      ...(deadLetterSink ? ['--dead-letter-sink', deadLetterSink.url] : []),
    ];
    let dispatcher: DispatcherChild | undefined;
    let dispatcherLog = '';
    cleanups.push(async () => { await dispatcher?.kill9(); });

    const committed = async () => (await Promise.all(TOPICS.map(async (topic) => (await offsets(broker.brokers, group, topic)).map((o) => ({ topic, ...o }))))).flat();

    if (process.env.KAFKA_E2E_VERBOSE) {
      const ticker = setInterval(() => note(`progress ${JSON.stringify(router.stats())} up=${replicas.map((r) => (r.up ? 1 : 0)).join('')}`), 5_000);
      cleanups.push(async () => clearInterval(ticker));
    }
    const e2e: KafkaE2e = {
      broker, stack, router, replicas, gen, truth, range, group, rnd: createRandom(opts.seed ^ 0x5eed), produced, timeline, note,
      get producedRaw() { return producedRaw; },
      deadLetterSink,
      async produce(records) {
        const t = byTopic(records);
        for (const topic of TOPICS) {
          await producer.send(topic, t[topic]);
          produced[topic] += t[topic].length;
        }
      },
      async produceRaw(topic, records) {
        await producer.send(topic, records);
        produced[topic] += records.length;
        producedRaw += records.length;
      },
      dispatcherDeadLetters,
      dispatcherDeadLetteredOf,
      crashReplicaOn(match) {
        router.crashOn(match, async (slot) => {
          await replicas[slot]!.kill();
          note(`ingest replica ${slot} crashed by a poison record`);
          await replicas[slot]!.start();
        });
      },
      async startDispatcher() {
        const started = Date.now();
        dispatcher = await spawnDispatcherChild(args);
        note(`dispatcher started (pid ${dispatcher.pid}, joined in ${Date.now() - started} ms)`);
      },
      async killDispatcher() {
        if (!dispatcher) return;
        dispatcherLog += dispatcher.output();
        await dispatcher.kill9();
        note(`dispatcher killed (kill -9) at ${router.answered().size} records answered`);
        dispatcher = undefined;
      },
      async waitAnswered(n, timeoutMs = 90_000) {
        await waitFor(() => (router.answered().size >= n ? true : undefined), `${n} records answered (have ${router.answered().size})`, timeoutMs, 50);
      },
      async waitDrained(timeoutMs = 120_000) {
        let last = '';
        try {
          await waitFor(async () => {
            const c = await committed();
            last = `answered or dead-lettered ${TOPICS.map((t) => `${t} ${doneOf(t)}/${produced[t]}`).join(', ')}; ` +
              `uncommitted ${JSON.stringify(c.filter((o) => o.end !== 0 && o.committed !== o.end))}`;
            if (TOPICS.some((t) => doneOf(t) < produced[t])) return undefined;
            return c.every((o) => o.end === 0 || o.committed === o.end) ? true : undefined;
          }, 'every record answered and committed', timeoutMs, 250);
        } catch (error) {
          throw new Error(`${(error as Error).message} (${last})`);
        }
        note(`drained: every record answered 2xx${deadLetterSink ? ' or dead-lettered' : ''} and every offset committed`);
      },
      async waitSettled(timeoutMs = 90_000) {
        // Every record was answered, so stored, before now: a run counts once its cursor is past it
        // (one that left the last second's rows for later has nothing to do, and is not settled).
        const drainedAt = Date.now();
        await waitFor(async () => {
          const run = await stack.sessionizer.runOnce();
          if (run.cursorMs < drainedAt || run.written || run.cancelled) return undefined;
          const [r] = await stack.query<{ open: string; closed: string; excess_e: string; excess_t: string }>(`
            SELECT (SELECT countIf(is_closed = 0 AND is_deleted = 0) FROM {db}.user_sessions_realtime FINAL) AS open,
                   (SELECT countIf(is_closed = 1 AND is_deleted = 0) FROM {db}.user_sessions_realtime FINAL) AS closed,
                   (SELECT count() FROM (SELECT event_id FROM {db}.user_events_realtime GROUP BY event_id HAVING sum(sign) > 1)) AS excess_e,
                   (SELECT count() FROM (SELECT transaction_id FROM {db}.transactions_realtime GROUP BY transaction_id HAVING sum(sign) > 1)) AS excess_t`);
          return r && Number(r.open) === 0 && Number(r.closed) > 0 && Number(r.excess_e) === 0 && Number(r.excess_t) === 0 ? true : undefined;
        }, 'the sessionizer to settle (no open session, no uncancelled copy, a run with nothing to do)', timeoutMs, 500);
        note('settled: sessions closed, every extra copy cancelled');
      },
      committed,
      dispatcherOutput: () => dispatcherLog + (dispatcher?.output() ?? ''),
      summary: () => `${timeline.join('\n')}\nrouter: ${JSON.stringify(router.stats())}\ndispatcher log (tail):\n${(dispatcherLog + (dispatcher?.output() ?? '')).slice(-5_000)}`,
      stop: stopAll,
    };
    return e2e;
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** Splits records into `n` consecutive chunks (time order kept, so each user's events stay in order). */
export function chunks<T>(items: readonly T[], n: number): T[][] {
  const size = Math.ceil(items.length / n);
  return Array.from({ length: n }, (_, i) => items.slice(i * size, (i + 1) * size)).filter((c) => c.length > 0);
}

/** The figures the tests report. */
export async function duplicateFigures(e2e: KafkaE2e) {
  const [r] = await e2e.stack.query<{ ev_rows: string; ev_cancels: string; tx_rows: string; tx_cancels: string; dl_rows: string; dl_final: string }>(`
    SELECT (SELECT countIf(sign = 1) FROM {db}.user_events_realtime) AS ev_rows,
           (SELECT countIf(sign = -1) FROM {db}.user_events_realtime) AS ev_cancels,
           (SELECT countIf(sign = 1) FROM {db}.transactions_realtime) AS tx_rows,
           (SELECT countIf(sign = -1) FROM {db}.transactions_realtime) AS tx_cancels,
           (SELECT count() FROM {db}.dead_letter_events) AS dl_rows,
           (SELECT count() FROM {db}.dead_letter_events FINAL) AS dl_final`);
  const s = e2e.router.stats();
  return {
    records: e2e.gen.records.length,
    events: e2e.truth.totals.events,
    transactions: e2e.truth.totals.transactions,
    invalid: e2e.truth.totals.invalid,
    deliveries: s.requests,
    failedAnswers: s.failedAnswers,
    redeliveries: s.redeliveries,
    redeliveredRecords: s.redeliveredRecords,
    redeliveredElsewhere: s.redeliveredElsewhere,
    meanAnswerMs: s.meanAnswerMs,
    droppedByReplicaDedupe: s.duplicates,
    storedEventRows: Number(r!.ev_rows),
    cancelledEventCopies: Number(r!.ev_cancels),
    storedTransactionRows: Number(r!.tx_rows),
    cancelledTransactionCopies: Number(r!.tx_cancels),
    deadLetterRows: Number(r!.dl_rows),
    deadLetterRowsFinal: Number(r!.dl_final),
  };
}

export { DEAD_LETTER_TOPIC };
