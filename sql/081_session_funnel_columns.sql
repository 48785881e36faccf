-- session_funnel becomes the sessions by start time: every column the session summary and the
-- recent-sessions list show, so those read a primary-key range of the dashboard's range instead of
-- every version of every session of the month (user_sessions_realtime is keyed by user: at
-- 20,000,000 stored sessions each such read took ~2 s, bench/RESULTS.md). `filled`: the row was
-- written with these columns (sql/083 fills the rows written before them).
ALTER TABLE {db}.session_funnel
    ADD COLUMN IF NOT EXISTS end_time    DateTime64(3, 'UTC') DEFAULT start_time,
    ADD COLUMN IF NOT EXISTS duration_ms UInt64 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS event_count UInt32 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS page_views  UInt32 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS purchases   UInt32 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS revenue     Decimal(18, 2) DEFAULT 0,
    ADD COLUMN IF NOT EXISTS converted   UInt8 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS entry_page  String DEFAULT '',
    ADD COLUMN IF NOT EXISTS exit_page   String DEFAULT '',
    ADD COLUMN IF NOT EXISTS closed_by   LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS filled      UInt8 DEFAULT 0
