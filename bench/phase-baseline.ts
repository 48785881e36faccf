/** The baseline's phase: ClickHouse's own Kafka engine (bench/baseline.ts) on the same stream, same rate. */
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { ensureTopics, type EventProducer, type KafkaBroker } from '../local/kafka/index.js';
import type { BenchArgs } from './args.js';
import { say } from './bench-log.js';
import { freePortPair, spawnNode, waitFor, type Child } from './children.js';
import { drive, primedStream, runVerify, windowOf } from './drive.js';
import { kafkaLoad, retry } from './helpers.js';
import { createHttpClient } from './http-client.js';
import type { ProcMonitor } from './proc.js';
import { MARKER_PREFIX } from './readers.js';
import type { TheirsResult } from './run-types.js';

export async function runBaseline(args: BenchArgs, runDir: string, procs: ProcMonitor, children: Child[], broker: KafkaBroker, producer: EventProducer): Promise<TheirsResult> {
  const topics = { events: 'baseline_user_events', transactions: 'baseline_transactions' };
  await retry(() => ensureTopics(broker.brokers, [{ topic: topics.events }, { topic: topics.transactions }]), 5);
  const port = await freePortPair();
  const dataDir = join(runDir, 'baseline-clickhouse');
  const settings = { maxBlockSize: 10_000, flushIntervalMs: 2_000, consumers: args.baselineConsumers };
  let ready = false;
  say('starting the baseline: ClickHouse (chDB 26.7) Kafka engine tables + materialized views into the same sql/ schema…');
  const child = spawnNode('baseline', ['bench/baseline.ts', JSON.stringify({ dataDir, database: 'baseline', brokers: broker.brokers, topics, port, ...settings })], {
    logFile: join(runDir, 'baseline.log'), onLine: (l) => { if (l === 'ready') ready = true; },
  });
  children.push(child);
  procs.watch('baseline', child.pid);
  if (!(await waitFor(() => ready, 120_000))) throw new Error(`the baseline did not start in 120 s; see ${join(runDir, 'baseline.log')}`);
  const client = createHttpClient(4);
  const query = async (sql: string) => {
    const a = await client.post(new URL(`http://127.0.0.1:${port}/query`), {}, sql, 10_000);
    if (a.status !== 200) throw new Error(a.body);
    return a.body.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  };
  // Both Kafka tables must have joined their groups, else the first seconds would measure the join.
  const joined = await waitFor(async () => Number((await query('SELECT count() AS n FROM system.kafka_consumers WHERE length(assignments.partition_id) > 0'))[0]?.n) >= 2, 120_000, 1000);
  say(`baseline ready (pid ${child.pid}); consumers ${joined ? 'assigned' : 'NOT assigned after 120 s'}`);

  const log = createWriteStream(join(runDir, 'sent-baseline.tsv'));
  const stream = primedStream(args);
  const t0 = Date.now() + 500;
  const window = windowOf(args, t0);
  const load = kafkaLoad(broker, producer, topics, { log, t0Ms: t0, inWindow: window.contains }, procs, 'baseline-producer');
  let storedRows = 0;
  const phase = await drive({
    name: 'baseline', args: { ...args, users: 0 }, stream, t0, window, load, procs, procNames: ['baseline', 'broker', 'bench', ...(procs.names().includes('baseline-producer') ? ['baseline-producer'] : [])], log,
    fetchMarkers: async () => (await query(`SELECT DISTINCT product_id FROM baseline.product_performance WHERE product_id LIKE '${MARKER_PREFIX}%' AND minute >= now() - INTERVAL 5 MINUTE`)).map((r) => String(r.product_id)),
    inFlight: () => 0, analyticsInFlight: () => 0,
    acked: () => storedRows,
    poll: async () => {
      storedRows = Number((await query('SELECT (SELECT count() FROM baseline.user_events_realtime) + (SELECT count() FROM baseline.transactions_realtime) + (SELECT count() FROM baseline.dead_letter_events) AS n'))[0]?.n ?? 0);
    },
    drainedExtra: () => storedRows >= load.counters.sent,
    backlog: () => load.counters.sent - storedRows,
    threadPids: { baseline: child.pid },
  });
  client.close();
  say('stopping the baseline…');
  await child.stop(60_000);
  const verify = await runVerify(runDir, dataDir, 'baseline', join(runDir, 'sent-baseline.tsv'), phase, children);
  return { phase, verify, settings: { engine: 'Kafka table engine → materialized views → sql/ tables (chDB 26.7, embedded)', kafka_max_block_size: settings.maxBlockSize, kafka_flush_interval_ms: settings.flushIntervalMs, kafka_num_consumers: settings.consumers, kafka_handle_error_mode: 'stream', format: 'JSONEachRow' } };
}

