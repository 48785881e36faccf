import { parseArgs } from 'node:util';
import { loadConfig } from '../functions/core/config.js';
import { createLogger } from '../functions/core/log.js';
import { createMetrics } from '../functions/core/metrics.js';
import { openClickHouse, openTiers } from '../functions/core/runtime.js';
import { createClickHouse, createClickHouseReaders } from '../functions/adapters/clickhouse.js';
import { listen } from '../functions/adapters/http-server.js';
import { createIngest } from '../functions/ingest/app.js';
import { createAnalytics } from '../functions/analytics/app.js';
import { createSessionizer } from '../functions/sessionizer/sessionizer.js';
import { encode, toCloudEvent, post, type Mode } from '../generator/cloudevents.js';
import { byTopic } from '../generator/kafka-records.js';
import { createLiveShop } from '../generator/live.js';
import type { GeneratedRecord } from '../generator/simulate.js';

/**
 * `npm start`: the whole speed layer on one machine with nothing configured. The embedded
 * ClickHouse (data in .data/clickhouse), the machine's PostgreSQL (users seeded), ingest on 8080,
 * analytics and the dashboard on 8081, and a live shop sending CloudEvents at --rate events/s
 * (over HTTP, or with --kafka through a local Kafka broker and a KafkaSource-like dispatcher).
 */
const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '200' },
    mode: { type: 'string', default: 'batch' },
    kafka: { type: 'boolean', default: false },
    seed: { type: 'string', default: '1' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  console.log(`npm start -- [--rate N] [--mode binary|structured|batch] [--kafka] [--seed S]
  --rate N     generated events per second (0: none, the speed layer just listens)   [200]
  --mode M     how the generator sends CloudEvents over HTTP                         [batch]
  --kafka      produce to a local Kafka broker (started unless KAFKA_BROKERS is set) and
               deliver through the KafkaSource-like dispatcher
  --seed S     the live shop's random seed                                           [1]`);
  process.exit(0);
}
const rate = Number(args.rate);
const mode = args.mode as Mode;
if (!Number.isFinite(rate) || rate < 0) throw new Error(`--rate must be a number >= 0, got ${args.rate}`);
if (!['binary', 'structured', 'batch'].includes(mode)) throw new Error(`--mode must be binary, structured or batch, got ${mode}`);

// One process, one embedded engine: chDB runs parameterized queries one at a time process-wide, so
// a dashboard would wait behind the sessionizer's reads. Answers up to 4 s past their cache time are
// served while they refresh (ANALYTICS_STALE_MS; 0 elsewhere, where ClickHouse is a server).
const config = loadConfig(process.env, {}, { ANALYTICS_STALE_MS: 4_000 });
let stopping = false;
const log = createLogger('speed-layer', config.LOG_LEVEL);
// As in the cluster, each function has its own metrics (in-flight requests per function drive the
// autoscaler) and its own ClickHouse connection: on one connection the embedded engine runs one
// statement at a time, so inserts would queue behind dashboard queries and the sessionizer's reads.
const metrics = createMetrics();
const analyticsMetrics = createMetrics();
const ch = await openClickHouse(config, log);
const [analyticsCh, sessionizerCh] = [await createClickHouseReaders(config, 3), await createClickHouse(config)];
const { pool, tiers, source } = await openTiers(config, metrics, log);
const ingest = createIngest(config, { ch, tiers, metrics, log: log.child({ fn: 'ingest' }) });
const analytics = createAnalytics(config, { ch: analyticsCh, metrics: analyticsMetrics, log: log.child({ fn: 'analytics' }) });
const sessionizer = createSessionizer(config, { ch: sessionizerCh, metrics, log: log.child({ fn: 'sessionizer' }) });
sessionizer.start(config.SESSIONIZER_INTERVAL_MS);
const ingestPort = config.PORT;
const analyticsPort = Number(config.PORT) === 8080 ? 8081 : config.PORT + 1;
const servers = [await listen(ingest.handler, ingestPort), await listen(analytics.app, analyticsPort)];
const ingestUrl = `http://127.0.0.1:${ingestPort}/`;

// The live shop: its users go to PostgreSQL first (5 % left out, so their tier is `unknown`).
const shop = rate > 0 ? createLiveShop({ seed: Number(args.seed), rate }) : undefined;
if (shop) {
  await source.upsert(shop.users.filter((u) => u.inPostgres).map((u) => ({ user_id: u.user_id, tier: u.tier }))).catch((err) => log.warn({ err: err.message }, 'could not seed users into PostgreSQL'));
  await tiers.warm();
}

