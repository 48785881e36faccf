CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.sessionizer_inbox_mv TO {db}.sessionizer_inbox AS
SELECT stored_at, user_id, event_id, event_type, timestamp, page_url, price, quantity, user_tier, sign
FROM {db}.user_events_realtime
