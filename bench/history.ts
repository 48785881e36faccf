/**
 * `--history N`: N closed sessions spread over the last 30 days, and their events (~10 a session),
 * stored in ClickHouse before a run, so the sessionizer meets the history a shop has after weeks.
 * Generated inside ClickHouse (INSERT ... SELECT FROM numbers(), in chunks with progress), so 20 M
 * sessions take minutes. Everything is derived from (seed, session number): users are the bench's
 * population (population.ts, the same ids as in PostgreSQL), session ids are the sessionizer's own
 * UUIDv5 of (user, start) (functions/core/ids.ts), event ids a UUID of md5(seed, session, event).
 *
 * Sessions are closed by timeout and end at least HISTORY_GAP_MS before now. The events go into
 * user_events_realtime with every view on it except the sessionizer's inboxes (detached while the
 * history loads): history is not new data, and a sessionizer whose inbox holds it would fold it again.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { populationSqlCh, uuidFromHex } from './population.js';

export const HISTORY_DAYS = 30;
/** The newest history session ends this long before the run: well past the timeout, so none is open. */
export const HISTORY_GAP_MS = 2 * 3600_000;
/** Sessions a statement: progress about every half minute here. */
const CHUNK = 250_000;
/** A history session lasts at most 18 gaps of 40 s; a slot leaves it the timeout and more after it. */
const SESSION_MAX_MS = 3600_000;
const SLOT_MIN_MS = 2 * SESSION_MAX_MS;
/** functions/core/ids.ts's SESSION_NAMESPACE. */
const SESSION_NAMESPACE_HEX = '6f1c2a4e9b3d4e6f8a7b5c3d2e1f0a9b';

export type HistoryOptions = { sessions: number; seed: number; population: number; nowMs: number; log?: (msg: string) => void };

/** One row per session numbers lo..lo+count-1, with what both inserts derive from (`n` is the session number). */
function sessionsSql(o: HistoryOptions, lo: number, count: number): string {
  const seed = Math.trunc(o.seed);
  const h = (salt: string) => `cityHash64(${seed}, n, '${salt}')`;
  // Session n is user (n mod P)'s (n div P)-th: each user's sessions get slots of their own in the 30 days, so no
  // two of one user overlap or come within the timeout of each other (the sessionizer would have merged them).
  const P = Math.trunc(o.population);
  const u = populationSqlCh(seed, `n % ${P}`);
  const fromMs = o.nowMs - HISTORY_DAYS * 86_400_000;
  const slotMs = Math.floor((HISTORY_DAYS * 86_400_000 - HISTORY_GAP_MS) / Math.ceil(o.sessions / P));
  if (slotMs < SLOT_MIN_MS) throw new Error(`--history ${o.sessions} needs a population of at least ${Math.ceil(o.sessions / Math.floor((HISTORY_DAYS * 86_400_000 - HISTORY_GAP_MS) / SLOT_MIN_MS))} (each user's sessions ${SLOT_MIN_MS / 3600_000} h apart)`);
  return `SELECT n, user_id, user_tier, start_ms, k, gap_ms, purchasing, m,
      ${uuidFromHex(`lower(hex(substring(SHA1(concat(unhex('${SESSION_NAMESPACE_HEX}'), toString(user_id), '/', toString(start_ms))), 1, 16)))`, '5')} AS session_id
    FROM (SELECT number AS n, ${u.userId} AS user_id, ${u.tier} AS user_tier,
            ${Math.trunc(fromMs)} + intDiv(n, ${P}) * ${slotMs} + ${h('start')} % ${slotMs - SESSION_MAX_MS} AS start_ms,
            toUInt32(1 + ${h('events')} % 19) AS k,
            toUInt64(200 + ${h('gap')} % 39600) AS gap_ms,
            toUInt8(k >= 5 AND ${h('buy')} % 20 = 0) AS purchasing,
            if(purchasing, k - 3, k) AS m
          FROM numbers(${Math.trunc(lo)}, ${Math.trunc(count)}))`;
}

