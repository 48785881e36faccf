-- One-time fills of tables added to a database that already holds data: a fill runs at every start
-- until its name is here (written after it: a fill cut short runs again, so fills are idempotent).
CREATE TABLE IF NOT EXISTS {db}.backfills
(
    name    LowCardinality(String),
    done_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = MergeTree
ORDER BY name
