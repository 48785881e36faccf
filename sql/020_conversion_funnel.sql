-- Per minute, tier and event type: events and exact unique users. All 9 types are kept, so the
-- dashboard's event-type chart and the 5-step funnel read the same table.
CREATE TABLE IF NOT EXISTS {db}.conversion_funnel
(
    minute     DateTime('UTC'),
    user_tier  LowCardinality(String),
    event_type LowCardinality(String),
    events     SimpleAggregateFunction(sum, Int64),
    users      AggregateFunction(uniqExact, UUID)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (minute, user_tier, event_type)
SETTINGS non_replicated_deduplication_window = 1000
