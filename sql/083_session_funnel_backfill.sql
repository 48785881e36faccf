-- Once, on a database made before sql/081: each session whose current row lacks the new columns is
-- written again from user_sessions_realtime, every version (the newest wins, as before; an equal
-- version written later replaces the unfilled row). Afterwards no current row is unfilled, and this
-- reads one column of session_funnel and inserts nothing.
INSERT INTO {db}.session_funnel
    (start_time, session_id, user_id, user_tier, funnel_step, funnel_ms, is_closed, is_deleted, version,
     end_time, duration_ms, event_count, page_views, purchases, revenue, converted, entry_page, exit_page, closed_by, filled)
SELECT start_time, session_id, user_id, user_tier, funnel_step, funnel_ms, is_closed, is_deleted, version,
       end_time, duration_ms, event_count, page_views, purchases, revenue, converted, entry_page, exit_page, closed_by, 1
FROM {db}.user_sessions_realtime
WHERE (user_id, session_id) IN (SELECT user_id, session_id FROM {db}.session_funnel FINAL WHERE filled = 0)
