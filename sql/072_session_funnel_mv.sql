CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.session_funnel_mv TO {db}.session_funnel AS
SELECT start_time, session_id, user_id, user_tier, funnel_step, funnel_ms, is_closed, is_deleted, version
FROM {db}.user_sessions_realtime
