-- The view copies the new columns too (idempotent: the same query each start).
ALTER TABLE {db}.session_funnel_mv MODIFY QUERY
SELECT start_time, session_id, user_id, user_tier, funnel_step, funnel_ms, is_closed, is_deleted, version,
       end_time, duration_ms, event_count, page_views, purchases, revenue, converted, entry_page, exit_page, closed_by, 1 AS filled
FROM {db}.user_sessions_realtime
