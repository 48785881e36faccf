import { describe, expect, test } from 'vitest';
import { createAckBreaker, nextAverage, predictAckMs } from '../../functions/core/ack-breaker.js';

describe('predictAckMs', () => {
  test('an idle writer: the open batch ages out, then one insert', () => {
    expect(predictAckMs({ openRemainingMs: 2_000, queued: 0, headElapsedMs: 0, insertMs: 200 })).toBe(2_200);
  });

  test('each queued batch costs one insert; the running one only what is left of it', () => {
    expect(predictAckMs({ openRemainingMs: 500, queued: 3, headElapsedMs: 50, insertMs: 200 })).toBe(500 + 150 + 2 * 200 + 200);
  });

  test('an insert running past the average is expected to take as long again', () => {
    expect(predictAckMs({ openRemainingMs: 0, queued: 1, headElapsedMs: 6_000, insertMs: 300 })).toBe(6_000 + 300);
  });

  test('before any insert, only the age of the open batch counts', () => {
    expect(predictAckMs({ openRemainingMs: 1_000, queued: 4, headElapsedMs: 0, insertMs: 0 })).toBe(1_000);
  });
});

describe('createAckBreaker', () => {
  test('opens past the budget and closes only below half of it', () => {
    const b = createAckBreaker({ budgetMs: 10_000 });
    expect(b.evaluate(false, 9_999)).toEqual({ open: false });
    expect(b.evaluate(false, 12_000)).toMatchObject({ open: true, reason: 'slow' });
    expect(b.evaluate(false, 8_000).open).toBe(true); // under the budget, not yet under half of it
    expect(b.evaluate(false, 5_001).open).toBe(true);
    expect(b.evaluate(false, 5_000)).toEqual({ open: false });
    expect(b.evaluate(false, 8_000)).toEqual({ open: false }); // closed: the budget applies again
  });

  test('an idle writer whose one insert fits the budget closes it', () => {
    const b = createAckBreaker({ budgetMs: 3_000 });
    expect(b.evaluate(false, 9_000).open).toBe(true);
    expect(b.evaluate(false, 2_500, true)).toEqual({ open: false });
    expect(b.tripped).toBe(false);
  });

  test('an idle writer takes the next batch as a probe, however slow the last inserts were', () => {
    const b = createAckBreaker({ budgetMs: 3_000 });
    expect(b.evaluate(false, 9_000).open).toBe(true);
    expect(b.evaluate(false, 9_000, true)).toEqual({ open: false });
    expect(b.tripped).toBe(true); // a probe is not a recovery
    expect(b.evaluate(false, 9_000).open).toBe(true); // the probe's own batch is still slow
    expect(b.evaluate(false, 1_000)).toEqual({ open: false });
    expect(b.tripped).toBe(false);
  });

  test('is open while ClickHouse keeps failing, whatever the queue', () => {
    const b = createAckBreaker({ budgetMs: 10_000 });
    expect(b.evaluate(true, 0)).toEqual({ open: true, reason: 'failing', retryAfterS: 2 });
    expect(b.tripped).toBe(true);
    expect(b.evaluate(false, 100)).toEqual({ open: false });
    expect(b.tripped).toBe(false);
  });

  test('Retry-After is about half the predicted wait, between 1 s and the cap', () => {
    const b = createAckBreaker({ budgetMs: 1_000, maxRetryAfterS: 5 });
    expect(b.evaluate(false, 1_500)).toMatchObject({ retryAfterS: 1 });
    expect(b.evaluate(false, 6_000)).toMatchObject({ retryAfterS: 3 });
    expect(b.evaluate(false, 600_000)).toMatchObject({ retryAfterS: 5 });
  });
});

test('nextAverage starts at the first sample and then moves a share of the way', () => {
  expect(nextAverage(0, 400)).toBe(400);
  expect(nextAverage(400, 1_400)).toBe(700);
  expect(nextAverage(700, 700)).toBe(700);
});
