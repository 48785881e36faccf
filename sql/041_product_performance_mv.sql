CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.product_performance_mv TO {db}.product_performance AS
SELECT toStartOfMinute(timestamp) AS minute, product_id, max(category) AS category,
       countIf(event_type = 'product_view') AS views,
       countIf(event_type = 'add_to_cart') AS add_to_carts,
       countIf(event_type = 'purchase') AS purchases,
       sumIf(toUInt64(quantity), event_type = 'purchase') AS units,
       toDecimal128(sumIf(price * quantity, event_type = 'purchase'), 2) AS revenue
FROM {db}.user_events_realtime
WHERE event_type IN ('product_view', 'add_to_cart', 'purchase')
GROUP BY minute, product_id
