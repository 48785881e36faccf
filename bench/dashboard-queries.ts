import { parseArgs } from 'node:util';
import { QUERIES, chTime, question, type QueryName } from '../functions/analytics/queries.js';
import { loadConfig } from '../functions/core/config.js';
import { createLogger } from '../functions/core/log.js';
import { openClickHouse } from '../functions/core/runtime.js';

/**
 * What each of the dashboard's queries costs against the data a run left behind (a `--keep` run
 * folder's ClickHouse, e.g. after `--history 20000000`): every query of
 * functions/analytics/queries.ts with the dashboard's default range (the last 24 hours), run
 * `--repeat` times one after another with nothing else running. Prints one JSON line: the rows in
 * range for context, and each query's wall time (p50 and max, ms), slowest first.
 *
 *   npx tsx bench/dashboard-queries.ts --data .data/bench/<run>/clickhouse [--database speed_layer] [--repeat 5]
 */
const { values: o } = parseArgs({ options: { data: { type: 'string' }, database: { type: 'string', default: 'speed_layer' }, repeat: { type: 'string', default: '5' } } });
if (!o.data) throw new Error('--data: a ClickHouse data folder (a kept bench run: .data/bench/<run>/clickhouse)');
const config = loadConfig(process.env, { CLICKHOUSE_URL: '', CLICKHOUSE_DATA_DIR: o.data, CLICKHOUSE_DATABASE: o.database, LOG_LEVEL: 'warn' });
const ch = await openClickHouse(config, createLogger('bench', 'warn'));
const db = o.database!;
const json = async <T>(query: string, params: Record<string, unknown> = {}) => (await ch.query({ query: query.replaceAll('{db}', db), query_params: params, format: 'JSONEachRow' })).json<T>();

// The newest stored event is "now": a kept folder is read after its run ended.
const [{ now = '' } = {}] = await json<{ now: string }>('SELECT toString(max(stored_at)) AS now FROM {db}.user_events_realtime');
const to = Date.parse(`${now.replace(' ', 'T')}Z`) + 1;
const from = to - 24 * 3600_000;
const range = { from: chTime(from), to: chTime(to) };
const [user] = await json<{ user_id: string }>(`SELECT toString(user_id) AS user_id FROM {db}.user_events_realtime WHERE stored_at >= {from:DateTime64(3, 'UTC')} LIMIT 1`, range);
const [volume] = await json<Record<string, string>>(`SELECT
  (SELECT count() FROM {db}.user_events_realtime WHERE timestamp >= {from:DateTime64(3, 'UTC')} AND timestamp < {to:DateTime64(3, 'UTC')}) AS events_in_range,
  (SELECT count() FROM {db}.user_events_realtime) AS events_stored,
  (SELECT count() FROM {db}.user_sessions_realtime WHERE start_time >= {from:DateTime64(3, 'UTC')} AND start_time < {to:DateTime64(3, 'UTC')}) AS session_versions_in_range,
  (SELECT count() FROM {db}.user_sessions_realtime) AS session_versions_stored`, range);

const params = { ...range, tier: '', sort: 'revenue', limit: 20, reason: '', kind: '', user: user?.user_id ?? '00000000-0000-4000-8000-000000000000' };
const repeat = Number(o.repeat);
const out: { query: QueryName; p50_ms: number; max_ms: number; rows: number }[] = [];
for (const name of Object.keys(QUERIES) as QueryName[]) {
  if (name === 'deadLetterExport') continue; // streamed in full, not a dashboard read
  const q = question(name, params);
  const ms: number[] = [];
  let rows = 0;
  for (let i = 0; i < repeat; i++) {
    const t0 = performance.now();
    rows = (await json<unknown>(QUERIES[name], q.params)).length;
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  out.push({ query: name, p50_ms: Math.round(ms[Math.floor(ms.length / 2)]!), max_ms: Math.round(ms[ms.length - 1]!), rows });
}
out.sort((a, b) => b.p50_ms - a.p50_ms);
console.log(JSON.stringify({ data: o.data, range, volume: Object.fromEntries(Object.entries(volume ?? {}).map(([k, v]) => [k, Number(v)])), repeat, queries: out }));
await ch.close();
process.exit(0);
