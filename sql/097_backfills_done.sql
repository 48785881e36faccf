INSERT INTO {db}.backfills (name)
SELECT 'bounded_reads' WHERE (SELECT count() FROM {db}.backfills WHERE name = 'bounded_reads') = 0
