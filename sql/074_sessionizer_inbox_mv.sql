-- Rows stored with an old stored_at (a bulk load of history) stay out: the inbox is for live rows.
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.sessionizer_inbox_mv TO {db}.sessionizer_inbox AS
SELECT stored_at, user_id, event_id, event_type, timestamp, page_url, price, quantity, user_tier, sign
FROM {db}.user_events_realtime
WHERE stored_at > now64(3) - INTERVAL 1 DAY
