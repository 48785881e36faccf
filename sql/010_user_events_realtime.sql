-- One row per accepted user event, plus, rarely, a cancelling row (sign = -1) that the sessionizer
-- writes when a redelivered event was stored twice (two replicas, or a restart, each holding a
-- copy). Every figure sums `sign`, so a duplicate never changes a number once it is cancelled.
-- Plain MergeTree on purpose: a collapsing or replacing engine could merge two copies away before
-- the sessionizer sees them, leaving the views' double count uncancelled.
-- The insert de-duplication window makes a retried batch (same insert_deduplication_token) a
-- no-op here and in every view fed from this table.
CREATE TABLE IF NOT EXISTS {db}.user_events_realtime
(
    event_id     UUID,
    event_type   LowCardinality(String),
    user_id      UUID,
    user_tier    LowCardinality(String),
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
    sign         Int8 DEFAULT 1,
    received_at  DateTime64(3, 'UTC'),
    stored_at    DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX stored_at_idx stored_at TYPE minmax GRANULARITY 1
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (user_id, timestamp, event_id)
SETTINGS non_replicated_deduplication_window = 1000
