/**
 * `npm run bench`: an open-loop load generator through one path of the speed layer (one HTTP
 * CloudEvent per event, batch mode, or Kafka through the KafkaSource-like dispatcher), with dashboard
 * users querying meanwhile, and, side by side on the same stream, ClickHouse's own Kafka engine.
 * See USAGE in args.ts, and bench/RESULTS.md for what it found.
 *
 * Processes (each measured from /proc): this one (load generator, dashboard users, samplers); the
 * system under test `scripts/start.ts --rate 0` (ingest + analytics + embedded ClickHouse); in kafka
 * mode the Kafka broker (JVM) and the dispatcher; for the baseline a chDB process with the Kafka
 * engine; after each phase a verification process that reads the stopped engine's data directory.
 * Every process is stopped by pid when the run ends, also on Ctrl-C or a time-out.
 */
import { randomUUID } from 'node:crypto';
import { copyFileSync, createWriteStream, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { values as chartValues } from '../charts/values.js';
import { loadConfig } from '../functions/core/config.js';
import { createEventProducer, ensureTopics, startKafkaBroker, type EventProducer, type KafkaBroker } from '../local/kafka/index.js';
import { parseBenchArgs, USAGE, type BenchArgs } from './args.js';
import { freePortPair, sleep, spawnNode, waitFor, type Child } from './children.js';
import { createHttpClient } from './http-client.js';
import { simulateKpa, type KpaPoint, type KpaSpec } from './kpa.js';
import { createBatchLoad, createHttpLoad, createKafkaLoad, createKcatLoad, hasKcat, type Load } from './load.js';
import { renderSvg, writePng, type Plot } from './plot.js';
import { createProcMonitor, readMachineCpu, readThreads, threadDelta } from './proc.js';
import { formatProfile, summarizeProfile, type ProfileSummary } from './profile.js';
import { createDashboardUsers, createMarkers, MARKER_PREFIX, startMarkerPoller } from './readers.js';
import { percentiles, round, type Percentiles } from './stats.js';
import { createStream, STREAM_DEFAULTS } from './stream.js';
import { BENCH_USERS_TABLE, ensureBenchUsers } from './users-table.js';
import type { GeneratedRecord } from '../generator/simulate.js';
import type { VerifyResult } from './verify.js';

const TICK_MS = 10;
const PROGRESS_MS = 5_000;
const DRAIN_MS = 180_000;
const STARTED = Date.now();
const say = (msg: string) => console.log(`[bench ${((Date.now() - STARTED) / 1000).toFixed(0).padStart(4)}s] ${msg}`);

type DispatcherStats = { at: number; received: number; delivered: number; deadLettered: number; discarded: number; inFlight: number; inFlightRequests: number; queued: number; retries: number; rebalances: number };

/** What one phase (ours, or the baseline) measured while it ran. */
type PhaseResult = {
  name: string;
  t0: number; windowStart: number; windowEnd: number; sendEnd: number;
  load: Load;
  markers: ReturnType<typeof createMarkers>;
  users?: ReturnType<typeof createDashboardUsers>;
  /** Per second since t0, average in-flight requests to ingest (sender side) and to analytics (the bench's own). */
  inFlight: number[];
  analyticsInFlight: number[];
  /** speed_layer_in_flight_requests of the ingest function, as scraped every 5 s. */
  gauge: [number, number][];
  maxTickGapMs: number;
  drained: boolean;
  backlogAtStop: number;
  /** CPU seconds the whole machine was busy during the measured window (all processes, ours and others'). */
  machineBusyS?: number;
  /** CPU seconds per thread name during the measured window, for the processes asked (where the time went: JS, libuv, GC, ClickHouse). */
  threads: Record<string, { thread: string; cpu_s: number }[]>;
  dispatcher?: DispatcherStats;
  metrics?: Record<string, number>;
};

async function main() {
  const parsed = parseBenchArgs(process.argv.slice(2));
  if (parsed === 'help') { console.log(USAGE); return; }
  const args = parsed;
  const runId = `${args.mode}-${args.rate}-${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}`;
  const runDir = resolve('.data/bench', runId);
  mkdirSync(runDir, { recursive: true });
  mkdirSync(dirname(resolve(args.out)), { recursive: true });
  const config = loadConfig();
  const phases = args.baseline ? 2 : 1;
  const limitMs = phases * ((args.warmupS + args.durationS) * 1000 + DRAIN_MS + 6 * 60_000) + 5 * 60_000;
  say(`run ${runId}: ${args.mode} at ${args.rate.toLocaleString('en')} events/s, ${args.warmupS} s warm-up + ${args.durationS} s measured, ${args.users} dashboard users${args.baseline ? ', then the ClickHouse Kafka engine baseline' : ''}; folder ${runDir}; time limit ${Math.round(limitMs / 60_000)} min`);

  const procs = createProcMonitor(1000);
  procs.watch('bench', process.pid);
  const children: Child[] = [];
  let broker: KafkaBroker | undefined;
  let producer: EventProducer | undefined;
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    for (const c of children.reverse()) await c.stop(20_000).catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
    await broker?.stop().catch(() => undefined);
    procs.stop();
  };
  const watchdog = setTimeout(() => {
    say(`time limit of ${Math.round(limitMs / 60_000)} min reached: stopping everything`);
    void cleanup().finally(() => { removeRunDir(); process.exit(3); });
  }, limitMs);
  watchdog.unref();
  const removeRunDir = () => { if (!args.keep) rmSync(runDir, { recursive: true, force: true }); };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => { say(`${sig}: stopping every process`); void cleanup().finally(() => { removeRunDir(); process.exit(130); }); });

  try {
    await ensureBenchUsers(config.DATABASE_URL, { seed: args.seed, population: args.population, unknownShare: STREAM_DEFAULTS.unknownShare }, say);
    if (args.mode === 'kafka' || args.baseline) {
      say('starting a Kafka broker (Kafka 3.9.1, its own folder and port)…');
      broker = await startKafkaBroker({ port: 0, dataDir: join(runDir, 'kafka') });
      procs.watch('broker', broker.pid());
      await retry(() => ensureTopics(broker!.brokers), 5);
      producer = createEventProducer(broker.brokers, { clientId: 'bench' });
      say(`broker ${broker.brokers} (pid ${broker.pid()})`);
    }

    const ours = await runOurs(args, runDir, procs, children, broker, producer);
    const theirs = args.baseline ? await runBaseline(args, runDir, procs, children, broker!, producer!) : undefined;

    const summary = buildSummary(args, runId, config, ours, theirs, procs);
    writeFileSync(args.out, `${JSON.stringify(summary, null, 2)}\n`);
    say(`summary written to ${args.out}`);
    const png = await writePng(renderSvg(plotOf(args, summary, ours, theirs)), args.plot).catch((err: Error) => { say(`plot: ${err.message}`); return false; });
    say(png ? `plot written to ${args.plot}` : `plot: Chromium did not start; wrote the SVG next to ${args.plot} instead`);
    printHeadline(summary);
  } finally {
    await cleanup();
    clearTimeout(watchdog);
    removeRunDir();
    if (args.keep) say(`run folder kept: ${runDir}`);
  }
}

