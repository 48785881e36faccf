-- The sessionizer's progress: how far it has read (by stored_at) and its watermark.
CREATE TABLE IF NOT EXISTS {db}.sessionizer_state
(
    name         String,
    cursor       DateTime64(3, 'UTC'),
    max_event    DateTime64(3, 'UTC'),
    watermark    DateTime64(3, 'UTC'),
    updated_at   DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY name
