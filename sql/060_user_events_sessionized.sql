-- Each event with its final session: the latest session of its user that started at or before it.
-- (join_use_nulls is pinned so the view's column types do not depend on the caller's setting.)
CREATE VIEW IF NOT EXISTS {db}.user_events_sessionized AS
SELECT e.*, s.session_id AS session_id
FROM (SELECT * FROM {db}.user_events_realtime WHERE sign = 1 LIMIT 1 BY event_id) AS e
ASOF LEFT JOIN (SELECT user_id, start_time, session_id FROM {db}.user_sessions_realtime FINAL) AS s
ON e.user_id = s.user_id AND e.timestamp >= s.start_time
SETTINGS join_use_nulls = 0
