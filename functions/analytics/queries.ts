import { FUNNEL_STEPS } from '../schemas/events.js';

/**
 * Every query the analytics API runs. All are parameterized ({name:Type} placeholders bound by
 * ClickHouse), read the materialized views' target tables where they can, and take the same
 * [from, to) range. `{db}` is the configured database name, not user input.
 */
const FROM = `{from:DateTime64(3, 'UTC')}`;
const TO = `{to:DateTime64(3, 'UTC')}`;
const RANGE_MIN = `minute >= toStartOfMinute(${FROM}) AND minute < ${TO}`;
const RANGE_TS = (col: string) => `${col} >= ${FROM} AND ${col} < ${TO}`;

/**
 * A per-minute range split for distinct users: the whole hours inside it are read from
 * users_hourly (a user once an hour, sql/092), the minutes before the first and after the last from
 * the per-minute states. Both bounds depend on `from` only through its minute and on `to` only
 * through `minute < to`'s hours, so a per-minute query stays one in MINUTE_QUERIES' sense; any split
 * gives the same answer, the split only decides how much is read.
 */
const FIRST_HOUR = `toStartOfHour(toStartOfMinute(${FROM}) + INTERVAL 59 MINUTE)`;
const END_HOUR = `toStartOfHour(${TO})`;
const WHOLE_HOURS = `hour >= ${FIRST_HOUR} AND hour < ${END_HOUR}`;
const EDGE_MINUTES = `(minute < ${FIRST_HOUR} OR minute >= ${END_HOUR})`;
/** Fragments whose `from`/`to` are taken to the minute (see MINUTE_QUERIES). */
const MINUTE_EXACT = [RANGE_MIN, WHOLE_HOURS, EDGE_MINUTES];

/** Distinct users of a per-minute table's rows in range, grouped by `keys`: edge minutes plus whole hours. */
const usersInRange = (table: string, keys: string, where: string, hourlyWhere: string) => `
      SELECT ${keys}, uniqExactMerge(users) AS users FROM (
        SELECT ${keys}, users FROM {db}.${table} WHERE ${RANGE_MIN} AND ${EDGE_MINUTES} AND ${where}
        UNION ALL
        SELECT ${keys}, users FROM {db}.users_hourly WHERE ${WHOLE_HOURS} AND ${hourlyWhere})
      GROUP BY ${keys}`;
const TIER_PARAM = `({tier:String} = '' OR user_tier = {tier:String})`;

/**
 * Freshness to the millisecond without reading a day of raw events: whole minutes from
 * conversion_funnel's per-minute sums and maxima, the raw events only in the partial minutes at
 * either end (none when `from` and `to` are whole minutes, as the dashboard's are).
 */
const CEIL_MIN_FROM = `toStartOfMinute(${FROM} + INTERVAL 59999 MILLISECOND)`;
const FLOOR_MIN_TO = `toStartOfMinute(${TO})`;
const RAW_EDGES = `((timestamp >= ${FROM} AND timestamp < least(${CEIL_MIN_FROM}, ${TO}))
                 OR (timestamp >= greatest(${FLOOR_MIN_TO}, ${FROM}) AND timestamp < ${TO}))`;

/**
 * The ordered funnel over sessions that started in [from, to): per step k of FUNNEL_STEPS, the
 * sessions (and their distinct users) that reached at least step k in order, so each count is at
 * most the one before; and the time from a session's start to its purchase, for the sessions that
 * got that far. session_funnel is keyed by start_time, so the range is a primary-key range; FINAL
 * keeps each session's current version and drops its tombstones (every version shares the key).
 */
/** funnel_step's values for the steps of FUNNEL_STEPS, in order (1-based; 0 is none). */
export const STEP_NUMBERS = [1, 2, 3, 4, 5] as const;
const ORDERED = (col: 'sessions' | 'users') =>
  `[${STEP_NUMBERS.map((k) => (col === 'sessions' ? `countIf(funnel_step >= ${k})` : `uniqExactIf(user_id, funnel_step >= ${k})`)).join(', ')}]`;