// --- the speed layer ------------------------------------------------------------------------

type OursResult = { phase: PhaseResult; verify: VerifyResult; procNames: string[]; profiles: ProfileSummary[]; sutExit: number | null };

async function runOurs(args: BenchArgs, runDir: string, procs: ReturnType<typeof createProcMonitor>, children: Child[], broker?: KafkaBroker, producer?: EventProducer): Promise<OursResult> {
  const port = await freePortPair();
  const ingest = new URL(`http://127.0.0.1:${port}/`);
  const analytics = `http://127.0.0.1:${port + 1}`;
  const dataDir = join(runDir, 'clickhouse');
  const profileArgs = (name: string) => (args.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(runDir, `profile-${name}`)}`] : []);
  const env = {
    ...process.env, PORT: String(port), CLICKHOUSE_URL: '', CLICKHOUSE_DATA_DIR: dataDir, CLICKHOUSE_DATABASE: 'speed_layer',
    USERS_TABLE: BENCH_USERS_TABLE, KAFKA_BROKERS: '', LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  };
  say(`starting the speed layer: node ${profileArgs('sut').join(' ')} --import tsx scripts/start.ts --rate 0 (ingest :${port}, analytics :${port + 1}, ClickHouse ${dataDir})`);
  const sut = spawnNode('sut', ['scripts/start.ts', '--rate', '0'], { env, logFile: join(runDir, 'sut.log'), nodeArgs: profileArgs('sut') });
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
      logFile: join(runDir, 'dispatcher.log'), nodeArgs: profileArgs('dispatcher'),
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
    name: 'speed layer', args, t0, window, load, users, fetchMarkers, procs, procNames, log,
    // Requests, not records: the queue-proxy counts requests (a batch of 1,000 records is one).
    inFlight: () => (args.mode === 'kafka' ? dstats?.inFlightRequests ?? 0 : load.outstanding),
    analyticsInFlight: () => usersClient.outstanding + pollClient.outstanding,
    acked: () => (args.mode === 'kafka' ? dstats?.delivered ?? 0 : load.counters.acked),
    gauge: async () => {
      const a = await probe.get(metricsUrl, 2_000);
      return Number(/^speed_layer_in_flight_requests (\S+)/m.exec(a.body)?.[1] ?? NaN);
    },
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
  const verify = await runVerify(runDir, dataDir, 'speed_layer', join(runDir, 'sent-ours.tsv'), phase, children);
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

// --- the baseline: ClickHouse's Kafka engine ------------------------------------------------

type TheirsResult = { phase: PhaseResult; verify: VerifyResult; settings: Record<string, unknown> };

async function runBaseline(args: BenchArgs, runDir: string, procs: ReturnType<typeof createProcMonitor>, children: Child[], broker: KafkaBroker, producer: EventProducer): Promise<TheirsResult> {
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
  const t0 = Date.now() + 500;
  const window = windowOf(args, t0);
  const load = kafkaLoad(broker, producer, topics, { log, t0Ms: t0, inWindow: window.contains }, procs, 'baseline-producer');
  let storedRows = 0;
  const phase = await drive({
    name: 'baseline', args: { ...args, users: 0 }, t0, window, load, procs, procNames: ['baseline', 'broker', 'bench', ...(procs.names().includes('baseline-producer') ? ['baseline-producer'] : [])], log,
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

// --- one phase: generate, read, sample, report ----------------------------------------------

type Window = { start: number; end: number; contains: (ms: number) => boolean };
function windowOf(args: BenchArgs, t0: number): Window {
  const start = t0 + args.warmupS * 1000;
  const end = start + args.durationS * 1000;
  return { start, end, contains: (ms: number) => ms >= start && ms < end };
}

async function drive(o: {
  name: string; args: BenchArgs; t0: number; window: Window; load: Load; log: WriteStream;
  users?: ReturnType<typeof createDashboardUsers>;
  fetchMarkers: () => Promise<string[]>;
  procs: ReturnType<typeof createProcMonitor>; procNames: string[];
  inFlight: () => number; analyticsInFlight: () => number; acked: () => number;
  gauge?: () => Promise<number>;
  /** Called once a second (e.g. to count the baseline's rows). */
  poll?: () => Promise<void>;
  drainedExtra?: () => boolean;
  /** Records handed over but not yet taken in by the system when the drain ended (in Kafka, or requests unanswered). */
  backlog: () => number;
  /** Processes whose threads to account for, by name. */
  threadPids?: Record<string, number>;
}): Promise<PhaseResult> {
  const { args, t0, window, load } = o;
  const stream = createStream({ seed: args.seed, population: args.population, ...STREAM_DEFAULTS });
  const markers = createMarkers(randomUUID());
  await sleep(Math.max(0, t0 - Date.now()));
  const poller = startMarkerPoller(markers, o.fetchMarkers, t0);
  o.users?.start(t0);

  const inFlightSamples: { s: number; v: number; a: number }[] = [];
  const gauge: [number, number][] = [];
  const sampler = setInterval(() => inFlightSamples.push({ s: Math.floor((Date.now() - t0) / 1000), v: o.inFlight(), a: o.analyticsInFlight() }), 100);
  let polling = false;
  let ticks = 0;
  const secondly = setInterval(() => {
    if (polling) return;
    polling = true;
    void (async () => {
      // /metrics every 5 s, not every second: prom-client's default metrics read /proc/self/fd and list
      // active handles, which costs the system under test O(open sockets) per scrape (10,000+ here).
      if (o.gauge && ticks++ % 5 === 0) {
        const v = await o.gauge().catch(() => NaN);
        if (Number.isFinite(v)) gauge.push([(Date.now() - t0) / 1000, v]);
      }
      await o.poll?.().catch(() => undefined);
    })().finally(() => { polling = false; });
  }, 1000);
  let lastProgress = { at: t0, sent: 0, acked: 0 };
  const progress = setInterval(() => {
    const now = Date.now();
    const dt = (now - lastProgress.at) / 1000;
    const acked = o.acked();
    const stage = now < window.start ? 'warm-up' : now < window.end ? 'measured' : 'draining';
    const recentQ = o.users ? o.users.p99PerSecond().filter(([s]) => s >= (now - t0) / 1000 - 5).map(([, v]) => v) : [];
    const cores = o.procNames.map((n) => {
      const s = o.procs.samples(n);
      const a = s.find((x) => x.atMs >= now - PROGRESS_MS);
      const b = s[s.length - 1];
      return a && b && b.atMs > a.atMs ? `${n} ${((b.cpuS - a.cpuS) / ((b.atMs - a.atMs) / 1000)).toFixed(2)}` : undefined;
    }).filter(Boolean).join(' ');
    const last = markers.freshness.entries().at(-1);
    say(`${o.name} ${stage.padEnd(8)} t=${((now - t0) / 1000).toFixed(0).padStart(4)}s  sent ${fmtRate((load.counters.sent - lastProgress.sent) / dt)}/s  ` +
      `${o.name === 'baseline' ? 'stored' : args.mode === 'kafka' ? 'delivered' : 'answered'} ${fmtRate((acked - lastProgress.acked) / dt)}/s  in-flight ${o.inFlight()}  ` +
      `freshness ${last ? `${(last[1] / 1000).toFixed(1)} s` : '–'} (oldest unseen ${(markers.lag(now) / 1000).toFixed(1)} s)  ` +
      (o.users ? `queries p99 ${recentQ.length ? Math.max(...recentQ) : '–'} ms  ` : '') +
      `cores: ${cores}  RSS ${o.procNames.slice(0, 1).map((n) => `${n} ${Math.round(o.procs.last(n)?.rssMiB ?? 0)} MiB`).join('')}`);
    lastProgress = { at: now, sent: load.counters.sent, acked };
  }, PROGRESS_MS);

  let machineAtStart: ReturnType<typeof readMachineCpu> | undefined;
  let machineBusyS: number | undefined;
  const threadsAtStart = new Map<string, Map<string, number>>();
  const threads: Record<string, { thread: string; cpu_s: number }[]> = {};
  const machineTimers = [
    setTimeout(() => {
      machineAtStart = readMachineCpu();
      for (const [n, pid] of Object.entries(o.threadPids ?? {})) threadsAtStart.set(n, readThreads(pid));
    }, Math.max(0, window.start - Date.now())),
    setTimeout(() => {
      // Scaled to the window's length: a late timer would otherwise count more than the window.
      if (machineAtStart) { const now = readMachineCpu(); machineBusyS = ((now.busyS - machineAtStart.busyS) / (now.totalS - machineAtStart.totalS)) * availableParallelism() * ((window.end - window.start) / 1000); }
      for (const [n, pid] of Object.entries(o.threadPids ?? {})) threads[n] = threadDelta(threadsAtStart.get(n) ?? new Map(), readThreads(pid));
    }, Math.max(0, window.end - Date.now())),
  ];
  // The generator: every tick, the records due by now at the target rate, plus a marker each second.
  let generated = 0;
  let nextMarker = t0;
  let maxTickGapMs = 0;
  let lastTick = t0;
  const sendEnd = window.end;
  const markerSet = new Set<GeneratedRecord>();
  while (Date.now() < sendEnd) {
    const now = Date.now();
    maxTickGapMs = Math.max(maxTickGapMs, now - lastTick);
    lastTick = now;
    const due = Math.floor((args.rate * (Math.min(now, sendEnd) - t0)) / 1000) - generated;
    const records = due > 0 ? stream.take(due, now) : [];
    generated += Math.max(0, due);
    if (now >= nextMarker) {
      const m = markers.make(now, randomUUID);
      markerSet.add(m);
      records.push(m);
      nextMarker += 1000;
    }
    if (records.length) load.send(records, now, markerSet);
    await sleep(Math.max(0, TICK_MS - (Date.now() - now)));
  }
  say(`${o.name}: sending stopped after ${load.counters.sent.toLocaleString('en')} records; waiting for every answer and the last marker (up to ${DRAIN_MS / 1000} s)…`);
  const drainEnd = Date.now() + DRAIN_MS;
  let drained = await load.drain(DRAIN_MS);
  if (o.drainedExtra) drained = (await waitFor(o.drainedExtra, Math.max(0, drainEnd - Date.now()), 250)) && drained;
  await waitFor(() => markers.allSeen(), Math.max(5_000, Math.min(30_000, drainEnd - Date.now())), 200);
  const backlogAtStop = Math.max(0, o.backlog());
  o.users?.stop();
  await poller.stop();
  clearInterval(sampler); clearInterval(secondly); clearInterval(progress);
  for (const t of machineTimers) clearTimeout(t);
  await new Promise<void>((r) => o.log.end(r));
  o.procs.sample();
  say(`${o.name}: ${drained ? 'drained' : `NOT drained after ${DRAIN_MS / 1000} s: ${backlogAtStop.toLocaleString('en')} records not yet taken in`}; markers seen ${markers.seenCount}/${markers.sent}`);

  const perSecond = (key: 'v' | 'a') => {
    const sums = new Map<number, { sum: number; n: number }>();
    for (const x of inFlightSamples) {
      const e = sums.get(x.s) ?? { sum: 0, n: 0 };
      e.sum += x[key]; e.n++;
      sums.set(x.s, e);
    }
    const last = Math.max(0, ...sums.keys());
    return Array.from({ length: last + 1 }, (_, s) => { const e = sums.get(s); return e ? e.sum / e.n : 0; });
  };
  return {
    name: o.name, t0, windowStart: window.start, windowEnd: window.end, sendEnd, load, markers, users: o.users,
    inFlight: perSecond('v'), analyticsInFlight: perSecond('a'), gauge, maxTickGapMs, drained, backlogAtStop, machineBusyS, threads,
  };
}

async function runVerify(runDir: string, dataDir: string, database: string, sentFile: string, phase: PhaseResult, children: Child[]): Promise<VerifyResult> {
  say(`verifying ${database}: every id sent against what ClickHouse stored…`);
  let out = '';
  const child = spawnNode('verify', ['bench/verify.ts', JSON.stringify({ dataDir, database, sentFile, t0Ms: phase.t0, windowStartMs: phase.windowStart, windowEndMs: phase.windowEnd })], {
    logFile: join(runDir, `verify-${database}.log`), onLine: (l) => { if (l.startsWith('{')) out = l; },
  });
  children.push(child);
  const timer = setTimeout(() => void child.stop(5_000), 10 * 60_000);
  const code = await child.exited;
  clearTimeout(timer);
  if (code !== 0 || !out) throw new Error(`verification failed (exit ${code}); see ${join(runDir, `verify-${database}.log`)}`);
  return JSON.parse(out) as VerifyResult;
}

// --- the summary ----------------------------------------------------------------------------

function kpaSpecs(): { ingest: KpaSpec; analytics: KpaSpec } {
  const f = chartValues.functions;
  const u = chartValues.inputs.targetUtilization;
  return {
    ingest: { target: f.ingest.targetConcurrency, utilization: u, minScale: f.ingest.minScale, maxScale: f.ingest.maxScale },
    analytics: { target: f.analytics.targetConcurrency, utilization: u, minScale: f.analytics.minScale, maxScale: f.analytics.maxScale },
  };
}

function phaseFigures(args: BenchArgs, p: PhaseResult, v: VerifyResult, procs: ReturnType<typeof createProcMonitor>, cpuOf: string[]) {
  const inWindow = (ms: number) => ms >= p.windowStart && ms < p.windowEnd;
  const windowS = (p.windowEnd - p.windowStart) / 1000;
  const sentInWindow = p.load.sentSeries.entries().filter(([s]) => inWindow(p.t0 + s * 1000)).reduce((a, [, n]) => a + n, 0);
  const fresh = p.markers.results(inWindow);
  const freshness: Percentiles & { missing: number } = { ...percentiles(fresh.values), missing: fresh.missing };
  const processes: Record<string, { cpu_s: number | undefined; cores: number | undefined; peak_rss_mib: number | undefined }> = {};
  for (const name of procs.names()) {
    const cpu = procs.cpuBetween(name, p.windowStart, p.windowEnd);
    const span = procs.spanBetween(name, p.windowStart, p.windowEnd);
    processes[name] = { cpu_s: cpu === undefined ? undefined : round(cpu, 2), cores: cpu !== undefined && span ? round(cpu / span, 2) : undefined, peak_rss_mib: Math.round(procs.peakRss(name) ?? 0) };
  }
  const cpuS = cpuOf.reduce((a, n) => a + (procs.cpuBetween(n, p.windowStart, p.windowEnd) ?? 0), 0);
  const ourCpuS = Object.values(processes).reduce((a, x) => a + (x.cpu_s ?? 0), 0);
  const machine = p.machineBusyS === undefined ? undefined : {
    busy_cores: round(p.machineBusyS / windowS, 2),
    // What the rest of the machine (other people's tests, the OS) took while this ran: the figures above are under that contention.
    other_processes_cores: round(Math.max(0, p.machineBusyS - ourCpuS) / windowS, 2),
  };
  const stored = v.window.rows_stored;
  return {
    sent: sentInWindow,
    sent_total: p.load.counters.sent,
    stored,
    stored_total: v.stored.events + v.stored.transactions,
    lost: v.lost.events + v.lost.transactions,
    lost_sample: v.lost.sample,
    duplicates: v.duplicates,
    duplicate_rows: v.duplicate_rows,
    unexpected_rows: v.unexpected_rows,
    events_per_s: Math.round(stored / windowS),
    sent_per_s: Math.round(sentInWindow / windowS),
    freshness_ms: freshness,
    store_latency_ms: v.store_latency_ms,
    cpu_s_per_million: stored > 0 ? round(cpuS / (stored / 1e6), 1) : undefined,
    cpu_s_counted: { processes: cpuOf, cpu_s: round(cpuS, 1) },
    processes,
    clickhouse: { parts_active: v.parts.active, parts_by_table: v.parts.by_table },
    dead_letters: { invalid_sent: v.sent.invalid, stored: v.dead_letters },
    drained: p.drained,
    backlog_at_stop: p.backlogAtStop,
    generator_max_tick_gap_ms: p.maxTickGapMs,
    machine,
  };
}

function buildSummary(args: BenchArgs, runId: string, config: ReturnType<typeof loadConfig>, ours: OursResult, theirs: TheirsResult | undefined, procs: ReturnType<typeof createProcMonitor>) {
  const p = ours.phase;
  const inWindow = (ms: number) => ms >= p.windowStart && ms < p.windowEnd;
  const fig = phaseFigures(args, p, ours.verify, procs, ['sut', ...(args.mode === 'kafka' ? ['dispatcher'] : [])]);
  const spec = kpaSpecs();
  const kpaIngest = simulateKpa(p.inFlight, spec.ingest);
  const kpaAnalytics = simulateKpa(p.analyticsInFlight, spec.analytics);
  const inWin = (k: KpaPoint[]) => k.filter((x) => inWindow(p.t0 + x.t * 1000));
  const q = p.users;
  const byEndpoint = q ? Object.fromEntries([...q.byPath.entries()].map(([path, r]) => { const x = r.percentiles(); return [path, { p50: x.p50, p99: x.p99, count: x.count }]; })) : {};
  const theirsFig = theirs ? phaseFigures(args, theirs.phase, theirs.verify, procs, ['baseline']) : undefined;
  const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b ? round(a / b, 2) : undefined);
  const qp = q?.latency.percentiles();
  const targets = {
    required: 'kafka mode, 10,000 events/s for 300 s, 0 lost, freshness p99 <= 5 s, query p99 < 1 s with >= 50 users',
    this_run_qualifies: args.mode === 'kafka' && args.rate >= 10_000 && args.durationS >= 300 && args.users >= 50,
    sustained_rate: fig.events_per_s >= 0.99 * args.rate && fig.sent_per_s >= 0.99 * args.rate,
    lost_zero: fig.lost === 0,
    freshness_p99_le_5s: fig.freshness_ms.count > 0 && fig.freshness_ms.missing === 0 && fig.freshness_ms.p99 <= 5_000,
    query_p99_lt_1s: qp !== undefined && qp.count > 0 && qp.p99 < 1_000,
  };
  return {
    run: runId,
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`,
    mode: args.mode,
    rate_target: args.rate,
    duration_s: args.durationS,
    warmup_s: args.warmupS,
    concurrent_users: args.users,
    sent: fig.sent,
    stored: fig.stored,
    lost: fig.lost,
    lost_note: fig.drained ? 'every valid id sent and not stored; the run drained, so these are losses' : `the run did not drain: ${fig.backlog_at_stop} records were still waiting (in Kafka or unanswered) when it stopped, so missing ids include that backlog`,
    duplicates: fig.duplicates,
    events_per_s: fig.events_per_s,
    sent_per_s: fig.sent_per_s,
    freshness_ms: fig.freshness_ms,
    query_ms: qp ? { p50: qp.p50, p95: qp.p95, p99: qp.p99, max: qp.max, count: qp.count, failures: q!.failures, failure_reasons: q!.failureReasons, by_endpoint: byEndpoint } : undefined,
    request_ms: { ...p.load.latency.percentiles(), what: args.mode === 'kafka' ? (p.load.latency.count ? 'produce call to broker ack (kafkajs)' : 'not measured: kcat acknowledges asynchronously') : 'intended send to final answer (incl. retries)', retries: p.load.counters.retries, transport_errors: p.load.counters.errors, failed_records: p.load.counters.failed, statuses: p.load.counters.statuses },
    cpu_s_per_million: fig.cpu_s_per_million,
    baseline: theirsFig && theirs ? {
      what: theirs.settings,
      sent: theirsFig.sent, stored: theirsFig.stored, lost: theirsFig.lost, duplicates: theirsFig.duplicates,
      unexpected_rows: theirsFig.unexpected_rows, dead_letters: theirsFig.dead_letters,
      events_per_s: theirsFig.events_per_s, freshness_ms: theirsFig.freshness_ms, store_latency_ms: theirsFig.store_latency_ms,
      cpu_s_per_million: theirsFig.cpu_s_per_million, processes: { baseline: theirsFig.processes.baseline, broker: theirsFig.processes.broker },
      threads_cpu_s_in_window: (theirs.phase.threads.baseline ?? []).slice(0, 12),
      parts_active: theirsFig.clickhouse.parts_active, drained: theirsFig.drained, backlog_at_stop: theirsFig.backlog_at_stop,
      ratio_ours_to_theirs: { events_per_s: ratio(fig.events_per_s, theirsFig.events_per_s), cpu_s_per_million: ratio(fig.cpu_s_per_million, theirsFig.cpu_s_per_million) },
    } : undefined,
    details: {
      sent_total: fig.sent_total, stored_total: fig.stored_total, lost_sample: fig.lost_sample, duplicate_rows: fig.duplicate_rows,
      unexpected_rows: fig.unexpected_rows, store_latency_ms: fig.store_latency_ms, dead_letters: fig.dead_letters,
      drained: fig.drained, backlog_at_stop: fig.backlog_at_stop, generator_max_tick_gap_ms: fig.generator_max_tick_gap_ms, markers: { sent: p.markers.sent, seen: p.markers.seenCount },
      dispatcher: p.dispatcher, metrics: p.metrics, sut_exit_code: ours.sutExit,
    },
    cpu: fig.cpu_s_counted,
    processes: fig.processes,
    threads_cpu_s_in_window: Object.fromEntries(Object.entries(p.threads).map(([n, list]) => [n, list.slice(0, 12)])),
    clickhouse: fig.clickhouse,
    autoscaling: {
      source: process.env.KUBECONFIG ? 'simulated KPA (KUBECONFIG is set, but reading real replica counts is not implemented: no cluster to test against here)' : 'simulated KPA from the observed in-flight requests (no cluster here)',
      in_flight_measured: args.mode === 'kafka' ? 'requests the dispatcher has in flight to ingest (what the queue-proxy would count)' : 'requests the load generator has in flight to ingest (incl. those waiting for a socket)',
      gauge_note: 'speed_layer_in_flight_requests (scraped every 5 s from ingest, in the series) counts the ingest function only',
      ingest: { ...spec.ingest, from: 'charts/values.ts', max_replicas: Math.max(0, ...kpaIngest.map((k) => k.desired)), replicas_in_window: summarizeReplicas(inWin(kpaIngest)), max_in_flight_avg_1s: Math.round(Math.max(0, ...p.inFlight)), panicked: kpaIngest.some((k) => k.panicking) },
      analytics: { ...spec.analytics, from: 'charts/values.ts', max_replicas: Math.max(0, ...kpaAnalytics.map((k) => k.desired)), replicas_in_window: summarizeReplicas(inWin(kpaAnalytics)), max_in_flight_avg_1s: Math.round(Math.max(0, ...p.analyticsInFlight)) },
    },
    targets,
    profile: ours.profiles.length ? ours.profiles.map((s) => ({ file: s.file, busy_s: round(s.busy_ms / 1000, 1), areas: s.areas.slice(0, 12), self: s.self.slice(0, 15), total: s.total.slice(0, 15) })) : undefined,
    environment: {
      cores: availableParallelism(), loadavg_at_end: loadavg().map((x) => round(x, 2)),
      machine_in_window: fig.machine,
      git: gitState(),
      speed_layer_config: { BATCH_MAX_ROWS: config.BATCH_MAX_ROWS, BATCH_MAX_AGE_MS: config.BATCH_MAX_AGE_MS, BUFFER_MAX_ROWS: config.BUFFER_MAX_ROWS, DEDUPE_WINDOW: config.DEDUPE_WINDOW },
      population: args.population, seed: args.seed, connections: args.mode === 'kafka' ? undefined : args.connections,
      batch_size: args.mode === 'batch' ? args.batchSize : undefined, dispatcher_in_flight: args.mode === 'kafka' ? args.dispatcherInFlight : undefined, dispatcher_batch: args.mode === 'kafka' ? args.dispatcherBatch : undefined,
    },
    series: {
      t0: new Date(p.t0).toISOString(),
      per_second: seriesRows(p, ours.verify, kpaIngest, kpaAnalytics),
      gauge_in_flight: p.gauge.map(([t, v]) => [round(t, 1), v]),
      baseline: theirs ? seriesRows(theirs.phase, theirs.verify) : undefined,
    },
  };
}
export type Summary = ReturnType<typeof buildSummary>;

