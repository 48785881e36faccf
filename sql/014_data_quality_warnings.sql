-- Data-quality warnings: a stored event carried a field the schema does not know, a descriptive
-- value outside its known set, or an unknown dataschema (docs/data-quality.md). One row per
-- warning, with a short sample of the value. A redelivered event's warning collapses on
-- (kind, field, record_id); rows are kept 30 days, they are for triage, not for figures.
CREATE TABLE IF NOT EXISTS {db}.data_quality_warnings
(
    received_at DateTime64(3, 'UTC'),
    kind        LowCardinality(String),
    field       String,
    value       String,
    event_type  LowCardinality(String),
    record_id   String,
    ce_id       String,
    ce_source   String,
    dataschema  String
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(received_at)
ORDER BY (kind, field, record_id)
TTL toDateTime(received_at) + INTERVAL 30 DAY
SETTINGS non_replicated_deduplication_window = 1000
