/**
 * The sessionizer's reads. `{db}` is the configured database; values are bound parameters;
 * times are DateTime64(3) in UTC.
 */
const WINDOW = `stored_at > {since:DateTime64(3, 'UTC')} AND stored_at <= {until:DateTime64(3, 'UTC')}`;
const BOUNDS = `b AS (
      SELECT x.1 AS user_id, x.2 AS from_ts
      FROM (SELECT arrayJoin({bounds:Array(Tuple(UUID, DateTime64(3, 'UTC')))}) AS x))`;
const SESSION_COLUMNS = `toString(session_id) AS session_id, toString(user_id) AS user_id, user_tier, start_time, end_time, duration_ms,
           event_count, event_type_counts, page_views, purchases, revenue, converted, entry_page, exit_page,
           is_closed, closed_by, is_deleted, version`;

export const SESSIONIZER_QUERIES = {
  state: `SELECT cursor, max_event, watermark FROM {db}.sessionizer_state FINAL WHERE name = {name:String}`,

  /**
   * Users with events stored in the window, the newest event time among them, and from when on
   * their sessions could change: the start of their earliest session within the gap of the
   * earliest new event, or that event itself.
   */
  touched: `
    WITH t AS (
      SELECT user_id, min(timestamp) AS min_ts, max(timestamp) AS max_ts
      FROM {db}.user_events_realtime WHERE ${WINDOW} GROUP BY user_id
    )
    SELECT toString(t.user_id) AS user_id, toUnixTimestamp64Milli(t.max_ts) AS max_ms,
           toUnixTimestamp64Milli(if(s.first_start IS NULL, t.min_ts, least(t.min_ts, s.first_start))) AS from_ms
    FROM t LEFT JOIN (
      SELECT s.user_id AS user_id, min(s.start_time) AS first_start
      FROM (SELECT * FROM {db}.user_sessions_realtime FINAL WHERE user_id IN (SELECT user_id FROM t) AND is_deleted = 0) AS s
      INNER JOIN t ON s.user_id = t.user_id
      WHERE s.end_time >= t.min_ts - toIntervalMillisecond({gap:UInt64})
      GROUP BY s.user_id
    ) AS s ON s.user_id = t.user_id
    SETTINGS join_use_nulls = 1`,

  /** Every stored row (copies and cancels included) of the given users from their bound on. */
  events: `
    WITH ${BOUNDS}
    SELECT toString(e.event_id) AS event_id, toString(e.user_id) AS user_id, e.user_tier AS user_tier, e.event_type AS event_type,
           toUnixTimestamp64Milli(e.timestamp) AS ts, e.page_url AS page_url, toString(e.price) AS price, e.quantity AS quantity,
           e.sign AS sign, e.stored_at > {since:DateTime64(3, 'UTC')} AS is_new
    FROM {db}.user_events_realtime AS e INNER JOIN b ON e.user_id = b.user_id
    WHERE e.user_id IN (SELECT user_id FROM b) AND e.timestamp >= b.from_ts`,

  /** The current stored sessions of the given users from their bound on. */
  sessions: `
    WITH ${BOUNDS}
    SELECT ${SESSION_COLUMNS}
    FROM (SELECT * FROM {db}.user_sessions_realtime FINAL WHERE user_id IN (SELECT user_id FROM b) AND is_deleted = 0) AS s
    INNER JOIN b ON s.user_id = b.user_id
    WHERE s.start_time >= b.from_ts`,

  /** Open sessions the watermark has passed: closed now even if their user is quiet. */
  expired: `
    SELECT ${SESSION_COLUMNS}
    FROM {db}.user_sessions_realtime FINAL
    WHERE is_closed = 0 AND is_deleted = 0
      AND (end_time < {watermark:DateTime64(3, 'UTC')} - toIntervalMillisecond({gap:UInt64})
           OR (event_type_counts['logout'] > 0 AND end_time < {watermark:DateTime64(3, 'UTC')}))`,

  openCount: `SELECT count() AS open FROM {db}.user_sessions_realtime FINAL WHERE is_closed = 0 AND is_deleted = 0`,

  /** One full row of each given event, to copy as its cancelling row. */
  eventRows: `
    SELECT * EXCEPT (stored_at) FROM {db}.user_events_realtime
    WHERE user_id IN {users:Array(UUID)} AND event_id IN {ids:Array(UUID)} AND sign = 1
    LIMIT 1 BY event_id`,

  /** Transactions stored in the window with more than one uncancelled copy, one full row each. */
  duplicateTransactions: `
    SELECT * EXCEPT (stored_at), d.net AS net, d.positives AS positives
    FROM {db}.transactions_realtime AS x
    INNER JOIN (
      SELECT transaction_id, sum(sign) AS net, countIf(sign > 0) AS positives FROM {db}.transactions_realtime
      WHERE transaction_id IN (SELECT transaction_id FROM {db}.transactions_realtime WHERE ${WINDOW})
      GROUP BY transaction_id HAVING net > 1
    ) AS d ON x.transaction_id = d.transaction_id
    WHERE x.sign = 1
    LIMIT 1 BY x.transaction_id`,
} as const;