function summarizeReplicas(points: KpaPoint[]) {
  if (!points.length) return undefined;
  const d = points.map((x) => x.desired);
  return { min: Math.min(...d), max: Math.max(...d), mean: round(d.reduce((a, b) => a + b, 0) / d.length, 2) };
}

function seriesRows(p: PhaseResult, v: VerifyResult, kpa?: KpaPoint[], kpaA?: KpaPoint[]) {
  const stored = new Map(v.per_second.map((r) => [r.s, r]));
  const last = Math.max(p.inFlight.length - 1, ...v.per_second.map((r) => r.s), 0);
  const q = new Map(p.users?.p99PerSecond() ?? []);
  return Array.from({ length: last + 1 }, (_, s) => ({
    s,
    sent: p.load.sentSeries.get(s),
    acked: p.load.ackedSeries.get(s) || undefined,
    stored: stored.get(s)?.stored ?? 0,
    store_latency_p99_ms: stored.get(s)?.latency_p99,
    marker_freshness_ms: p.markers.freshness.get(s) || undefined,
    in_flight: Math.round(p.inFlight[s] ?? 0),
    replicas: kpa?.[s]?.desired,
    analytics_in_flight: kpaA ? round(p.analyticsInFlight[s] ?? 0, 1) : undefined,
    analytics_replicas: kpaA?.[s]?.desired,
    query_p99_ms: q.get(s),
  }));
}

