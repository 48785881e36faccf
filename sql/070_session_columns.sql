-- Columns added after the first release (a database made before them gets them at the next start):
-- the furthest step of the ordered funnel a session reached (0 = none, 1..5 = page_view ..
-- purchase, each in order after the one before) and how long after the session's start it got there.
ALTER TABLE {db}.user_sessions_realtime
    ADD COLUMN IF NOT EXISTS funnel_step UInt8 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS funnel_ms   UInt64 DEFAULT 0
