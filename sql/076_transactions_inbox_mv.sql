CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.transactions_inbox_mv TO {db}.transactions_inbox AS
SELECT stored_at, user_id, transaction_id, sign
FROM {db}.transactions_realtime
WHERE stored_at > now64(3) - INTERVAL 1 DAY