function plotOf(args: BenchArgs, s: Summary, ours: OursResult, theirs?: TheirsResult): Plot {
  const rows = s.series.per_second;
  const b = s.series.baseline ?? [];
  const xMax = Math.max(rows.length, b.length, 10);
  const warm = (ours.phase.windowStart - ours.phase.t0) / 1000;
  const end = (ours.phase.windowEnd - ours.phase.t0) / 1000;
  const pts = (list: typeof rows, f: (r: (typeof rows)[number]) => number | undefined) => list.flatMap((r) => { const v = f(r); return v === undefined ? [] : [[r.s, v] as [number, number]]; });
  return {
    title: `speed-layer bench: ${args.mode} path at ${args.rate.toLocaleString('en')} events/s, ${args.users} dashboard users`,
    subtitle: [
      `speed layer: stored ${s.events_per_s.toLocaleString('en')}/s in the measured window, lost ${s.lost}, freshness p99 ${(s.freshness_ms.p99 / 1000).toFixed(1)} s, query p99 ${s.query_ms?.p99 ?? '–'} ms, ${s.cpu_s_per_million ?? '–'} CPU s per million events`,
      ...(s.baseline ? [`baseline, ClickHouse Kafka engine (grey; the same stream, run after ours): stored ${s.baseline.events_per_s.toLocaleString('en')}/s, freshness p99 ${(s.baseline.freshness_ms.p99 / 1000).toFixed(1)} s, ${s.baseline.cpu_s_per_million ?? '–'} CPU s per million`] : []),
    ],
    xMax,
    shade: [{ from: 0, to: warm, label: 'warm-up' }, ...(end < xMax ? [{ from: end, to: xMax, label: 'drain' }] : [])],
    panels: [
      {
        title: 'Throughput', unit: 'events/s',
        hlines: [{ y: args.rate, label: `target ${args.rate.toLocaleString('en')}/s`, color: '#888' }],
        lines: [
          { label: 'sent', points: pts(rows, (r) => r.sent), color: '#1f77b4' },
          { label: 'stored (speed layer)', points: pts(rows, (r) => r.stored), color: '#2ca02c' },
          ...(theirs ? [{ label: 'stored (Kafka engine)', points: pts(b, (r) => r.stored), color: '#7f7f7f', dashed: true }] : []),
        ],
      },
      {
        title: 'Freshness: sent → visible in the product view (markers); sent → stored p99 (all events)', unit: 'ms',
        hlines: [{ y: 5000, label: 'target p99 5 s', color: '#d62728' }],
        lines: [
          { label: 'marker freshness', points: pts(rows, (r) => r.marker_freshness_ms), color: '#ff7f0e', dots: true },
          { label: 'stored p99', points: pts(rows, (r) => r.store_latency_p99_ms), color: '#9467bd' },
          ...(theirs ? [{ label: 'marker freshness (Kafka engine)', points: pts(b, (r) => r.marker_freshness_ms), color: '#7f7f7f', dots: true }] : []),
          ...(args.users ? [{ label: 'query p99', points: pts(rows, (r) => r.query_p99_ms), color: '#17becf' }] : []),
        ],
      },
      {
        title: 'Autoscaling: ingest in-flight requests and the replicas Knative KPA would choose', unit: 'in-flight requests', rightUnit: 'replicas',
        lines: [
          { label: 'ingest in-flight', points: pts(rows, (r) => r.in_flight), color: '#8c564b' },
          { label: `ingest replicas (target ${s.autoscaling.ingest.target} × ${s.autoscaling.ingest.utilization}, max ${s.autoscaling.ingest.maxScale})`, points: pts(rows, (r) => r.replicas), color: '#000000', step: true, axis: 'right' },
          { label: `analytics replicas (max ${s.autoscaling.analytics.maxScale})`, points: pts(rows, (r) => r.analytics_replicas), color: '#e377c2', step: true, dashed: true, axis: 'right' },
        ],
      },
    ],
  };
}

