import { loadConfig } from '../functions/core/config.js';
import { composeSpeedLayer } from '../functions/core/compose.js';
import { createLogger } from '../functions/core/log.js';
import { listen } from '../functions/adapters/http-server.js';
import { encode, toCloudEvent, post } from '../generator/cloudevents.js';
import { createLiveShop } from '../generator/live.js';
import type { GeneratedRecord } from '../generator/simulate.js';
import { parseStartArgs, START_USAGE } from './start/args.js';
import { kcatLine, startKafkaPath } from './start/kafka.js';
import { createShutdown } from './start/shutdown.js';
import { startStatusLine } from './start/status.js';

/**
 * `npm start`: the whole speed layer on one machine with nothing configured. The embedded
 * ClickHouse (data in .data/clickhouse), the machine's PostgreSQL (users seeded), ingest on 8080,
 * analytics and the dashboard on 8081, and a live shop sending CloudEvents at --rate events/s
 * (over HTTP, or with --kafka through a local Kafka broker and a KafkaSource-like dispatcher).
 */
const args = parseStartArgs(process.argv.slice(2));
if (args.help) {
  console.log(START_USAGE);
  process.exit(0);
}

// One process, one embedded engine: the dashboard's queries share its two cores with the ingest and
// the sessionizer. Answers past their cache time are served while they refresh (ANALYTICS_STALE_MS;
// 0 elsewhere, where ClickHouse is a server), never older than 2 s (analytics/cache.ts).
const config = loadConfig(process.env, {}, { ANALYTICS_STALE_MS: 4_000 });
const log = createLogger('speed-layer', config.LOG_LEVEL);
const layer = await composeSpeedLayer(config, { functions: ['ingest', 'analytics', 'sessionizer'], log, ownConnections: true, childLogs: true });
const [ingest, analytics, tiers] = [layer.ingest!, layer.analytics!, layer.tiers!];
layer.start();
const ingestPort = config.PORT;
const analyticsPort = Number(config.PORT) === 8080 ? 8081 : config.PORT + 1;
const servers = [await listen(ingest.handler, ingestPort), await listen(analytics.app, analyticsPort)];
const ingestUrl = `http://127.0.0.1:${ingestPort}/`;

// The live shop: its users go to PostgreSQL first (5 % left out, so their tier is `unknown`).
const shop = args.rate > 0 ? createLiveShop({ seed: args.seed, rate: args.rate }) : undefined;
if (shop) {
  await tiers.source.upsert(shop.users.filter((u) => u.inPostgres).map((u) => ({ user_id: u.user_id, tier: u.tier }))).catch((err) => log.warn({ err: err.message }, 'could not seed users into PostgreSQL'));
  await tiers.tiers.warm();
}

let stopping = false;
const kafka = args.kafka ? await startKafkaPath(config, { rate: args.rate, ingestUrl, log }) : undefined;
let send: (records: GeneratedRecord[]) => Promise<void> = async () => {};
if (kafka) {
  send = (records) => kafka.send(records);
} else if (shop) {
  // Many requests in flight: each is answered only once its batch is stored. Bounded, so a
  // ClickHouse that hangs cannot pile up requests without end.
  let inFlight = 0;
  const postOne = async (msg: ReturnType<typeof encode>) => {
    inFlight++;
    try {
      const r = await post(ingestUrl, msg);
      if (r.status !== 200 && r.status !== 503) log.warn({ status: r.status, body: r.body }, 'ingest answered');
    } catch (err) {
      if (!stopping) log.warn({ err: (err as Error).message }, 'send failed');
    } finally {
      inFlight--;
    }
  };
  send = async (records) => {
    if (args.mode === 'batch') {
      for (let i = 0; i < records.length; i += 1000) if (inFlight < 2_000) void postOne(encode('batch', records.slice(i, i + 1000).map((r) => toCloudEvent(r))));
    } else {
      for (const r of records) if (inFlight < 2_000) void postOne(encode(args.mode, [toCloudEvent(r)]));
    }
  };
}

// What fell due while the layer was starting (seeding the users of a high rate takes minutes) is
// skipped, not sent as one burst; each tick then sends at most 3x its share, so a stall catches
// up without flooding the ingest.
if (shop) log.info({ skipped: shop.due(Date.now()).length }, 'live shop: records due during start-up skipped');
const perTickMax = Math.ceil((args.rate / 10) * 3);
let generated = 0;
const tick = shop ? setInterval(() => {
  const due = shop.due(Date.now(), perTickMax);
  generated += due.length;
  void send(due).catch((err) => log.warn({ err: (err as Error).message }, 'send failed'));
}, 100) : undefined;

// Live figures; a ClickHouse outage is reported on the line (503s from the ingest are expected then).
const status = startStatusLine({
  metrics: layer.metrics, ch: layer.ch, analyticsUrl: `http://127.0.0.1:${analyticsPort}/`, everyMs: args.statusEvery * 1000,
  print: (line) => console.log(line),
  onChange: (s) => (s.up ? log.info('ClickHouse answers again') : log.warn({ why: s.why }, 'ClickHouse does not answer: the ingest answers 503 until it is back')),
});

console.log(`
speed-layer is running (ClickHouse: ${config.CLICKHOUSE_URL || `embedded, ${config.CLICKHOUSE_DATA_DIR}`})
  ingest     POST ${ingestUrl}          (CloudEvents: binary, structured, batch)
  dashboard  http://127.0.0.1:${analyticsPort}/
  API        http://127.0.0.1:${analyticsPort}/api/funnel · /api/tiers · /api/products · /api/sessions/recent · /api/dead-letters
  metrics    ${ingestUrl}metrics
  generator  ${shop ? `${args.rate} events/s ${kafka ? 'through Kafka' : `over HTTP (${args.mode} mode)`}` : 'off (--rate 0)'}` +
(kafka ? `
  kafka      ${kafka.brokers}: topics user_events, transactions (key: user id, value: the event's JSON); dispatcher up to ${kafka.maxInFlight} in flight
  produce    ${kcatLine(kafka.brokers)}` : '') + `
Ctrl-C stops and flushes what is buffered.
`);

const shutdown = createShutdown({
  print: (line) => console.log(line),
  exit: (code) => process.exit(code),
  steps: [
    { name: 'stop generating', run: () => { stopping = true; console.log('stopping: flushing buffered events…'); if (tick) clearInterval(tick); status.stop(); } },
    { name: 'stop Kafka', run: () => kafka?.stop() },
    { name: 'close the servers', run: () => { for (const s of servers) { s.close(); s.closeAllConnections(); } } },
    { name: 'flush the ingest', run: () => layer.closeIngest() },
    { name: 'a last sessionizer run', run: () => layer.sessionizer!.runOnce() },
    { name: 'close the functions and connections', run: () => layer.close() },
    { name: 'report', run: () => console.log(`stopped; ${generated} events generated this run`) },
  ],
});
process.on('SIGINT', () => void shutdown.onSignal('SIGINT'));
process.on('SIGTERM', () => void shutdown.onSignal('SIGTERM'));
