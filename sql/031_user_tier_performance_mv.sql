CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.user_tier_performance_mv TO {db}.user_tier_performance AS
SELECT toStartOfMinute(timestamp) AS minute, user_tier,
       toInt64(sum(sign)) AS events, uniqExactState(user_id) AS users, toInt64(sumIf(sign, event_type = 'purchase')) AS purchases,
       toInt64(0) AS orders, toDecimal128(0, 2) AS revenue
FROM {db}.user_events_realtime
GROUP BY minute, user_tier
