/**
 * The sessionizer's reads. `{db}` is the configured database; values are bound parameters;
 * times are DateTime64(3) in UTC.
 */
const WINDOW = `stored_at > {since:DateTime64(3, 'UTC')} AND stored_at <= {until:DateTime64(3, 'UTC')}`;
const TOUCHED = `t AS (
      SELECT user_id, min(timestamp) AS min_ts, max(timestamp) AS max_ts FROM {db}.user_events_realtime
      WHERE ${WINDOW} AND cityHash64(user_id) % {chunks:UInt32} = {chunk:UInt32}
      GROUP BY user_id)`;
/** A stored row's contents: everything but sign and stored_at (a cancel copies the row it cancels, with its own stored_at). */
export const COPY_KEY = 'cityHash64(* EXCEPT (sign, stored_at))';
const SESSION_COLUMNS = `toString(session_id) AS session_id, toString(user_id) AS user_id, user_tier, start_time, end_time, duration_ms,
           event_count, event_type_counts, page_views, purchases, revenue, converted, entry_page, exit_page,
           is_closed, closed_by, is_deleted, version`;

export const SESSIONIZER_QUERIES = {
  state: `SELECT cursor, max_event, watermark FROM {db}.sessionizer_state FINAL WHERE name = {name:String}`,

  /** How many users have events stored in the window (to split the work into chunks). */
  touchedUsers: `SELECT uniqExact(user_id) AS users FROM {db}.user_events_realtime WHERE ${WINDOW}`,

  /**
   * One chunk of those users (by hash), each with every stored event from the start of the
   * earliest session the new events could touch, copies and cancels netted out per event id.
   * Grouped per user, so a chunk travels as few rows. The values are any copy's: for an id with
   * more than one positive copy (rare) the sessionizer reads them all (eventCopies) and uses the
   * first stored copy's.
   */
  chunkEvents: `
    WITH ${TOUCHED},
    b AS (
      SELECT t.user_id AS user_id, t.max_ts AS max_ts, if(s.first_start IS NULL, t.min_ts, least(t.min_ts, s.first_start)) AS from_ts
      FROM t LEFT JOIN (
        SELECT s.user_id AS user_id, min(s.start_time) AS first_start
        FROM (SELECT user_id, start_time, end_time FROM {db}.user_sessions_realtime FINAL WHERE user_id IN (SELECT user_id FROM t) AND is_deleted = 0) AS s
        INNER JOIN t ON s.user_id = t.user_id
        WHERE s.end_time >= t.min_ts - toIntervalMillisecond({gap:UInt64})
        GROUP BY s.user_id
      ) AS s ON s.user_id = t.user_id
    )
    SELECT toString(b.user_id) AS user_id,
           groupArray((x.id, x.event_type, toUnixTimestamp64Milli(x.ts), x.page_url, toString(x.price), x.quantity, x.user_tier, x.net, x.positives, x.is_new)) AS events
    FROM (
      SELECT e.user_id AS user_id, toString(e.event_id) AS id, any(e.event_type) AS event_type, any(e.timestamp) AS ts, any(e.page_url) AS page_url,
             any(e.price) AS price, any(e.quantity) AS quantity, any(e.user_tier) AS user_tier, sum(e.sign) AS net,
             countIf(e.sign > 0) AS positives,
             max(e.stored_at > {newSince:DateTime64(3, 'UTC')} AND e.stored_at <= {until:DateTime64(3, 'UTC')}) AS is_new
      FROM {db}.user_events_realtime AS e INNER JOIN b ON e.user_id = b.user_id
      -- The constant lower bound (a scalar subquery is folded before index analysis) lets ClickHouse
      -- skip every part whose newest event is older than the earliest session recomputed.
      WHERE e.user_id IN (SELECT user_id FROM b) AND e.timestamp >= (SELECT min(from_ts) FROM b) AND e.timestamp >= b.from_ts
      GROUP BY e.user_id, e.event_id
    ) AS x INNER JOIN b ON x.user_id = b.user_id
    GROUP BY b.user_id
    SETTINGS join_use_nulls = 1`,

  /** The current stored sessions of the same chunk that the new events could change. */
  chunkSessions: `
    WITH ${TOUCHED}
    SELECT ${SESSION_COLUMNS}
    FROM (SELECT * FROM {db}.user_sessions_realtime FINAL WHERE user_id IN (SELECT user_id FROM t) AND is_deleted = 0) AS s
    INNER JOIN t ON s.user_id = t.user_id
    WHERE s.end_time >= t.min_ts - toIntervalMillisecond({gap:UInt64})`,

  /** Open sessions the watermark has passed: closed now even if their user is quiet. */
  expired: `
    SELECT ${SESSION_COLUMNS}
    FROM {db}.user_sessions_realtime FINAL
    WHERE is_closed = 0 AND is_deleted = 0
      AND (end_time < {watermark:DateTime64(3, 'UTC')} - toIntervalMillisecond({gap:UInt64})
           OR (event_type_counts['logout'] > 0 AND end_time < {watermark:DateTime64(3, 'UTC')}))`,

  openCount: `SELECT count() AS open FROM {db}.user_sessions_realtime FINAL WHERE is_closed = 0 AND is_deleted = 0`,

  /**
   * Every stored row (copies and cancels) of the given events, each with `copy_key`: a hash of the
   * row without sign and stored_at, equal for a copy and the cancel that copies it, and the
   * tie-break when two copies were stored in the same millisecond (see functions/steps/copies.ts).
   * Asked only for the rare ids stored more than once.
   */
  eventCopies: `
    SELECT *, toString(${COPY_KEY}) AS copy_key FROM {db}.user_events_realtime
    WHERE user_id IN {users:Array(UUID)} AND event_id IN {ids:Array(UUID)}`,

  /** Every stored row (copies and cancels, with `copy_key`) of the transactions stored in the window that have more than one uncancelled copy. */
  duplicateTransactions: `
    SELECT *, toString(${COPY_KEY}) AS copy_key FROM {db}.transactions_realtime
    WHERE transaction_id IN (
      SELECT transaction_id FROM {db}.transactions_realtime
      WHERE transaction_id IN (SELECT transaction_id FROM {db}.transactions_realtime WHERE ${WINDOW})
      GROUP BY transaction_id HAVING sum(sign) > 1
    )`,
} as const;