/** The event at position j of a session: page views and product views in turn, a purchase's last three steps at the end. */
const EVENT_TYPE = `multiIf(j = 0, 'page_view', purchasing AND j = k - 3, 'add_to_cart', purchasing AND j = k - 2, 'checkout_start', purchasing AND j = k - 1, 'purchase', j % 2 = 1, 'product_view', 'page_view')`;
const PRODUCT = `concat('P', leftPad(toString(1 + cityHash64(n, j) % 200), 5, '0'))`;

function insertSessionsSql(db: string, o: HistoryOptions, lo: number, count: number): string {
  return `INSERT INTO ${db}.user_sessions_realtime
      (session_id, user_id, user_tier, start_time, end_time, duration_ms, event_count, event_type_counts, page_views, purchases, revenue, converted,
       entry_page, exit_page, is_closed, closed_by, is_deleted, version, funnel_step, funnel_ms)
    SELECT session_id, user_id, user_tier, fromUnixTimestamp64Milli(toInt64(start_ms), 'UTC'), fromUnixTimestamp64Milli(toInt64(start_ms + (k - 1) * gap_ms), 'UTC'),
      (k - 1) * gap_ms, k,
      mapFilter((t, c) -> c > 0, map('page_view', toUInt32(intDiv(m + 1, 2)), 'product_view', toUInt32(intDiv(m, 2)),
        'add_to_cart', toUInt32(purchasing), 'checkout_start', toUInt32(purchasing), 'purchase', toUInt32(purchasing))),
      toUInt32(intDiv(m + 1, 2)), toUInt32(purchasing), if(purchasing, toDecimal128(19.99, 2) + toDecimal128(n % 10000, 2) / 100, toDecimal128(0, 2)), purchasing,
      '/', if(purchasing, '/checkout/confirm', if((m - 1) % 2 = 1, '/product', '/')),
      1, 'timeout', 0, toUInt64(start_ms + (k - 1) * gap_ms + ${HISTORY_GAP_MS}),
      if(purchasing, 5, if(m >= 2, 2, 1)), if(purchasing, (k - 1) * gap_ms, if(m >= 2, gap_ms, 0))
    FROM (${sessionsSql(o, lo, count)})
    SETTINGS insert_deduplicate = 0`;
}

function insertEventsSql(db: string, o: HistoryOptions, lo: number, count: number): string {
  return `INSERT INTO ${db}.user_events_realtime
      (event_id, event_type, user_id, user_tier, timestamp, page_url, product_id, category, price, quantity, search_query, order_id, device_type, referrer, sign, received_at, stored_at)
    SELECT ${uuidFromHex(`lower(hex(MD5(concat('history:${Math.trunc(o.seed)}:', toString(n), ':', toString(j)))))`, '4')},
      ${EVENT_TYPE} AS event_type, user_id, user_tier, fromUnixTimestamp64Milli(toInt64(start_ms + j * gap_ms), 'UTC') AS ts,
      multiIf(event_type = 'page_view', '/', event_type = 'purchase', '/checkout/confirm', event_type = 'checkout_start', '/checkout', concat('/product/', ${PRODUCT})),
      if(event_type IN ('page_view', 'checkout_start'), '', ${PRODUCT}), if(event_type IN ('page_view', 'checkout_start'), '', 'Electronics'),
      if(event_type IN ('page_view', 'checkout_start'), toDecimal128(0, 2), toDecimal128(19.99, 2) + toDecimal128(n % 10000, 2) / 100),
      toUInt16(event_type IN ('add_to_cart', 'purchase')), '',
      if(event_type = 'purchase', ${uuidFromHex(`lower(hex(MD5(concat('order:', toString(n)))))`, '4')}, toUUID('00000000-0000-0000-0000-000000000000')),
      'desktop', '', 1, ts + toIntervalMillisecond(500), ts + toIntervalSecond(1)
    FROM (${sessionsSql(o, lo, count)}) ARRAY JOIN range(k) AS j
    SETTINGS insert_deduplicate = 0`;
}

