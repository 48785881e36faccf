-- The newest event time and store time per minute, so the freshness figures read whole minutes of
-- this table instead of every raw event in the range (a day at the seed's rate is ~860 M rows).
-- max is idempotent: a minute counted twice (sql/095's backfill beside the view) is still right.
ALTER TABLE {db}.conversion_funnel
    ADD COLUMN IF NOT EXISTS latest_event SimpleAggregateFunction(max, DateTime64(3, 'UTC')) DEFAULT toDateTime64(0, 3, 'UTC'),
    ADD COLUMN IF NOT EXISTS last_stored  SimpleAggregateFunction(max, DateTime64(3, 'UTC')) DEFAULT toDateTime64(0, 3, 'UTC')
