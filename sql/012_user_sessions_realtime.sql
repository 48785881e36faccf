-- Written only by the sessionizer, which derives sessions from the stored events. Versioned rows:
-- an open session is rewritten as it grows and once more when it closes; a session whose id
-- vanishes (a late event moved its start, or merged two sessions) gets a tombstone
-- (is_deleted = 1). SELECT ... FINAL gives the current sessions.
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
