/**
 * After a run, with the system under test stopped: opens its ClickHouse data directory (chDB binds
 * one directory per process, so this is a process of its own) and compares every id the bench sent
 * with what was stored. Prints one JSON object (VerifyResult) on stdout.
 *
 *   node --import tsx bench/verify.ts '{"dataDir":…,"database":…,"sentFile":…,"t0Ms":…,"windowStartMs":…,"windowEndMs":…}'
 *
 * The sent log has one line per record: id, kind (e event, t transaction, m marker, i invalid),
 * the intended send time in ms. Valid ids (e, t, m) must each be stored once: `lost` counts those
 * missing, `duplicates` the extra copies that count in the figures (sum of `sign` above 1 where
 * the table has a sign column, else extra rows), `duplicate_rows` every extra row stored.
 */
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { isMain } from '../local/is-main.js';

/** `sinceMs`: rows stored before it are history (--history), not the run's, and are left out. */
export type VerifyInput = { dataDir: string; database: string; sentFile: string; t0Ms: number; windowStartMs: number; windowEndMs: number; sinceMs?: number };
export type VerifyResult = {
  sent: Record<'events' | 'transactions' | 'markers' | 'invalid', number>;
  stored: { events: number; transactions: number };
  lost: { events: number; transactions: number; sample: string[] };
  duplicates: number;
  duplicate_rows: number;
  /** Rows stored whose id the bench never sent as valid (a broken record stored anyway). */
  unexpected_rows: number;
  dead_letters: number;
  window: { rows_stored: number; events_per_s: number };
  store_latency_ms: { p50: number; p95: number; p99: number; max: number } | undefined;
  /** Per second since t0: rows first stored that second; and p50/p99 of store latency of rows sent that second. */
  per_second: { s: number; stored: number; latency_p50?: number; latency_p99?: number }[];
  parts: { active: number; by_table: Record<string, number> };
  views: { conversion_funnel_events: number; net_events_stored: number };
  /** Sessions in user_sessions_realtime (current rows), those of this run (ending after t0), and closed ones by trigger; undefined without the table. */
  sessions?: { stored: number; in_run: number; closed: number; by_trigger: Record<string, number> };
};

async function rows<T>(ch: ClickHouseClient, query: string): Promise<T[]> {
  return (await ch.query({ query, format: 'JSONEachRow' })).json<T>();
}

