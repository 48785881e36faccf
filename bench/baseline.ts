/**
 * The side-by-side baseline, run as its own process so its CPU and memory can be read from /proc:
 * what a user might pick instead of the speed layer. ClickHouse's own `Kafka` table engine reads
 * the topics and materialized views write the rows into the same schema (sql/, so the same
 * downstream views), with no validation, de-duplication, sessions or tier enrichment. It runs
 * in the embedded engine (chDB), which does run the Kafka engine's background consumers.
 *
 *   node --import tsx bench/baseline.ts '{"dataDir":…,"database":…,"brokers":…,"topics":{…},"port":…}'
 *
 * It answers `POST /query` (SQL in the body, JSONEachRow out) on 127.0.0.1:port so the bench can
 * poll it, prints `ready` once the tables exist, and closes the engine on SIGTERM.
 */
import { createServer } from 'node:http';
import { mkdirSync } from 'node:fs';
import { createClient } from '@clickhouse/client';
import { migrationStatements } from '../functions/adapters/migrations.js';
import { isMain } from '../local/is-main.js';

export type BaselineOptions = {
  dataDir: string;
  database: string;
  brokers: string;
  topics: { events: string; transactions: string };
  port: number;
  /** Knobs a user would set: the same flush size/age as the speed layer's micro-batch. */
  maxBlockSize: number;
  flushIntervalMs: number;
  consumers: number;
};

const KAFKA_COLUMNS = {
  events: `event_id UUID, event_type LowCardinality(String), user_id UUID, timestamp DateTime64(3, 'UTC'),
    page_url String, product_id String, category LowCardinality(String), price Decimal(18, 2), quantity UInt16,
    search_query String, order_id UUID, device_type LowCardinality(String), referrer String`,
  transactions: `transaction_id UUID, order_id UUID, user_id UUID, timestamp DateTime64(3, 'UTC'),
    items Array(Tuple(product_id String, quantity UInt16, unit_price Decimal(18, 2))),
    subtotal Decimal(18, 2), discount Decimal(18, 2), tax Decimal(18, 2), total_amount Decimal(18, 2),
    currency LowCardinality(String), payment_method LowCardinality(String), status LowCardinality(String)`,
};
/** Columns a user would fill without enrichment; every other column of the target keeps its DEFAULT. */
const DERIVED: Record<string, string> = { user_tier: `'unknown'`, received_at: 'now64(3)' };

/**
 * The DDL of the baseline: the Kafka tables and the views that move their rows into sql/'s tables.
 * `targetColumns` are the columns of user_events_realtime and transactions_realtime as sql/
 * defines them today (the schema changes; the baseline follows it).
 */
export function baselineStatements(o: BaselineOptions, targetColumns: { events: string[]; transactions: string[] }): string[] {
  const db = o.database;
  // One consumer group per table: two tables in one group split the partitions between them.
  const kafka = (topic: string) => `ENGINE = Kafka SETTINGS
      kafka_broker_list = '${o.brokers}', kafka_topic_list = '${topic}', kafka_group_name = 'clickhouse-baseline-${topic}',
      kafka_format = 'JSONEachRow', kafka_num_consumers = ${o.consumers}, kafka_max_block_size = ${o.maxBlockSize},
      kafka_flush_interval_ms = ${o.flushIntervalMs}, kafka_handle_error_mode = 'stream',
      date_time_input_format = 'best_effort', input_format_skip_unknown_fields = 1`;
  const select = (kind: 'events' | 'transactions') => {
    const source = new Set(KAFKA_COLUMNS[kind].split(',').map((c) => c.trim().split(/\s+/)[0]!).filter((c) => /^[a-z_]+$/.test(c)));
    return targetColumns[kind].flatMap((c) => (source.has(c) ? [c] : DERIVED[c] ? [`${DERIVED[c]} AS ${c}`] : [])).join(', ');
  };
  const deadLetters = (table: string, kind: string) => `
    CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.${table}_errors_mv TO ${db}.dead_letter_events AS
    SELECT now64(3) AS received_at, 'parse_error' AS reason, _error AS detail, '' AS field, '${kind}' AS event_type,
           concat('partition:', toString(_partition), '/offset:', toString(_offset)) AS ce_id, _topic AS ce_source,
           'dev.knative.kafka.event' AS ce_type, '' AS ce_subject, _raw_message AS payload
    FROM ${db}.${table} WHERE length(_error) > 0`;
  return [
    `CREATE TABLE IF NOT EXISTS ${db}.kafka_user_events (${KAFKA_COLUMNS.events}) ${kafka(o.topics.events)}`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.kafka_user_events_mv TO ${db}.user_events_realtime AS
     SELECT ${select('events')} FROM ${db}.kafka_user_events WHERE length(_error) = 0`,
    deadLetters('kafka_user_events', 'event'),
    `CREATE TABLE IF NOT EXISTS ${db}.kafka_transactions (${KAFKA_COLUMNS.transactions}) ${kafka(o.topics.transactions)}`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.kafka_transactions_mv TO ${db}.transactions_realtime AS
     SELECT ${select('transactions')} FROM ${db}.kafka_transactions WHERE length(_error) = 0`,
    deadLetters('kafka_transactions', 'transaction'),
  ];
}

async function main() {
  const o = JSON.parse(process.argv[2] ?? '{}') as BaselineOptions;
  mkdirSync(o.dataDir, { recursive: true });
  const { createChdbConnection } = await import('chdb/connection');
  const connection = createChdbConnection({ path: o.dataDir });
  const ch = createClient({ connection, clickhouse_settings: { output_format_json_quote_64bit_integers: 1 } } as Parameters<typeof createClient>[0]);
  for (const { sql } of migrationStatements(o.database)) await ch.command({ query: sql });
  const columns = async (table: string) => (await (await ch.query({
    query: `SELECT name FROM system.columns WHERE database = {db:String} AND table = {t:String} AND default_kind NOT IN ('MATERIALIZED', 'ALIAS') ORDER BY position`,
    query_params: { db: o.database, t: table }, format: 'JSONEachRow',
  })).json<{ name: string }>()).map((r) => r.name);
  const target = { events: await columns('user_events_realtime'), transactions: await columns('transactions_realtime') };
  for (const sql of baselineStatements(o, target)) await ch.command({ query: sql });

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      ch.query({ query: Buffer.concat(chunks).toString('utf8'), format: 'JSONEachRow' })
        .then((r) => r.text())
        .then((text) => { res.writeHead(200, { 'content-type': 'application/x-ndjson' }); res.end(text); })
        .catch((err: Error) => { res.writeHead(500); res.end(err.message); });
    });
  });
  server.listen(o.port, '127.0.0.1', () => process.stdout.write('ready\n'));

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    server.close();
    server.closeAllConnections();
    // Detach the consumers first so nothing is mid-insert when the engine closes.
    for (const t of ['kafka_user_events', 'kafka_transactions']) await ch.command({ query: `DETACH TABLE IF EXISTS ${o.database}.${t}` }).catch(() => undefined);
    await ch.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

if (isMain(import.meta.url)) await main();