const ORDERED_FUNNEL = `${ORDERED('sessions')} AS sessions, ${ORDERED('users')} AS users,
           countIf(funnel_step = ${FUNNEL_STEPS.length}) AS converted,
           quantilesExactInclusiveIf(0.5, 0.9)(funnel_ms, funnel_step = ${FUNNEL_STEPS.length}) AS convert_ms`;

export const QUERIES = {
  /** Events and distinct users per event type, in any order within or across sessions ("events by type"). */
  eventTypes: `
    SELECT event_type, e.events AS events, u.users AS users
    FROM (SELECT event_type, sum(events) AS events FROM {db}.conversion_funnel WHERE ${RANGE_MIN} AND ${TIER_PARAM} GROUP BY event_type) AS e
    LEFT JOIN (${usersInRange('conversion_funnel', 'event_type', TIER_PARAM, `event_type != '' AND ${TIER_PARAM}`)}) AS u USING event_type
    ORDER BY event_type`,
  eventTypesByTier: `
    SELECT user_tier AS tier, event_type, e.events AS events, u.users AS users
    FROM (SELECT user_tier, event_type, sum(events) AS events FROM {db}.conversion_funnel WHERE ${RANGE_MIN} GROUP BY user_tier, event_type) AS e
    LEFT JOIN (${usersInRange('conversion_funnel', 'user_tier, event_type', '1', `event_type != ''`)}) AS u USING (user_tier, event_type)
    ORDER BY user_tier, event_type`,
  funnel: `
    SELECT ${ORDERED_FUNNEL}
    FROM {db}.session_funnel FINAL
    WHERE ${RANGE_TS('start_time')} AND ({tier:String} = '' OR user_tier = {tier:String})`,
  funnelByTier: `
    SELECT user_tier AS tier, ${ORDERED_FUNNEL}
    FROM {db}.session_funnel FINAL WHERE ${RANGE_TS('start_time')}
    GROUP BY user_tier ORDER BY user_tier`,
  tiers: `
    SELECT user_tier AS tier, events, u.users AS users, purchases, orders, revenue,
           if(orders = 0, toDecimal128(0, 2), toDecimal128(revenue / orders, 2)) AS avg_order_value
    FROM (
      SELECT user_tier, sum(events) AS events, sum(purchases) AS purchases, sum(orders) AS orders, sum(revenue) AS revenue
      FROM {db}.user_tier_performance WHERE ${RANGE_MIN}
      GROUP BY user_tier) AS s
    LEFT JOIN (${usersInRange('user_tier_performance', 'user_tier', '1', `event_type = ''`)}) AS u USING user_tier
    ORDER BY tier`,
  products: `
    SELECT product_id, category, views, add_to_carts, purchases, units, revenue,
           if(views = 0, 0, round(purchases / views, 4)) AS view_to_purchase_rate
    FROM (
      SELECT product_id, max(category) AS category, sum(views) AS views, sum(add_to_carts) AS add_to_carts,
             sum(purchases) AS purchases, sum(units) AS units, sum(revenue) AS revenue
      FROM {db}.product_performance WHERE ${RANGE_MIN}
      GROUP BY product_id)
    ORDER BY multiIf({sort:String} = 'views', toDecimal128(views, 2), {sort:String} = 'purchases', toDecimal128(purchases, 2), revenue) DESC, product_id
    LIMIT {limit:UInt32}`,
  /** Both from session_funnel, the sessions keyed by start time: the range is a primary-key range (sql/081). */
  sessionsSummary: `
    SELECT count() AS sessions, countIf(is_closed = 0) AS open, countIf(is_closed = 1) AS closed,
           countIf(converted = 1) AS converted, round(avg(duration_ms) / 1000, 1) AS avg_duration_s,
           round(avg(event_count), 2) AS avg_events, sum(revenue) AS revenue
    FROM {db}.session_funnel FINAL WHERE ${RANGE_TS('start_time')}`,
  recentSessions: `
    SELECT session_id, user_id, user_tier AS tier, start_time, end_time, duration_ms, event_count, page_views,
           purchases, revenue, converted, entry_page, exit_page, is_closed, closed_by
    FROM {db}.session_funnel FINAL WHERE ${RANGE_TS('start_time')}
    ORDER BY end_time DESC, session_id LIMIT {limit:UInt32}`,
  freshness: `
    SELECT greatest(m.latest_event, r.latest_event) AS latest_event, greatest(m.last_stored, r.last_stored) AS last_stored,
           m.events + r.events AS events,
           (SELECT count() FROM {db}.late_events FINAL WHERE ${RANGE_TS('timestamp')}) AS late
    FROM (SELECT max(latest_event) AS latest_event, max(last_stored) AS last_stored, sum(events) AS events
          FROM {db}.conversion_funnel WHERE minute >= ${CEIL_MIN_FROM} AND minute < ${FLOOR_MIN_TO}) AS m
    CROSS JOIN (SELECT max(timestamp) AS latest_event, max(stored_at) AS last_stored, toInt64(sum(sign)) AS events
                FROM {db}.user_events_realtime WHERE ${RAW_EDGES}) AS r`,
  /**
   * The sessionizer's progress: `watermark` (event time: sessions that ended more than the gap
   * before it are closed) and `cursor` (stored_at: every event stored before it is in its session).
   */
  sessionizerState: `SELECT watermark, cursor, updated_at FROM {db}.sessionizer_state FINAL WHERE name = 'main'`,
  deadLetterCounts: `
    SELECT reason, event_type, ce_source AS source, count() AS count, max(received_at) AS last_seen
    FROM {db}.dead_letter_events FINAL WHERE ${RANGE_TS('received_at')}
    GROUP BY reason, event_type, source ORDER BY count DESC`,
  // The newest keys first, from the narrow columns; only then the wide rows, by primary key (reading
  // every payload to sort them took 0.6 s at 10,000 events/s).
  deadLetterSamples: `
    SELECT received_at, reason, detail, field, event_type, ce_id, ce_source AS source, ce_type, payload
    FROM {db}.dead_letter_events FINAL
    WHERE (reason, fingerprint) IN (
      SELECT reason, fingerprint FROM {db}.dead_letter_events
      WHERE ${RANGE_TS('received_at')} AND ({reason:String} = '' OR reason = {reason:String})
      GROUP BY reason, fingerprint ORDER BY max(received_at) DESC LIMIT {limit:UInt32})
      AND ${RANGE_TS('received_at')}
    ORDER BY received_at DESC LIMIT {limit:UInt32}`,
  /** Data-quality warnings (stored events the schema does not fully know), by kind and field. */
  warningCounts: `
    SELECT kind, field, count() AS count, uniqExact(event_type) AS event_types, max(received_at) AS last_seen
    FROM {db}.data_quality_warnings FINAL WHERE ${RANGE_TS('received_at')}
    GROUP BY kind, field ORDER BY count DESC, kind, field LIMIT 100`,
  warningSamples: `
    SELECT received_at, kind, field, value, event_type, record_id, ce_source AS source, dataschema
    FROM {db}.data_quality_warnings FINAL
    WHERE ${RANGE_TS('received_at')} AND ({kind:String} = '' OR kind = {kind:String})
    ORDER BY received_at DESC LIMIT {limit:UInt32}`,
  /** Every rejected payload in the range, oldest first, for GET /api/dead-letters/export (streamed, no limit). */
  deadLetterExport: `
    SELECT payload
    FROM {db}.dead_letter_events FINAL WHERE ${RANGE_TS('received_at')} AND ({reason:String} = '' OR reason = {reason:String})
    ORDER BY received_at, ce_source, ce_id`,
  /**
   * The user_events_sessionized view for one user, written out so the user filter reaches the
   * table's primary key: through the view, ClickHouse cannot push it past LIMIT BY and reads every
   * stored event (1.1 s at 2 M rows). Same rule as the view: each event's first stored copy.
   */
  journeyEvents: `
    SELECT event_id, event_type, timestamp, session_id, page_url, product_id, price, quantity, search_query
    FROM (
      SELECT * FROM {db}.user_events_realtime WHERE user_id = {user:UUID} AND sign = 1
      ORDER BY event_id, stored_at, cityHash64(* EXCEPT (sign, stored_at)) LIMIT 1 BY event_id
    ) AS e
    ASOF LEFT JOIN (SELECT user_id, start_time, session_id FROM {db}.user_sessions_realtime FINAL WHERE user_id = {user:UUID}) AS s
    ON e.user_id = s.user_id AND e.timestamp >= s.start_time
    WHERE ${RANGE_TS('e.timestamp')}
    ORDER BY timestamp, event_id LIMIT 5000
    SETTINGS join_use_nulls = 0`,
  journeySessions: `
    SELECT session_id, start_time, end_time, duration_ms, event_count, purchases, revenue, converted, is_closed, closed_by, entry_page, exit_page
    FROM {db}.user_sessions_realtime FINAL WHERE user_id = {user:UUID} AND ${RANGE_TS('start_time')}
    ORDER BY start_time`,
  recentUsers: `
    SELECT user_id, max(timestamp) AS last_seen FROM {db}.user_events_realtime
    WHERE timestamp >= now64(3) - INTERVAL 1 HOUR GROUP BY user_id ORDER BY last_seen DESC LIMIT 20`,
} as const;
export type QueryName = keyof typeof QUERIES;

