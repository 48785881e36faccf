-- Each inbox row keeps the number of the block it was inserted in (`_block_number`) through merges,
-- so a run leaves the blocks it has already read out of the overlap inside ClickHouse. On a table
-- made before this file, rows merged before it report their part's first block (one number for
-- several inserts); rows inserted since report their own. Block numbers are given at commit, so a
-- late-visible insert never shares a number already read (functions/sessionizer/queries.ts).
ALTER TABLE {db}.sessionizer_inbox MODIFY SETTING enable_block_number_column = 1
