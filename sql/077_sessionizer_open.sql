-- Snapshots of the sessionizer's open sessions: what a restarted sessionizer (or a second one, in a
-- rollout) loads to go on, then replays the inbox from the snapshot's cursor. One partition per
-- snapshot (generation), dropped once a newer one is complete, so the table holds one or two
-- snapshots of the open sessions only, never the closed ones.
CREATE TABLE IF NOT EXISTS {db}.sessionizer_open
(
    generation UInt64,
    user_id    UUID,
    state      String
)
ENGINE = MergeTree
PARTITION BY generation
ORDER BY user_id
