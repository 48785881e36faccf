-- The ordered funnel's source: one current row per session, keyed by its start, so a time range is a
-- primary-key range (user_sessions_realtime is keyed by user and would be read whole). A session's id
-- is derived from (user, start), so every version of a session has the same key and FINAL (or
-- argMax by version) gives the current one; tombstones (is_deleted = 1) drop merged-away sessions.
CREATE TABLE IF NOT EXISTS {db}.session_funnel
(
    start_time  DateTime64(3, 'UTC'),
    session_id  UUID,
    user_id     UUID,
    user_tier   LowCardinality(String),
    funnel_step UInt8,
    funnel_ms   UInt64,
    is_closed   UInt8,
    is_deleted  UInt8,
    version     UInt64
)
ENGINE = ReplacingMergeTree(version, is_deleted)
PARTITION BY toYYYYMM(start_time)
ORDER BY (start_time, session_id)
SETTINGS non_replicated_deduplication_window = 1000
