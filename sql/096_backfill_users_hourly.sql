-- Once, after sql/093's view is in place: every hour stored before it, from the per-minute states.
INSERT INTO {db}.users_hourly (hour, user_tier, event_type, users)
SELECT hour, user_tier, type AS event_type, users
FROM (
    SELECT toStartOfHour(minute) AS hour, user_tier, type, uniqExactMergeState(users) AS users
    FROM {db}.conversion_funnel ARRAY JOIN [toString(event_type), ''] AS type
    WHERE (SELECT count() FROM {db}.backfills WHERE name = 'bounded_reads') = 0
    GROUP BY hour, user_tier, type)
