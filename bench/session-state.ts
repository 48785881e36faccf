import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { loadConfig } from '../functions/core/config.js';
import { createLogger } from '../functions/core/log.js';
import { createMetrics } from '../functions/core/metrics.js';
import { openClickHouse } from '../functions/core/runtime.js';
import { createSessionizer } from '../functions/sessionizer/sessionizer.js';

/**
 * What an open session costs: N users each with one recent event, so N sessions are open at once;
 * the sessionizer opens them all in one run. Reports the bytes per open session in ClickHouse
 * (user_sessions_realtime, compressed and not), the sessionizer's heap between runs per open
 * session (each user's sessions encoded, with its due-index entry; after a full GC), its peak heap
 * growth during that run, and the snapshots of those sessions (sessionizer_open) written at stop:
 * a full one, then, once a `--changed` share of the users has a new event, a delta of those users.
 *   npx tsx --expose-gc bench/session-state.ts [--sessions 1000000] [--chunk 20000] [--changed 0.1]
 */
const { values: a } = parseArgs({ options: { sessions: { type: 'string', default: '1000000' }, chunk: { type: 'string', default: '20000' }, changed: { type: 'string', default: '0.1' } } });
const n = Number(a.sessions);
const chunk = Number(a.chunk);
const dir = mkdtempSync(`${tmpdir()}/speed-layer-session-state-`);
const config = loadConfig(process.env, { CLICKHOUSE_DATA_DIR: dir, CLICKHOUSE_DATABASE: 'session_state', LOG_LEVEL: 'warn' });
const log = createLogger('bench', 'warn');
const ch = await openClickHouse(config, log);
const q = async (sql: string) => (await ch.query({ query: sql, format: 'JSONEachRow' })).json<Record<string, string>>();

console.log(`inserting ${n.toLocaleString()} events, one per user, one minute old…`);
await ch.command({
  query: `INSERT INTO session_state.user_events_realtime (event_id, event_type, user_id, user_tier, timestamp, page_url, received_at)
          SELECT generateUUIDv4(), 'page_view', generateUUIDv4(), 'Bronze', now64(3) - 60, concat('/p/', toString(number % 50)), now64(3)
          FROM numbers(${n})`,
});

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc: the heap between runs is measured after a full GC');
gc();
const heap0 = process.memoryUsage().heapUsed;
let peak = heap0;
const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().heapUsed); }, 20);
const t0 = performance.now();
// One run over every user, in chunks of `chunk` users (the sessionizer's unit of work).
const s = createSessionizer({ ...config, ALLOWED_LATENESS_MS: 60_000, IDLE_TIMEOUT_MS: 3_600_000, SESSIONIZER_CHUNK_USERS: chunk }, { ch, metrics: createMetrics(), log });
const r = await s.runOnce(Date.now() + 2_000);
clearInterval(sampler);
const seconds = (performance.now() - t0) / 1000;
gc();
const heapBetweenRuns = process.memoryUsage().heapUsed - heap0;
const s0 = performance.now();
await s.stop({ snapshot: true });
const snapshotS = (performance.now() - s0) / 1000;
const [snap] = await q(`SELECT count() AS rows, sum(length(state)) AS chars FROM session_state.sessionizer_open`);

// A share of the users comes back (as in a minute of a shop's traffic): the next snapshot holds only them.
const changed = Math.round(n * Number(a.changed));
await ch.command({
  query: `INSERT INTO session_state.user_events_realtime (event_id, event_type, user_id, user_tier, timestamp, page_url, received_at)
          SELECT generateUUIDv4(), 'page_view', user_id, 'Bronze', now64(3) - 30, '/back', now64(3)
          FROM (SELECT DISTINCT user_id FROM session_state.user_events_realtime LIMIT ${changed})`,
});
await s.runOnce(Date.now() + 2_000);
const d0 = performance.now();
await s.stop({ snapshot: true });
const deltaS = (performance.now() - d0) / 1000;
const [delta] = await q(`SELECT chain_users[-1] AS rows, length(chain) AS generations FROM session_state.sessionizer_state FINAL WHERE name = 'snapshot'`);

const [open] = await q(`SELECT count() AS open FROM session_state.user_sessions_realtime FINAL WHERE is_closed = 0`);
await ch.command({ query: 'OPTIMIZE TABLE session_state.user_sessions_realtime FINAL' });
const [parts] = await q(`SELECT sum(rows) AS rows, sum(data_compressed_bytes) AS compressed, sum(data_uncompressed_bytes) AS uncompressed, sum(bytes_on_disk) AS disk
                         FROM system.parts WHERE database = 'session_state' AND table = 'user_sessions_realtime' AND active`);
const perSession = (bytes: string | undefined) => (Number(bytes) / Number(open!.open)).toFixed(0);
const summary = {
  open_sessions: Number(open!.open),
  run_s: Number(seconds.toFixed(1)),
  sessions_per_s: Math.round(Number(open!.open) / seconds),
  clickhouse_bytes_per_open_session: { on_disk: Number(perSession(parts!.disk)), compressed: Number(perSession(parts!.compressed)), uncompressed: Number(perSession(parts!.uncompressed)) },
  sessionizer_peak_heap_growth_mb: Number(((peak - heap0) / 2 ** 20).toFixed(1)),
  sessionizer_heap_bytes_per_session_in_chunk: Math.round((peak - heap0) / chunk),
  sessionizer_heap_bytes_per_open_session_between_runs: Math.round(heapBetweenRuns / Number(open!.open)),
  snapshot: { s: Number(snapshotS.toFixed(1)), rows: Number(snap!.rows), chars_per_user: Math.round(Number(snap!.chars) / Math.max(1, Number(snap!.rows) - 1)) },
  delta_snapshot: { changed_users: changed, s: Number(deltaS.toFixed(1)), rows: Number(delta!.rows), generations: Number(delta!.generations) },
  written: r.written,
};
console.log(JSON.stringify(summary, null, 2));
await ch.command({ query: 'DROP DATABASE session_state' });
rmSync(dir, { recursive: true, force: true });
process.exit(0);
