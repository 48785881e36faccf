-- Versioned rows: each checkpoint of an open session, its final closed row, and tombstones
-- (is_deleted = 1) for ids a session gave up when its start moved. SELECT ... FINAL gives the
-- current sessions.
CREATE TABLE IF NOT EXISTS {db}.user_sessions_realtime
(
    session_id        UUID,
    user_id           UUID,
    user_tier         LowCardinality(String),
    start_time        DateTime64(3, 'UTC'),
    end_time          DateTime64(3, 'UTC'),
    duration_ms       UInt64,
    event_count       UInt32,
    event_type_counts Map(LowCardinality(String), UInt32),
    page_views        UInt32,
    purchases         UInt32,
    revenue           Decimal(18, 2),
    converted         UInt8,
    entry_page        String,
    exit_page         String,
    is_closed         UInt8,
    closed_by         LowCardinality(String),
    is_deleted        UInt8,
    version           UInt64
)
ENGINE = ReplacingMergeTree(version, is_deleted)
PARTITION BY toYYYYMM(start_time)
ORDER BY (user_id, session_id)
SETTINGS non_replicated_deduplication_window = 1000
