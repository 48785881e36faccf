-- Events the sessionizer first saw behind its watermark. They are stored and counted like any
-- other event and their session is corrected; this table says which they were and by how much.
CREATE TABLE IF NOT EXISTS {db}.late_events
(
    event_id     UUID,
    user_id      UUID,
    timestamp    DateTime64(3, 'UTC'),
    watermark    DateTime64(3, 'UTC'),
    lateness_ms  UInt64,
    seen_at      DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (user_id, event_id)
