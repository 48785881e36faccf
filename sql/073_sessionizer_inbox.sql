-- The sessionizer's inbox: every stored event row again, keyed by stored_at, so "what was stored
-- since the last run" is a primary-key range however much history the events table holds (that
-- table is keyed by user, and its merged parts mix old and new rows in every granule). Kept one
-- day; the sessionizer reads only the last seconds of it.
CREATE TABLE IF NOT EXISTS {db}.sessionizer_inbox
(
    stored_at   DateTime64(3, 'UTC'),
    user_id     UUID,
    event_id    UUID,
    event_type  LowCardinality(String),
    timestamp   DateTime64(3, 'UTC'),
    page_url    String,
    price       Decimal(18, 2),
    quantity    UInt16,
    user_tier   LowCardinality(String),
    sign        Int8
)
ENGINE = MergeTree
PARTITION BY toStartOfHour(stored_at)
ORDER BY stored_at
TTL toDateTime(stored_at) + INTERVAL 1 DAY
SETTINGS ttl_only_drop_parts = 1
