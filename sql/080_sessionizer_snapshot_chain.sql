-- A snapshot may be a full one or the users changed since the one before (a delta, '' for a user with
-- no open session left): `chain` lists the generations a loader applies in order, oldest (a full
-- snapshot) first, and `chain_users` the rows each holds, so a loader can tell a complete chain from
-- one being dropped.
ALTER TABLE {db}.sessionizer_state
    ADD COLUMN IF NOT EXISTS chain       Array(UInt64) DEFAULT [],
    ADD COLUMN IF NOT EXISTS chain_users Array(UInt64) DEFAULT []
