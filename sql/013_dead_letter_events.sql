-- Rejected events with their reason and the payload exactly as received. A redelivered reject
-- collapses on its fingerprint (source, CloudEvent id, payload).
CREATE TABLE IF NOT EXISTS {db}.dead_letter_events
(
    received_at DateTime64(3, 'UTC'),
    reason      LowCardinality(String),
    detail      String,
    field       String,
    event_type  LowCardinality(String),
    ce_id       String,
    ce_source   String,
    ce_type     LowCardinality(String),
    ce_subject  String,
    payload     String,
    fingerprint UInt64 MATERIALIZED cityHash64(ce_source, ce_id, payload)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(received_at)
ORDER BY (reason, fingerprint)
SETTINGS non_replicated_deduplication_window = 1000
