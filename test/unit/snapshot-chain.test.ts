import { describe, expect, test } from 'vitest';
import { snapshotIsFull, type Chain } from '../../functions/sessionizer/snapshot.js';

/** When the sessionizer's next snapshot starts a new chain instead of adding the changed users to it. */
describe('snapshotIsFull', () => {
  const chain = (rows: number[], generations = rows.map((_, i) => 100 + i)): Chain => ({ generations, rows });
  const stored = (...g: number[]) => new Set(g);
  test.each([
    ['no chain yet', chain([]), stored(), 0, 0, true],
    ['a full snapshot of 1,000 and 100 changed', chain([1_001]), stored(100), 100, 1_000, false],
    ['deltas up to twice the open users', chain([1_001, 300, 300]), stored(100, 101, 102), 399, 1_000, false],
    ['one row past twice the open users', chain([1_001, 300, 300]), stored(100, 101, 102), 400, 1_000, true],
    ['most users closed since the full one: its rows outweigh the few still open', chain([1_001]), stored(100), 5, 400, true],
    ['a generation of the chain is gone (dropped by another sessionizer)', chain([1_001, 10]), stored(100), 10, 1_000, true],
    ['a chain from before deltas, still stored', chain([1_001]), stored(100, 99, 250), 1, 1_000, false],
  ])('%s', (_what, c, s, changed, open, full) => {
    expect(snapshotIsFull(c, s, changed, open)).toBe(full);
  });
});
