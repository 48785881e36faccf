-- Fed by two views: events (activity, purchases) and completed transactions (orders, revenue).
CREATE TABLE IF NOT EXISTS {db}.user_tier_performance
(
    minute    DateTime('UTC'),
    user_tier LowCardinality(String),
    events    SimpleAggregateFunction(sum, Int64),
    users     AggregateFunction(uniqExact, UUID),
    purchases SimpleAggregateFunction(sum, Int64),
    orders    SimpleAggregateFunction(sum, Int64),
    revenue   SimpleAggregateFunction(sum, Decimal(38, 2))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (minute, user_tier)
SETTINGS non_replicated_deduplication_window = 1000
