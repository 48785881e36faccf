-- Once, after sql/091's view is in place: the maxima of every minute stored before it (rows with no
-- events and an empty users state, so only the maxima change). Events stored meanwhile are counted
-- by both, which max allows.
INSERT INTO {db}.conversion_funnel (minute, user_tier, event_type, events, users, latest_event, last_stored)
SELECT toStartOfMinute(timestamp) AS minute, user_tier, event_type, toInt64(0), uniqExactStateIf(user_id, 0), max(timestamp), max(stored_at)
FROM {db}.user_events_realtime
WHERE (SELECT count() FROM {db}.backfills WHERE name = 'bounded_reads') = 0
GROUP BY minute, user_tier, event_type
