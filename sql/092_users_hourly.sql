-- Distinct users per hour, tier and event type ('' = any type), so that a range's users merge its
-- whole hours from here and only its first and last partial hours from the per-minute states. A
-- per-minute state holds a user once for every minute they were active, an hourly one once per hour:
-- the states a 24-hour range merges shrink by the minutes a visit spans. Only uniqExact states, which
-- are idempotent (a user counted twice is still one), so the backfill may overlap the view safely;
-- event counts and sums stay in the per-minute tables.
CREATE TABLE IF NOT EXISTS {db}.users_hourly
(
    hour       DateTime('UTC'),
    user_tier  LowCardinality(String),
    event_type LowCardinality(String),
    users      AggregateFunction(uniqExact, UUID)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (hour, user_tier, event_type)
SETTINGS non_replicated_deduplication_window = 1000
