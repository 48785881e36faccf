-- Sums `sign`, so a cancelled duplicate counts zero; uniqExact is unaffected by copies.
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.conversion_funnel_mv TO {db}.conversion_funnel AS
SELECT toStartOfMinute(timestamp) AS minute, user_tier, event_type,
       toInt64(sum(sign)) AS events, uniqExactState(user_id) AS users
FROM {db}.user_events_realtime
GROUP BY minute, user_tier, event_type