function printHeadline(s: Summary) {
  const f = s.freshness_ms;
  console.log(`
${s.mode} at ${s.rate_target.toLocaleString('en')} events/s for ${s.duration_s} s (after ${s.warmup_s} s warm-up), ${s.concurrent_users} dashboard users
  sent ${s.sent_per_s.toLocaleString('en')}/s · stored ${s.events_per_s.toLocaleString('en')}/s · lost ${s.lost} · duplicates ${s.duplicates}
  freshness p50/p95/p99 ${f.p50}/${f.p95}/${f.p99} ms (${f.count} markers, ${f.missing} never seen) · stored p99 ${s.details.store_latency_ms?.p99 ?? '–'} ms
  query p50/p99 ${s.query_ms ? `${s.query_ms.p50}/${s.query_ms.p99} ms (${s.query_ms.count} queries, ${s.query_ms.failures} failed)` : '–'}
  request p50/p99 ${s.request_ms.p50}/${s.request_ms.p99} ms (${s.request_ms.what})
  CPU s per million events ${s.cpu_s_per_million ?? '–'} (${s.cpu.processes.join(' + ')}) · ` +
    Object.entries(s.processes).map(([n, p]) => `${n} ${p.cores ?? '–'} cores, peak ${p.peak_rss_mib} MiB`).join(' · ') + `
  ClickHouse active parts ${s.clickhouse.parts_active} · KPA ingest replicas max ${s.autoscaling.ingest.max_replicas} (max-scale ${s.autoscaling.ingest.maxScale})` +
    (s.baseline ? `
  baseline (ClickHouse Kafka engine): stored ${s.baseline.events_per_s.toLocaleString('en')}/s, lost ${s.baseline.lost}, freshness p99 ${s.baseline.freshness_ms.p99} ms, ${s.baseline.cpu_s_per_million ?? '–'} CPU s per million
  ours/theirs: events/s ${s.baseline.ratio_ours_to_theirs.events_per_s ?? '–'} · CPU s per million ${s.baseline.ratio_ours_to_theirs.cpu_s_per_million ?? '–'}` : '') + `
  targets: ${Object.entries(s.targets).filter(([k]) => k !== 'required').map(([k, v]) => `${k} ${v ? 'yes' : 'NO'}`).join(' · ')}
`);
}

