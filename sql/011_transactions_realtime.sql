-- As user_events_realtime: `sign` cancels a transaction stored twice; figures sum it.
CREATE TABLE IF NOT EXISTS {db}.transactions_realtime
(
    transaction_id UUID,
    order_id       UUID,
    user_id        UUID,
    user_tier      LowCardinality(String),
    timestamp      DateTime64(3, 'UTC'),
    items          Array(Tuple(product_id String, quantity UInt16, unit_price Decimal(18, 2))),
    subtotal       Decimal(18, 2),
    discount       Decimal(18, 2),
    tax            Decimal(18, 2),
    total_amount   Decimal(18, 2),
    currency       LowCardinality(String),
    payment_method LowCardinality(String),
    status         LowCardinality(String),
    sign           Int8 DEFAULT 1,
    received_at    DateTime64(3, 'UTC'),
    stored_at      DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX stored_at_idx stored_at TYPE minmax GRANULARITY 1
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (user_id, timestamp, transaction_id)
SETTINGS non_replicated_deduplication_window = 1000