let stopKafka: (() => Promise<void>) | undefined;
let send: (records: GeneratedRecord[]) => Promise<void> = async () => {};
if (shop && args.kafka) {
  const { startKafkaBroker, ensureTopics, createEventProducer } = await import('../local/kafka/index.js');
  const { createDispatcher, parseDispatcherConfig } = await import('../local/dispatcher/index.js');
  const broker = config.KAFKA_BROKERS ? undefined : await startKafkaBroker({ logger: log.child({ fn: 'kafka' }) });
  const brokers = config.KAFKA_BROKERS || broker!.brokers;
  await ensureTopics(brokers);
  const producer = createEventProducer(brokers, { logger: log.child({ fn: 'producer' }) });
  const dispatcher = createDispatcher(parseDispatcherConfig({
    bootstrapServers: brokers, topics: ['user_events', 'transactions'], sink: ingestUrl, name: 'speed-layer-events',
    namespace: 'speed-layer', consumerGroup: 'speed-layer-ingest', ordering: 'unordered', maxInFlight: 256,
    delivery: { retry: 5, backoffPolicy: 'exponential', backoffDelay: 'PT0.2S' }, deadLetterTopic: 'dead_letter_events',
  }), { logger: log.child({ fn: 'dispatcher' }) });
  await dispatcher.start();
  send = async (records) => {
    const t = byTopic(records);
    await Promise.all([producer.send('user_events', t.user_events), producer.send('transactions', t.transactions)]);
  };
  stopKafka = async () => { await producer.disconnect(); await dispatcher.stop(); await broker?.stop(); };
  log.info({ brokers }, 'Kafka path: generator -> Kafka -> dispatcher -> ingest');
} else if (shop) {
  // Per-event modes keep many requests in flight: each is answered only once its batch is stored.
  let inFlight = 0;
  const postOne = async (msg: ReturnType<typeof encode>) => {
    inFlight++;
    try {
      const r = await post(ingestUrl, msg);
      if (r.status !== 200) log.warn({ status: r.status, body: r.body }, 'ingest answered');
    } catch (err) {
      if (!stopping) log.warn({ err: (err as Error).message }, 'send failed');
    } finally {
      inFlight--;
    }
  };
  send = async (records) => {
    if (mode === 'batch') {
      for (let i = 0; i < records.length; i += 1000) void postOne(encode('batch', records.slice(i, i + 1000).map((r) => toCloudEvent(r))));
    } else {
      for (const r of records) if (inFlight < 2_000) void postOne(encode(mode, [toCloudEvent(r)]));
    }
  };
}

let generated = 0;
const tick = shop ? setInterval(() => {
  const due = shop.due(Date.now());
  generated += due.length;
  void send(due).catch((err) => log.warn({ err: (err as Error).message }, 'send failed'));
}, 100) : undefined;

// Live figures every 5 s, from this process's own metrics and the analytics API.
const gauge = async (name: string) => ((await metrics.registry.getSingleMetric(name)?.get())?.values ?? [])[0]?.value ?? 0;
const counter = async (name: string) => ((await metrics.registry.getSingleMetric(name)?.get())?.values ?? []).reduce((s, v) => s + v.value, 0);
let last = { at: Date.now(), received: 0, stored: 0, rejected: 0, generated: 0 };
const report = setInterval(async () => {
  const now = Date.now();
  const cur = {
    at: now, generated,
    received: await counter('speed_layer_events_received_total'),
    stored: ((await metrics.eventsStored.get()).values.find((v) => v.labels.table === 'user_events_realtime')?.value ?? 0) + ((await metrics.eventsStored.get()).values.find((v) => v.labels.table === 'transactions_realtime')?.value ?? 0),
    rejected: await counter('speed_layer_events_rejected_total'),
  };
  const dt = (now - last.at) / 1000;
  const flush = (await metrics.flushDuration.get()).values;
  const sum = flush.find((v) => v.metricName?.endsWith('_sum'))?.value ?? 0;
  const count = flush.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;
  const batches = (await metrics.batchRows.get()).values;
  const rowsSum = batches.find((v) => v.metricName?.endsWith('_sum'))?.value ?? 0;
  const funnel = await fetch(`http://127.0.0.1:${analyticsPort}/api/funnel?from=${new Date(now - 3600_000).toISOString()}`).then((r) => r.json() as Promise<{ data: { step: string; users: number }[] }>).catch(() => undefined);
  console.log(
    `[${new Date(now).toISOString().slice(11, 19)}] in ${((cur.received - last.received) / dt).toFixed(0)}/s · stored ${((cur.stored - last.stored) / dt).toFixed(0)}/s · rejected ${cur.rejected - last.rejected}` +
    ` · batches ${count} (avg ${count ? Math.round(rowsSum / count) : 0} rows, ${count ? Math.round((1000 * sum) / count) : 0} ms) · open sessions ${await gauge('speed_layer_open_sessions')}` +
    (funnel ? ` · funnel 1h: ${funnel.data.map((s) => `${s.step} ${s.users}`).join(' → ')}` : ''),
  );
  last = cur;
}, 5_000);

console.log(`
speed-layer is running (ClickHouse: ${config.CLICKHOUSE_URL || `embedded, ${config.CLICKHOUSE_DATA_DIR}`})
  ingest     POST ${ingestUrl}          (CloudEvents: binary, structured, batch)
  dashboard  http://127.0.0.1:${analyticsPort}/
  API        http://127.0.0.1:${analyticsPort}/api/funnel · /api/tiers · /api/products · /api/sessions/recent · /api/dead-letters
  metrics    ${ingestUrl}metrics
  generator  ${shop ? `${rate} events/s ${args.kafka ? 'through Kafka' : `over HTTP (${mode} mode)`}` : 'off (--rate 0)'}
Ctrl-C stops and flushes what is buffered.
`);

async function stop() {
  if (stopping) return;
  stopping = true;
  console.log('stopping: flushing buffered events…');
  if (tick) clearInterval(tick);
  clearInterval(report);
  await stopKafka?.().catch((err) => log.warn({ err: (err as Error).message }, 'Kafka stop failed'));
  for (const s of servers) { s.close(); s.closeAllConnections(); }
  await ingest.close();
  await sessionizer.runOnce().catch(() => undefined);
  await sessionizer.stop();
  tiers.close();
  await pool.end();
  await Promise.all([ch.close(), analyticsCh.close(), sessionizerCh.close()]);
  console.log(`stopped; ${generated} events generated this run`);
  process.exit(0);
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
