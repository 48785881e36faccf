-- The view fills the maxima too (idempotent: the same query each start).
ALTER TABLE {db}.conversion_funnel_mv MODIFY QUERY
SELECT toStartOfMinute(timestamp) AS minute, user_tier, event_type,
       toInt64(sum(sign)) AS events, uniqExactState(user_id) AS users,
       max(timestamp) AS latest_event, max(stored_at) AS last_stored
FROM {db}.user_events_realtime
GROUP BY minute, user_tier, event_type
