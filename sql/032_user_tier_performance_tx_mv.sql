CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.user_tier_performance_tx_mv TO {db}.user_tier_performance AS
SELECT toStartOfMinute(timestamp) AS minute, user_tier,
       toInt64(0) AS events, uniqExactStateIf(user_id, 0) AS users, toInt64(0) AS purchases,
       toInt64(sum(sign)) AS orders, toDecimal128(sum(sign * total_amount), 2) AS revenue
FROM {db}.transactions_realtime
WHERE status = 'completed'
GROUP BY minute, user_tier
