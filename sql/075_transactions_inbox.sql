-- The same for transactions: the ids stored since the last run, for the duplicate-copy check.
CREATE TABLE IF NOT EXISTS {db}.transactions_inbox
(
    stored_at      DateTime64(3, 'UTC'),
    user_id        UUID,
    transaction_id UUID,
    sign           Int8
)
ENGINE = MergeTree
PARTITION BY toStartOfHour(stored_at)
ORDER BY stored_at
TTL toDateTime(stored_at) + INTERVAL 1 DAY
SETTINGS ttl_only_drop_parts = 1
