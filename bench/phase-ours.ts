/**
 * The speed layer's phase: `scripts/start.ts --rate 0` as the system under test (and in kafka mode
 * the KafkaSource-like dispatcher), driven until drained, stopped, verified, profiles summarized.
 */
import { copyFileSync, createWriteStream, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { EventProducer, KafkaBroker } from '../local/kafka/index.js';
import type { BenchArgs } from './args.js';
import { say } from './bench-log.js';
import { freePortPair, spawnNode, waitFor, type Child } from './children.js';
import { drive, primedStream, runVerify, windowOf } from './drive.js';
import { kafkaLoad, parseMetrics } from './helpers.js';
import { NODE_FLAGS } from '../functions/core/node-flags.js';
import { createHttpClient } from './http-client.js';
import { createBatchLoad, createHttpLoad, type Load } from './load.js';
import type { ProcMonitor } from './proc.js';
import { formatProfile, summarizeProfile, type ProfileSummary } from './profile.js';
import { createDashboardUsers } from './readers.js';
import type { DispatcherStats, OursResult } from './run-types.js';
import { BENCH_USERS_TABLE } from './users-table.js';

export async function runOurs(args: BenchArgs, runDir: string, procs: ProcMonitor, children: Child[], broker?: KafkaBroker, producer?: EventProducer): Promise<OursResult> {
  const port = await freePortPair();
  const ingest = new URL(`http://127.0.0.1:${port}/`);
  const analytics = `http://127.0.0.1:${port + 1}`;
  const dataDir = join(runDir, 'clickhouse');
  const profileArgs = (name: string) => (args.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(runDir, `profile-${name}`)}`] : []);
  const env = {
    ...process.env, PORT: String(port), CLICKHOUSE_URL: '', CLICKHOUSE_DATA_DIR: dataDir, CLICKHOUSE_DATABASE: 'speed_layer',
    USERS_TABLE: BENCH_USERS_TABLE, KAFKA_BROKERS: '', LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  };
  if (args.history > 0) await storeHistory(args, runDir, dataDir, children);
  say(`starting the speed layer: node ${[...NODE_FLAGS, ...profileArgs('sut')].join(' ')} --import tsx scripts/start.ts --rate 0 (ingest :${port}, analytics :${port + 1}, ClickHouse ${dataDir})`);
  const sut = spawnNode('sut', ['scripts/start.ts', '--rate', '0'], { env, logFile: join(runDir, 'sut.log'), nodeArgs: [...NODE_FLAGS, ...profileArgs('sut')] });
  children.push(sut);
  procs.watch('sut', sut.pid);
  const probe = createHttpClient(4);
  let exited = false;
  void sut.exited.then(() => { exited = true; });
  const ready = await waitFor(async () => {
    if (exited) throw new Error('exited');
    return (await probe.get(new URL('/readyz', ingest), 2_000)).status === 200 && (await probe.get(new URL('/readyz', analytics), 2_000)).status === 200;
  }, 180_000, 500);
  if (!ready) throw new Error(`the speed layer did not become ready in 180 s (exited: ${exited}); see ${join(runDir, 'sut.log')}`);
  say(`speed layer ready (pid ${sut.pid})`);

  let dispatcher: Child | undefined;
  let dstats: DispatcherStats | undefined;
  if (args.mode === 'kafka') {
    const cfg = {
      bootstrapServers: broker!.brokers, topics: ['user_events', 'transactions'], sink: ingest.href, name: 'speed-layer-events',
      namespace: 'speed-layer', consumerGroup: 'speed-layer-ingest', ordering: 'unordered', initialOffset: 'earliest',
      maxInFlight: args.dispatcherInFlight, maxInFlightPerPartition: args.dispatcherInFlight,
      ...(args.dispatcherBatch > 0 ? { batchSize: args.dispatcherBatch } : {}),
      // As the charts configure KafkaSource: the ingest's Retry-After (503 under back-pressure) is honoured.
      delivery: { retry: 5, backoffPolicy: 'exponential', backoffDelay: 'PT0.2S', retryAfterMax: 'PT30S' },
    };
    let dReady = false;
    dispatcher = spawnNode('dispatcher', ['bench/dispatcher-proc.ts', JSON.stringify(cfg)], {
      logFile: join(runDir, 'dispatcher.log'), nodeArgs: [...NODE_FLAGS, ...profileArgs('dispatcher')],
      onLine: (line) => {
        // Its stdout also carries the dispatcher's own (pino) log lines: stats lines are those with a state and counters.
        if (!line.startsWith('{')) return;
        let o: Partial<DispatcherStats> & { ready?: boolean; state?: string };
        try { o = JSON.parse(line) as typeof o; } catch { return; }
        if (o.ready === true) dReady = true;
        else if (typeof o.state === 'string' && typeof o.delivered === 'number' && typeof o.inFlight === 'number') dstats = o as DispatcherStats;
      },
    });
    children.push(dispatcher);
    procs.watch('dispatcher', dispatcher.pid);
    if (!(await waitFor(() => dReady, 120_000))) throw new Error(`the dispatcher did not join its consumer group in 120 s; see ${join(runDir, 'dispatcher.log')}`);
    say(`dispatcher ready (pid ${dispatcher.pid}): unordered, maxInFlight ${args.dispatcherInFlight}, ${args.dispatcherBatch > 0 ? `batches of up to ${args.dispatcherBatch} records (local extension)` : 'one binary CloudEvent per record'}`);
  }

  const client = createHttpClient(args.connections);
  const usersClient = createHttpClient(1024);
  const pollClient = createHttpClient(2);
  const log = createWriteStream(join(runDir, 'sent-ours.tsv'));
  const stream = primedStream(args);
  const t0 = Date.now() + 500;
  const window = windowOf(args, t0);
  const deps = { log, t0Ms: t0, inWindow: window.contains };
  const load: Load = args.mode === 'http' ? createHttpLoad(client, ingest, deps)
    : args.mode === 'batch' ? createBatchLoad(client, ingest, args.batchSize, deps)
    : kafkaLoad(broker!, producer!, { events: 'user_events', transactions: 'transactions' }, deps, procs);
  const users = createDashboardUsers(usersClient, analytics, args.users, window.contains);
  const from = () => new Date(Date.now() - 4 * 60_000).toISOString();
  const fetchMarkers = async () => {
    const a = await pollClient.get(new URL(`/api/products?sort=views&limit=1000&from=${encodeURIComponent(from())}`, analytics), 10_000);
    if (a.status !== 200) throw new Error(`products: ${a.status}`);
    return (JSON.parse(a.body) as { data: { product_id: string }[] }).data.map((r) => r.product_id);
  };
  const metricsUrl = new URL('/metrics', ingest);
  const procNames = ['sut', ...(dispatcher ? ['dispatcher'] : []), ...(broker ? ['broker'] : []), 'bench', ...(procs.names().includes('producer') ? ['producer'] : [])];
  const phase = await drive({
    name: 'speed layer', args, stream, t0, window, load, users, fetchMarkers, procs, procNames, log,
    // Requests, not records: the queue-proxy counts requests (a batch of 1,000 records is one).
    inFlight: () => (args.mode === 'kafka' ? dstats?.inFlightRequests ?? 0 : load.outstanding),
    analyticsInFlight: () => usersClient.outstanding + pollClient.outstanding,
    acked: () => (args.mode === 'kafka' ? dstats?.delivered ?? 0 : load.counters.acked),
    scrape: async () => (await probe.get(metricsUrl, 2_000)).body,
    drainedExtra: args.mode === 'kafka'
      ? () => !!dstats && dstats.inFlight === 0 && dstats.queued === 0 && dstats.delivered + dstats.deadLettered + dstats.discarded >= load.counters.sent
      : undefined,
    threadPids: { sut: sut.pid, ...(dispatcher ? { dispatcher: dispatcher.pid } : {}) },
    backlog: () => (args.mode === 'kafka' ? load.counters.sent - (dstats ? dstats.delivered + dstats.deadLettered + dstats.discarded : 0) : load.outstanding),
  });
  phase.dispatcher = dstats;
  const scrape = await probe.get(metricsUrl, 5_000).then((a) => parseMetrics(a.body), () => undefined);
  phase.metrics = scrape;
  client.close(); usersClient.close(); pollClient.close(); probe.close();

  if (dispatcher) { say('stopping the dispatcher…'); await dispatcher.stop(30_000); }
  say('stopping the speed layer (SIGTERM: it flushes what it holds)…');
  const sutExit = await sut.stop(120_000);
  say(`speed layer exited with ${sutExit}`);
  const verify = await runVerify(runDir, dataDir, 'speed_layer', join(runDir, 'sent-ours.tsv'), phase, children, args.history > 0 ? historyEnd : undefined);
  const profiles: ProfileSummary[] = [];
  if (args.profile) {
    for (const name of ['sut', 'dispatcher']) {
      const dir = join(runDir, `profile-${name}`);
      if (!existsSync(dir)) continue;
      // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: thread 0 is the main thread (the others are tsx's loader worker).
      for (const f of readdirSync(dir).filter((x) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(x))) {
        // Profiles are large: they go to bench/out/ (not committed) whatever --out says.
        const keep = resolve('bench/out', `${basename(args.out).replace(/\.json$/, '')}.${name}.cpuprofile`);
        mkdirSync(dirname(keep), { recursive: true });
        copyFileSync(join(dir, f), keep);
        const s = summarizeProfile(keep, 25);
        profiles.push({ ...s, file: keep.replace(`${process.cwd()}/`, '') });
        console.log(formatProfile({ ...s, file: `${name}: ${keep.replace(`${process.cwd()}/`, '')}` }, 15));
      }
    }
  }
  return { phase, verify, procNames, profiles, sutExit };
}


/** Rows stored before this time are history, not the run's (history-proc.ts stamps them in the past). */
let historyEnd = 0;

/** --history N: the closed sessions and their events, stored in the data directory before the system under test opens it. */
async function storeHistory(args: BenchArgs, runDir: string, dataDir: string, children: Child[]) {
  historyEnd = Date.now();
  say(`storing ${args.history.toLocaleString('en')} closed sessions of the last 30 days and their events (bench/history.ts)…`);
  let result = '';
  const child = spawnNode('history', ['bench/history-proc.ts', JSON.stringify({ dataDir, database: 'speed_layer', sessions: args.history, seed: args.seed, population: args.population, nowMs: historyEnd })], {
    logFile: join(runDir, 'history.log'), onLine: (l) => { if (l.startsWith('{')) result = l; else say(l); },
  });
  children.push(child);
  const code = await child.exited;
  if (code !== 0 || !result) throw new Error(`the history load failed (exit ${code}); see ${join(runDir, 'history.log')}`);
  const r = JSON.parse(result) as { sessions: number; events: number; seconds: number; merge_wait_s: number; active_parts: number };
  say(`history stored: ${r.sessions.toLocaleString('en')} sessions, ${r.events.toLocaleString('en')} events in ${r.seconds} s; merged in ${r.merge_wait_s} s more to ${r.active_parts} active parts`);
}
