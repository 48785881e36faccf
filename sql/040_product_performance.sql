CREATE TABLE IF NOT EXISTS {db}.product_performance
(
    minute       DateTime('UTC'),
    product_id   String,
    category     SimpleAggregateFunction(max, LowCardinality(String)),
    views        SimpleAggregateFunction(sum, Int64),
    add_to_carts SimpleAggregateFunction(sum, Int64),
    purchases    SimpleAggregateFunction(sum, Int64),
    units        SimpleAggregateFunction(sum, Int64),
    revenue      SimpleAggregateFunction(sum, Decimal(38, 2))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (minute, product_id)
SETTINGS non_replicated_deduplication_window = 1000
