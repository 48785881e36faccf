/**
 * The sessionizer's reads. `{db}` is the configured database; values are bound parameters;
 * times are DateTime64(3) in UTC.
 */
const WINDOW = `stored_at > {since:DateTime64(3, 'UTC')} AND stored_at <= {until:DateTime64(3, 'UTC')}`;
/** The users to recompute, each from the earliest event time the run must look at. */
const USERS = `t AS (
      SELECT tupleElement(p, 1) AS user_id, fromUnixTimestamp64Milli(tupleElement(p, 2), 'UTC') AS min_ts
      FROM (SELECT arrayJoin(arrayZip({users:Array(UUID)}, {froms:Array(Int64)})) AS p))`;
/** A stored row's contents: everything but sign and stored_at (a cancel copies the row it cancels, with its own stored_at). */
export const COPY_KEY = 'cityHash64(* EXCEPT (sign, stored_at))';
const SESSION_COLUMNS = `toString(session_id) AS session_id, toString(user_id) AS user_id, user_tier, start_time, end_time, duration_ms,
           event_count, event_type_counts, page_views, purchases, revenue, converted, entry_page, exit_page,
           is_closed, closed_by, is_deleted, version, funnel_step, funnel_ms`;

export const SESSIONIZER_QUERIES = {
  state: `SELECT cursor, max_event, watermark, generation, users, chain, chain_users FROM {db}.sessionizer_state FINAL WHERE name = {name:String}`,

  /**
   * The event rows stored in the window: a primary-key range of the inbox, whatever the history.
   * Cancels (sign = -1) are left out: the sessionizer wrote them itself, deciding on the copies.
   * The blocks already read whole in the overlap stay in ClickHouse: a block becomes visible at
   * once, so its rows of one stored_at are read all together or not at all (see ./seen-rows.ts).
   */
  inbox: `
    SELECT toString(user_id), toString(event_id), event_type, toUnixTimestamp64Milli(timestamp), page_url, toString(price), quantity,
           user_tier, toUnixTimestamp64Milli(stored_at), _block_number
    FROM {db}.sessionizer_inbox WHERE ${WINDOW} AND sign = 1
      AND (_block_number, toUnixTimestamp64Milli(stored_at)) NOT IN {seen:Array(Tuple(UInt64, Int64))}
    ORDER BY stored_at LIMIT {limit:UInt32}`,

  /**
   * Whether the inbox keeps each row's block number through merges (sql/079_...). Without it a
   * merged part reports its first block for every row, and leaving blocks out could drop rows.
   */
  inboxBlockNumbers: `
    SELECT count() AS n FROM system.tables
    WHERE database = {database:String} AND name = 'sessionizer_inbox' AND engine_full LIKE '%enable_block_number_column = 1%'`,

  /** One generation of a snapshot (all open users, or those changed since the generation before), by user. */
  snapshot: `SELECT toString(user_id), state FROM {db}.sessionizer_open WHERE generation = {generation:UInt64}`,
  snapshotGenerations: `SELECT DISTINCT generation FROM {db}.sessionizer_open`,
  dropSnapshot: `ALTER TABLE {db}.sessionizer_open DROP PARTITION {generation:UInt64}`,

  /**
   * The users to recompute (after a late event, a second copy, or an event out of order), each
   * with every stored event from the start of the earliest session the run could touch, copies and cancels netted out per event id.
   * Grouped per user, so a chunk travels as few rows. The values are any copy's: for an id with
   * more than one positive copy (rare) the sessionizer reads them all (eventCopies) and uses the
   * first stored copy's.
   */
  chunkEvents: `
    WITH ${USERS},
    b AS (
      SELECT t.user_id AS user_id, if(s.first_start IS NULL, t.min_ts, least(t.min_ts, s.first_start)) AS from_ts
      FROM t LEFT JOIN (
        SELECT s.user_id AS user_id, min(s.start_time) AS first_start
        FROM (SELECT user_id, start_time, end_time FROM {db}.user_sessions_realtime FINAL WHERE user_id IN (SELECT user_id FROM t) AND is_deleted = 0) AS s
        INNER JOIN t ON s.user_id = t.user_id
        WHERE s.end_time >= t.min_ts - toIntervalMillisecond({gap:UInt64})
        GROUP BY s.user_id
      ) AS s ON s.user_id = t.user_id
    )
    SELECT toString(b.user_id) AS user_id,
           groupArray((x.id, x.event_type, toUnixTimestamp64Milli(x.ts), x.page_url, toString(x.price), x.quantity, x.user_tier, x.net, x.positives, toUnixTimestamp64Milli(x.stored))) AS events
    FROM (
      SELECT e.user_id AS user_id, toString(e.event_id) AS id, any(e.event_type) AS event_type, any(e.timestamp) AS ts, any(e.page_url) AS page_url,
             any(e.price) AS price, any(e.quantity) AS quantity, any(e.user_tier) AS user_tier, sum(e.sign) AS net,
             countIf(e.sign > 0) AS positives,
             min(e.stored_at) AS stored
      FROM {db}.user_events_realtime AS e INNER JOIN b ON e.user_id = b.user_id
      -- The constant lower bound (a scalar subquery is folded before index analysis) lets ClickHouse
      -- skip every part whose newest event is older than the earliest session recomputed.
      WHERE e.user_id IN (SELECT user_id FROM b) AND e.timestamp >= (SELECT min(from_ts) FROM b) AND e.timestamp >= b.from_ts
      GROUP BY e.user_id, e.event_id
    ) AS x INNER JOIN b ON x.user_id = b.user_id
    GROUP BY b.user_id
    SETTINGS join_use_nulls = 1`,

  /** The current stored sessions of the same users that the recompute could change. */
  chunkSessions: `
    WITH ${USERS}
    SELECT ${SESSION_COLUMNS}
    FROM (SELECT * FROM {db}.user_sessions_realtime FINAL WHERE user_id IN (SELECT user_id FROM t) AND is_deleted = 0) AS s
    INNER JOIN t ON s.user_id = t.user_id
    WHERE s.end_time >= t.min_ts - toIntervalMillisecond({gap:UInt64})`,

  /**
   * Every stored row (copies and cancels) of the given events, each with `copy_key`: a hash of the
   * row without sign and stored_at, equal for a copy and the cancel that copies it, and the
   * tie-break when two copies were stored in the same millisecond (see functions/steps/copies.ts).
   * Asked only for the rare ids stored more than once.
   */
  eventCopies: `
    SELECT *, toString(${COPY_KEY}) AS copy_key FROM {db}.user_events_realtime
    WHERE user_id IN {users:Array(UUID)} AND event_id IN {ids:Array(UUID)}`,

  /**
   * Every stored row (copies and cancels, with `copy_key`) of the transactions stored in the window
   * that have more than one uncancelled copy: the window comes from the transactions inbox, the
   * copies from the table by user (its primary key), so history is not scanned.
   */
  duplicateTransactions: `
    WITH n AS (SELECT user_id, transaction_id FROM {db}.transactions_inbox WHERE ${WINDOW} AND sign = 1)
    SELECT *, toString(${COPY_KEY}) AS copy_key FROM {db}.transactions_realtime
    WHERE user_id IN (SELECT user_id FROM n) AND transaction_id IN (
      SELECT transaction_id FROM {db}.transactions_realtime
      WHERE user_id IN (SELECT user_id FROM n) AND transaction_id IN (SELECT transaction_id FROM n)
      GROUP BY transaction_id HAVING sum(sign) > 1
    )`,
} as const;