export async function verify(ch: ClickHouseClient, o: VerifyInput): Promise<VerifyResult> {
  const db = o.database;
  const cols = async (table: string) => new Set((await rows<{ name: string }>(ch, `SELECT name FROM system.columns WHERE database = '${db}' AND table = '${table}'`)).map((r) => r.name));
  const evCols = await cols('user_events_realtime');
  const txCols = await cols('transactions_realtime');
  const net = (c: Set<string>) => (c.has('sign') ? 'sum(sign)' : 'count()');
  const at = (c: Set<string>) => (c.has('stored_at') ? 'min(stored_at)' : c.has('received_at') ? 'min(received_at)' : 'now64(3)');

  const since = (c: Set<string>) => (o.sinceMs && c.has('stored_at') ? `WHERE stored_at >= fromUnixTimestamp64Milli(${Math.trunc(o.sinceMs)})` : '');
  await ch.command({ query: 'CREATE DATABASE IF NOT EXISTS bench_verify' });
  for (const t of ['sent', 'stored']) await ch.command({ query: `DROP TABLE IF EXISTS bench_verify.${t}` });
  await ch.command({ query: `CREATE TABLE bench_verify.sent ENGINE = MergeTree ORDER BY id AS
    SELECT * FROM file('${o.sentFile}', 'TSV', 'id UUID, kind LowCardinality(String), sent_ms Int64')` });
  await ch.command({ query: `CREATE TABLE bench_verify.stored ENGINE = MergeTree ORDER BY id AS
    SELECT 'e' AS table, event_id AS id, count() AS copies, toInt64(${net(evCols)}) AS net, toUnixTimestamp64Milli(${at(evCols)}) AS first_ms
    FROM ${db}.user_events_realtime ${since(evCols)} GROUP BY event_id
    UNION ALL
    SELECT 't' AS table, transaction_id AS id, count() AS copies, toInt64(${net(txCols)}) AS net, toUnixTimestamp64Milli(${at(txCols)}) AS first_ms
    FROM ${db}.transactions_realtime ${since(txCols)} GROUP BY transaction_id` });

  const [sent] = await rows<Record<string, string>>(ch, `SELECT countIf(kind = 'e') AS events, countIf(kind = 't') AS transactions, countIf(kind = 'm') AS markers, countIf(kind = 'i') AS invalid FROM bench_verify.sent`);
  const [joined] = await rows<Record<string, string>>(ch, `
    SELECT countIf(s.kind IN ('e', 'm') AND st.table = 'e' AND st.net > 0) AS events,
           countIf(s.kind = 't' AND st.table = 't' AND st.net > 0) AS transactions,
           sumIf(st.net - 1, st.net > 1) AS duplicates, sumIf(st.copies - 1, st.copies > 1) AS duplicate_rows
    FROM bench_verify.sent AS s INNER JOIN bench_verify.stored AS st ON s.id = st.id
    WHERE s.kind IN ('e', 't', 'm')`);
  const lostSample = await rows<{ id: string; kind: string }>(ch, `
    SELECT id, kind FROM bench_verify.sent WHERE kind IN ('e', 't', 'm')
      AND id NOT IN (SELECT id FROM bench_verify.stored WHERE net > 0) ORDER BY sent_ms LIMIT 10`);
  const [unexpected] = await rows<{ n: string }>(ch, `SELECT count() AS n FROM bench_verify.stored WHERE id NOT IN (SELECT id FROM bench_verify.sent WHERE kind IN ('e', 't', 'm'))`);
  const [window] = await rows<{ n: string }>(ch, `SELECT count() AS n FROM bench_verify.stored WHERE first_ms >= ${o.windowStartMs} AND first_ms < ${o.windowEndMs}`);
  const [latency] = await rows<Record<string, number>>(ch, `
    SELECT quantile(0.5)(l) AS p50, quantile(0.95)(l) AS p95, quantile(0.99)(l) AS p99, max(l) AS max, count() AS n
    FROM (SELECT st.first_ms - s.sent_ms AS l FROM bench_verify.sent AS s INNER JOIN bench_verify.stored AS st ON s.id = st.id
          WHERE s.kind IN ('e', 't', 'm') AND s.sent_ms >= ${o.windowStartMs} AND s.sent_ms < ${o.windowEndMs})`);
  const storedPerSecond = await rows<{ s: string; n: string }>(ch, `SELECT intDiv(first_ms - ${o.t0Ms}, 1000) AS s, count() AS n FROM bench_verify.stored WHERE first_ms >= ${o.t0Ms} GROUP BY s ORDER BY s`);
  const latencyPerSecond = await rows<{ s: string; p50: number; p99: number }>(ch, `
    SELECT intDiv(s.sent_ms - ${o.t0Ms}, 1000) AS s, quantile(0.5)(st.first_ms - s.sent_ms) AS p50, quantile(0.99)(st.first_ms - s.sent_ms) AS p99
    FROM bench_verify.sent AS s INNER JOIN bench_verify.stored AS st ON s.id = st.id WHERE s.kind IN ('e', 't', 'm') GROUP BY s ORDER BY s`);
  const [deadLetters] = await rows<{ n: string }>(ch, `SELECT count() AS n FROM ${db}.dead_letter_events`);
  const parts = await rows<{ table: string; n: string }>(ch, `SELECT table, count() AS n FROM system.parts WHERE database = '${db}' AND active GROUP BY table ORDER BY table`);
  const [views] = await rows<{ funnel: string; net: string }>(ch, `
    SELECT (SELECT sum(events) FROM ${db}.conversion_funnel) AS funnel, (SELECT sum(net) FROM bench_verify.stored WHERE table = 'e') AS net`);

  const num = (v: unknown) => Number(v ?? 0);
  const sessions = await rows<{ closed_by: string; closed: string; n: string; in_run: string }>(ch, `
    SELECT closed_by, toUInt8(is_closed) AS closed, count() AS n, countIf(end_time >= fromUnixTimestamp64Milli(${o.t0Ms})) AS in_run
    FROM ${db}.user_sessions_realtime FINAL WHERE is_deleted = 0 GROUP BY closed_by, closed`).catch(() => undefined);
  const sentValid = { events: num(sent!.events) + num(sent!.markers), transactions: num(sent!.transactions) };
  const stored = { events: num(joined!.events), transactions: num(joined!.transactions) };
  const latencyBySecond = new Map(latencyPerSecond.map((r) => [num(r.s), r]));
  const seconds = new Set([...storedPerSecond.map((r) => num(r.s)), ...latencyBySecond.keys()]);
  const storedBySecond = new Map(storedPerSecond.map((r) => [num(r.s), num(r.n)]));
  const windowS = (o.windowEndMs - o.windowStartMs) / 1000;
  return {
    sent: { events: num(sent!.events), transactions: num(sent!.transactions), markers: num(sent!.markers), invalid: num(sent!.invalid) },
    stored,
    lost: { events: sentValid.events - stored.events, transactions: sentValid.transactions - stored.transactions, sample: lostSample.map((r) => `${r.kind}:${r.id}`) },
    duplicates: num(joined!.duplicates),
    duplicate_rows: num(joined!.duplicate_rows),
    unexpected_rows: num(unexpected!.n),
    dead_letters: num(deadLetters!.n),
    window: { rows_stored: num(window!.n), events_per_s: Math.round(num(window!.n) / windowS) },
    store_latency_ms: num(latency!.n) > 0 ? { p50: num(latency!.p50), p95: num(latency!.p95), p99: num(latency!.p99), max: num(latency!.max) } : undefined,
    per_second: [...seconds].sort((a, b) => a - b).map((s) => {
      const l = latencyBySecond.get(s);
      return { s, stored: storedBySecond.get(s) ?? 0, ...(l ? { latency_p50: num(l.p50), latency_p99: num(l.p99) } : {}) };
    }),
    parts: { active: parts.reduce((a, r) => a + num(r.n), 0), by_table: Object.fromEntries(parts.map((r) => [r.table, num(r.n)])) },
    views: { conversion_funnel_events: num(views!.funnel), net_events_stored: num(views!.net) },
    sessions: sessions && {
      stored: sessions.reduce((a, r) => a + num(r.n), 0),
      in_run: sessions.reduce((a, r) => a + num(r.in_run), 0),
      closed: sessions.filter((r) => num(r.closed) === 1).reduce((a, r) => a + num(r.n), 0),
      by_trigger: Object.fromEntries(sessions.filter((r) => num(r.closed) === 1).map((r) => [r.closed_by || 'none', num(r.n)])),
    },
  };
}

if (isMain(import.meta.url)) {
  const o = JSON.parse(process.argv[2] ?? '{}') as VerifyInput;
  const { createChdbConnection } = await import('chdb/connection');
  const ch = createClient({ connection: createChdbConnection({ path: o.dataDir }), clickhouse_settings: { output_format_json_quote_64bit_integers: 0 } } as Parameters<typeof createClient>[0]);
  try {
    process.stdout.write(`${JSON.stringify(await verify(ch, o))}\n`);
  } finally {
    await ch.command({ query: 'DROP DATABASE IF EXISTS bench_verify' }).catch(() => undefined);
    await ch.close();
  }
}