// --- small helpers --------------------------------------------------------------------------

/** kcat when the machine has it (far cheaper per record), else kafkajs in this process. */
function kafkaLoad(broker: KafkaBroker, producer: EventProducer, topics: { events: string; transactions: string }, deps: Parameters<typeof createKafkaLoad>[2], procs: ReturnType<typeof createProcMonitor>, name = 'producer'): Load {
  if (!hasKcat()) {
    say('kcat not found (apt-get install kcat): producing with kafkajs in the bench process, which costs about 50 µs of CPU a record here');
    return createKafkaLoad(producer, topics, deps);
  }
  const load = createKcatLoad(broker.brokers, topics, deps);
  procs.watch(name, load.procs.events.pid);
  procs.watch(`${name}-tx`, load.procs.transactions.pid);
  return load;
}

/** The commit measured, and whether files outside bench/ differed from it (other people's work in progress). */
function gitState() {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).split('\n').filter((l) => l && !l.slice(3).startsWith('bench/'));
    return { commit, uncommitted_files_outside_bench: dirty.map((l) => l.slice(3)) };
  } catch {
    return undefined;
  }
}

function parseMetrics(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  const keep = /^speed_layer_(backpressure|clickhouse_breaker_opens|duplicates|flushes|batch_rows_(sum|count)|insert_|events_|late_|unknown_tier|dead_letter|flush_duration_seconds_(sum|count)|open_sessions|tier_cache_(hits|misses))/;
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^(\S+?)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (!m || !keep.test(m[1]!)) continue;
    out[m[1]!] = (out[m[1]!] ?? 0) + Number(m[3]);
  }
  return out;
}

async function retry<T>(f: () => Promise<T>, times: number): Promise<T> {
  for (let i = 0; ; i++) {
    try { return await f(); } catch (err) { if (i >= times) throw err; await sleep(1000 * (i + 1)); }
  }
}

const fmtRate = (v: number) => (v >= 1000 ? `${(v / 1000).toFixed(1)}k` : v.toFixed(0)).padStart(6);

main().catch((err: Error) => {
  console.error(`bench failed: ${err.stack ?? err.message}`);
  process.exitCode = 1;
});
