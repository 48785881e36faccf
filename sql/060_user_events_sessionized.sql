-- Each event with its final session: the latest session of its user that started at or before it.
-- An event stored more than once shows its first stored copy (earliest stored_at, ties by the hash
-- of the row), the one every table and view counts (functions/steps/copies.ts).
-- (join_use_nulls is pinned so the view's column types do not depend on the caller's setting.)
-- OR REPLACE: a database made before the first-stored rule gets this definition at the next start.
CREATE OR REPLACE VIEW {db}.user_events_sessionized AS
SELECT e.*, s.session_id AS session_id
FROM (
    SELECT * EXCEPT (copy_key) FROM (
        SELECT *, cityHash64(* EXCEPT (sign, stored_at)) AS copy_key FROM {db}.user_events_realtime WHERE sign = 1
        ORDER BY event_id, stored_at, copy_key LIMIT 1 BY event_id)
) AS e
ASOF LEFT JOIN (SELECT user_id, start_time, session_id FROM {db}.user_sessions_realtime FINAL) AS s
ON e.user_id = s.user_id AND e.timestamp >= s.start_time
SETTINGS join_use_nulls = 0