export type QueryParams = Record<string, string | number>;

const MINUTE_MS = 60_000;

/**
 * The queries whose answer depends on `from`/`to` only through the minute: they filter per-minute
 * view rows (`minute`, always a whole minute) with RANGE_MIN and read hours split by it (MINUTE_EXACT),
 * and nothing else. For those,
 * `minute >= toStartOfMinute(from)` is the same set for every `from` in one minute, and
 * `minute < to` is the same set as `minute < ceil(to to the minute)` (a whole minute m is below
 * `to` exactly when it is below the next whole minute at or after `to`). The raw-time queries
 * (RANGE_TS: sessions, freshness, dead letters, journeys) answer to the millisecond and are left alone.
 * Derived from the SQL text, so a query rewritten to read raw times drops out by itself.
 */
export const MINUTE_QUERIES: ReadonlySet<QueryName> = new Set(
  (Object.keys(QUERIES) as QueryName[]).filter((name) => {
    const sql = QUERIES[name];
    return sql.includes(RANGE_MIN) && !/\{(?:from|to):/.test(MINUTE_EXACT.reduce((rest, part) => rest.split(part).join(''), sql));
  }),
);

/** 'YYYY-MM-DD hh:mm:ss.sss' (UTC, as bound to a DateTime64(3, 'UTC') parameter) ↔ epoch ms. */
export const chTime = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
const parseChTime = (s: string) => Date.parse(`${s.replace(' ', 'T')}Z`);
export const floorMinute = (ms: number) => Math.floor(ms / MINUTE_MS) * MINUTE_MS;
export const ceilMinute = (ms: number) => Math.ceil(ms / MINUTE_MS) * MINUTE_MS;

/**
 * The parameters a query is really run with: for a per-minute query, `from` rounded down and `to`
 * rounded up to the minute (the same answer, see MINUTE_QUERIES), so that questions differing only
 * within a minute become the same question. Times before 1970 are left as they are (the views hold
 * none, and ClickHouse's minute functions are not a plain floor there).
 */
export function normaliseParams(name: QueryName, params: QueryParams): QueryParams {
  if (!MINUTE_QUERIES.has(name)) return params;
  const out = { ...params };
  const round = (key: 'from' | 'to', f: (ms: number) => number) => {
    const v = out[key];
    if (typeof v !== 'string') return;
    const ms = parseChTime(v);
    if (Number.isFinite(ms) && ms >= 0) out[key] = chTime(f(ms));
  };
  round('from', floorMinute);
  round('to', ceilMinute);
  return out;
}

/**
 * A question as it is run and remembered: the normalised parameters, and the key naming the query
 * and those parameters in a fixed order (equal questions give equal keys).
 */
export function question(name: QueryName, params: QueryParams): { key: string; params: QueryParams } {
  const p = normaliseParams(name, params);
  return { key: `${name}:${JSON.stringify(Object.keys(p).sort().map((k) => [k, p[k]]))}`, params: p };
}
