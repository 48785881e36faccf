CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.product_performance_mv TO {db}.product_performance AS
SELECT toStartOfMinute(timestamp) AS minute, product_id, max(category) AS category,
       toInt64(sumIf(sign, event_type = 'product_view')) AS views,
       toInt64(sumIf(sign, event_type = 'add_to_cart')) AS add_to_carts,
       toInt64(sumIf(sign, event_type = 'purchase')) AS purchases,
       toInt64(sumIf(sign * quantity, event_type = 'purchase')) AS units,
       toDecimal128(sumIf(sign * price * quantity, event_type = 'purchase'), 2) AS revenue
FROM {db}.user_events_realtime
WHERE event_type IN ('product_view', 'add_to_cart', 'purchase')
GROUP BY minute, product_id
