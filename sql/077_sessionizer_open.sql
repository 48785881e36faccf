-- The sessionizer's open sessions, durable: what a restarted (or a second, during a rollout)
-- sessionizer loads to go on where the last one stopped. One row per open session with the ids (and
-- stored_at) of the events folded into it, so a re-read or a second copy of an event is recognised;
-- a closed session gets a tombstone and is never read again. Small: only open sessions.
CREATE TABLE IF NOT EXISTS {db}.sessionizer_open
(
    user_id    UUID,
    session_id UUID,
    state      String,
    is_deleted UInt8,
    version    UInt64
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (user_id, session_id)
