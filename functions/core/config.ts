import { Type, type Static } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import { DEFAULT_GAP_MS, DEFAULT_MAX_DURATION_MS } from '../steps/sessionize.js';

/**
 * The only reader of process.env. Every option has a documented default; values are coerced and
 * validated once at start-up, and a bad value stops the process with the variable's name.
 */
const ConfigSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8080, description: 'HTTP port of this function (analytics 8081, sessionizer 8082 under their npm scripts)' }),
  CLICKHOUSE_URL: Type.String({ default: '', description: 'ClickHouse HTTP endpoint; empty: the embedded engine (chDB)' }),
  CLICKHOUSE_USER: Type.String({ default: 'default', description: 'ClickHouse server user' }),
  CLICKHOUSE_PASSWORD: Type.String({ default: '', description: 'ClickHouse server password' }),
  CLICKHOUSE_DATABASE: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$', default: 'speed_layer', description: 'ClickHouse database' }),
  CLICKHOUSE_DATA_DIR: Type.String({ default: '.data/clickhouse', description: 'data directory of the embedded engine' }),
  CLICKHOUSE_MIGRATE: Type.Boolean({ default: true, description: 'apply sql/ at start; false in the cluster, where a Job with DDL rights does it' }),
  DATABASE_URL: Type.String({ default: 'postgres://postgres@127.0.0.1:5432/postgres', description: 'PostgreSQL holding user tiers' }),
  USERS_TABLE: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)?$', default: 'users', description: 'PostgreSQL table of users and their tiers' }),
  PG_POOL_SIZE: Type.Integer({ minimum: 1, maximum: 100, default: 4, description: 'PostgreSQL connections per process' }),
  KAFKA_BROKERS: Type.String({ default: '', description: 'comma-separated Kafka brokers; also where dead letters are produced (topic dead_letter_events); empty: no Kafka, events come over HTTP' }),
  BATCH_MAX_ROWS: Type.Integer({ minimum: 1, default: 10_000, description: 'flush a micro-batch at this many rows' }),
  BATCH_MAX_AGE_MS: Type.Integer({ minimum: 1, default: 2_000, description: 'or when its oldest row is this old' }),
  BATCH_MAX_INSERTS_PER_S: Type.Integer({ minimum: 0, default: 2, description: 'or at once when no insert is running, at most this many times a second per table (0: by size and age only; docs/ingest-flush.md)' }),
  BATCH_INSERT_BURST: Type.Integer({ minimum: 1, default: 20, description: 'idle seals allowed back to back after a quiet spell, before BATCH_MAX_INSERTS_PER_S applies: events sent one at a time are each stored at once' }),
  // Back-pressure: beyond this many buffered rows, requests get 503 instead of growing memory.
  BUFFER_MAX_ROWS: Type.Integer({ minimum: 1, default: 50_000, description: 'beyond this many buffered rows, 503 (back-pressure)' }),
  INSERT_MAX_RETRIES: Type.Integer({ minimum: 0, default: 5, description: 'attempts before senders get 503 (the batch keeps retrying)' }),
  ACK_BUDGET_MS: Type.Integer({ minimum: 1, default: 10_000, description: 'ClickHouse breaker: requests get 503 while their rows could not be stored within this long (keep it under the sender\'s timeout; the charts use 80 % of KafkaSource\'s delivery timeout, 8000)' }),
  TIER_CACHE_TTL_S: Type.Integer({ minimum: 1, default: 900, description: 'tier cache TTL (15 minutes)' }),
  TIER_UNKNOWN_TTL_S: Type.Integer({ minimum: 1, default: 60, description: 'how long "not in PostgreSQL" is believed' }),
  TIER_CACHE_WARM_MAX: Type.Integer({ minimum: 0, default: 200_000, description: 'users loaded into the cache at start' }),
  SESSION_GAP_MS: Type.Integer({ minimum: 1, default: DEFAULT_GAP_MS, description: 'inactivity that ends a session' }),
  SESSION_MAX_DURATION_MS: Type.Integer({ minimum: 1, default: DEFAULT_MAX_DURATION_MS, description: 'longest a session lasts; the next event starts a new one (trigger max_duration)' }),
  SESSIONIZER_INTERVAL_MS: Type.Integer({ minimum: 100, default: 2_000, description: 'how often the sessionizer runs' }),
  SESSIONIZER_SNAPSHOT_MS: Type.Integer({ minimum: 1_000, default: 300_000, description: 'how often the open sessions are snapshotted, as the users changed since the last snapshot (a restart replays the inbox since the last one)' }),
  SESSIONIZER_CHUNK_USERS: Type.Integer({ minimum: 1, default: 10_000, description: 'users recomputed per query after a late event or a second copy' }),
  ALLOWED_LATENESS_MS: Type.Integer({ minimum: 0, default: 60_000, description: 'watermark = max event time - this' }),
  IDLE_TIMEOUT_MS: Type.Integer({ minimum: 1, default: 10_000, description: 'no events this long: the watermark follows the wall clock' }),
  MAX_FUTURE_SKEW_MS: Type.Integer({ minimum: 0, default: 5 * 60_000, description: 'events further ahead than this are rejected (future_timestamp)' }),
  UNKNOWN_FIELDS: Type.Union([Type.Literal('warn'), Type.Literal('reject')], { default: 'warn', description: 'a field the schema does not know: stored without it and counted as a warning (warn), or the event dead-lettered (reject); docs/data-quality.md' }),
  DEDUPE_WINDOW: Type.Integer({ minimum: 0, default: 1_000_000, description: 'recent event ids remembered per ingest replica' }),
  ANALYTICS_STALE_MS: Type.Integer({ minimum: 0, default: 0, description: 'past ANALYTICS_CACHE_MS an answer is still served this long while one query refreshes it (npm start: 4000)' }),
  ANALYTICS_CACHE_MS: Type.Integer({ minimum: 0, default: 1_000, description: 'analytics answers are reused this long (0: only identical queries in flight are shared)' }),
  LOG_LEVEL: Type.Union([Type.Literal('fatal'), Type.Literal('error'), Type.Literal('warn'), Type.Literal('info'), Type.Literal('debug'), Type.Literal('trace'), Type.Literal('silent')], { default: 'info', description: 'pino log level: fatal, error, warn, info, debug, trace or silent' }),
});