/** The sessionizer's inboxes fed from user_events_realtime: views whose name says inbox. */
async function inboxViews(ch: ClickHouseClient, db: string): Promise<string[]> {
  const r = await ch.query({ query: `SELECT name FROM system.tables WHERE database = {db:String} AND engine = 'MaterializedView' AND name LIKE '%inbox%'`, query_params: { db }, format: 'JSONEachRow' });
  return (await r.json<{ name: string }>()).map((x) => x.name);
}

/** Stores the history; answers how long it took and what it stored. */
export async function loadHistory(ch: ClickHouseClient, db: string, o: HistoryOptions) {
  const started = Date.now();
  const views = await inboxViews(ch, db);
  for (const v of views) await ch.command({ query: `DETACH TABLE ${db}.${v}` });
  let events = 0;
  try {
    for (let lo = 0; lo < o.sessions; lo += CHUNK) {
      const count = Math.min(CHUNK, o.sessions - lo);
      await ch.command({ query: insertSessionsSql(db, o, lo, count) });
      await ch.command({ query: insertEventsSql(db, o, lo, count) });
      const s = (Date.now() - started) / 1000;
      o.log?.(`history: ${(lo + count).toLocaleString('en')} of ${o.sessions.toLocaleString('en')} sessions stored with their events (${s.toFixed(0)} s, ${Math.round((lo + count) / s).toLocaleString('en')} sessions/s)`);
    }
    const r = await ch.query({ query: `SELECT count() AS n FROM ${db}.user_events_realtime WHERE stored_at < fromUnixTimestamp64Milli(${Math.trunc(o.nowMs)})`, format: 'JSONEachRow' });
    events = Number((await r.json<{ n: string }>())[0]?.n ?? 0);
  } finally {
    for (const v of views) await ch.command({ query: `ATTACH TABLE ${db}.${v}` });
  }
  const loadedS = Math.round((Date.now() - started) / 100) / 10;
  const merged = await waitForMerges(ch, db, o.log);
  return { sessions: o.sessions, events, seconds: loadedS, merge_wait_s: merged.seconds, active_parts: merged.parts, inbox_views_detached: views };
}

/**
 * Waits until no merge has run for a few seconds (at most MERGE_WAIT_MS): a shop's weeks of history
 * are merged parts, not the load's hundreds of fresh ones, whose merges would otherwise take the
 * run's first minutes of CPU.
 */
async function waitForMerges(ch: ClickHouseClient, db: string, log?: (msg: string) => void) {
  const started = Date.now();
  const count = async (sql: string) => Number((await (await ch.query({ query: sql, query_params: { db }, format: 'JSONEachRow' })).json<{ n: string }>())[0]?.n ?? 0);
  let quiet = 0;
  let parts = 0;
  while (Date.now() - started < MERGE_WAIT_MS && quiet < 3) {
    await new Promise((r) => setTimeout(r, 2_000));
    const merges = await count(`SELECT count() AS n FROM system.merges WHERE database = {db:String}`);
    parts = await count(`SELECT count() AS n FROM system.parts WHERE database = {db:String} AND active`);
    quiet = merges === 0 ? quiet + 1 : 0;
    if ((Date.now() - started) % 30_000 < 2_000) log?.(`history: merging, ${merges} merges running, ${parts} active parts (${Math.round((Date.now() - started) / 1000)} s)`);
  }
  log?.(`history: merges settled after ${Math.round((Date.now() - started) / 1000)} s, ${parts} active parts`);
  return { seconds: Math.round((Date.now() - started) / 1000), parts };
}
const MERGE_WAIT_MS = 20 * 60_000;
