-- A snapshot's row in sessionizer_state (name = 'snapshot'): the generation of sessionizer_open it
-- wrote and how many users it holds, so a loader can tell a complete snapshot from one being dropped.
ALTER TABLE {db}.sessionizer_state
    ADD COLUMN IF NOT EXISTS generation UInt64 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS users      UInt64 DEFAULT 0