export type Config = Static<typeof ConfigSchema>;

const ajv = new Ajv({ coerceTypes: true, useDefaults: true, allErrors: true });
const check = ajv.compile(ConfigSchema);

/** Reads the configuration from an environment (process.env by default), with overrides for tests. */
export function loadConfig(env: Record<string, string | undefined> = process.env, overrides: Partial<Config> = {}, defaults: Partial<Config> = {}): Config {
  const known = Object.keys(ConfigSchema.properties);
  const raw: Record<string, unknown> = { ...defaults };
  for (const key of known) {
    const v = env[key];
    if (v !== undefined && v !== '') raw[key] = v;
  }
  Object.assign(raw, overrides);
  if (!check(raw)) {
    const msgs = (check.errors ?? []).map((e) => `${e.instancePath.slice(1) || e.params.missingProperty}: ${e.message} (got ${JSON.stringify(raw[e.instancePath.slice(1)])})`);
    throw new Error(`invalid configuration:\n  ${msgs.join('\n  ')}`);
  }
  const c = raw as Config;
  // Every row waits up to a flush window before it can be stored: a budget shorter than that would
  // have the breaker refuse rows with nothing wrong.
  if (c.ACK_BUDGET_MS <= c.BATCH_MAX_AGE_MS) {
    throw new Error(`invalid configuration:\n  ACK_BUDGET_MS: must be longer than BATCH_MAX_AGE_MS (${c.BATCH_MAX_AGE_MS}), or healthy batches would be refused (got ${c.ACK_BUDGET_MS})`);
  }
  return c;
}

/** Documented defaults, for docs/configuration.md (generated: npm run docs:config). */
export function describeConfig() {
  return Object.entries(ConfigSchema.properties).map(([name, s]) => ({
    name,
    default: (s as { default?: unknown }).default,
    description: (s as { description?: string }).description ?? '',
  }));
}
