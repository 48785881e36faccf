import { loadConfig } from '../functions/core/config.js';
import { composeSpeedLayer } from '../functions/core/compose.js';
import { createLogger } from '../functions/core/log.js';
import { listen } from '../functions/adapters/http-server.js';
import { parseStartArgs, START_USAGE } from './start/args.js';
import { kcatLine, startKafkaPath } from './start/kafka.js';
import { createShutdown } from './start/shutdown.js';
import { spawnShop } from './start/shop.js';
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
const layer = await composeSpeedLayer(config, { functions: ['ingest', 'analytics', 'sessionizer'], log, ownConnections: true, childLogs: true, sessionizerThread: true });
const [ingest, analytics, tiers] = [layer.ingest!, layer.analytics!, layer.tiers!];
layer.start();
const ingestPort = config.PORT;
const analyticsPort = Number(config.PORT) === 8080 ? 8081 : config.PORT + 1;
const servers = [await listen(ingest.handler, ingestPort), await listen(analytics.app, analyticsPort)];
const ingestUrl = `http://127.0.0.1:${ingestPort}/`;

// The live shop, a process of its own (./start/shop.ts), seeds its users into PostgreSQL while
// the broker starts; the tier cache is warmed with them before the first event arrives.
const shopReady = args.rate > 0
  ? spawnShop({ seed: args.seed, rate: args.rate, databaseUrl: config.DATABASE_URL, usersTable: config.USERS_TABLE, logLevel: config.LOG_LEVEL }, log)
  : undefined;
const kafka = args.kafka ? await startKafkaPath(config, { rate: args.rate, ingestUrl, log }) : undefined;
const shop = await shopReady;
if (shop) await tiers.tiers.warm();
shop?.go(kafka ? { kind: 'kafka', brokers: kafka.brokers } : { kind: 'http', url: ingestUrl, mode: args.mode });

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
    { name: 'stop generating', run: async () => { console.log('stopping: flushing buffered events…'); status.stop(); await shop?.stop(); } },
    { name: 'stop Kafka', run: () => kafka?.stop() },
    { name: 'close the servers', run: () => { for (const s of servers) { s.close(); s.closeAllConnections(); } } },
    { name: 'flush the ingest', run: () => layer.closeIngest() },
    { name: 'a last sessionizer run', run: () => layer.sessionizer!.runOnce() },
    { name: 'close the functions and connections', run: () => layer.close() },
    { name: 'report', run: () => console.log(`stopped; ${shop?.generated() ?? 0} events generated this run`) },
  ],
});
process.on('SIGINT', () => void shutdown.onSignal('SIGINT'));
process.on('SIGTERM', () => void shutdown.onSignal('SIGTERM'));
