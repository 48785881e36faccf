-- One row per accepted user event. ReplacingMergeTree on the full key collapses a duplicate that
-- slipped past the ingest's de-duplication at merge time; the insert de-duplication window makes a
-- retried batch (same insert_deduplication_token) a no-op, here and in every view fed from it.
CREATE TABLE IF NOT EXISTS {db}.user_events_realtime
(
    event_id     UUID,
    event_type   LowCardinality(String),
    user_id      UUID,
    user_tier    LowCardinality(String),
    session_id   UUID,
    timestamp    DateTime64(3, 'UTC'),
    page_url     String,
    product_id   String,
    category     LowCardinality(String),
    price        Decimal(18, 2),
    quantity     UInt16,
    search_query String,
    order_id     UUID,
    device_type  LowCardinality(String),
    referrer     String,
    is_late      UInt8,
    received_at  DateTime64(3, 'UTC'),
    stored_at    DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (user_id, timestamp, event_id)
SETTINGS non_replicated_deduplication_window = 1000
