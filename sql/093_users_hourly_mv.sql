CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.users_hourly_mv TO {db}.users_hourly AS
SELECT hour, user_tier, type AS event_type, users
FROM (
    SELECT toStartOfHour(timestamp) AS hour, user_tier, type, uniqExactState(user_id) AS users
    FROM {db}.user_events_realtime ARRAY JOIN [toString(event_type), ''] AS type
    GROUP BY hour, user_tier, type)
