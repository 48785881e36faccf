// toCents / fromCents: decimal strings to integer cents and back, without floats.
import { describe, expect, test } from 'vitest';
import { fromCents, toCents } from '../../functions/core/money.js';

describe('toCents', () => {
  test.each([
    ['0', 0], ['0.00', 0], ['0.0', 0], ['0.01', 1], ['0.1', 10], ['0.10', 10], ['1', 100],
    ['12.3', 1230], ['12.30', 1230], ['12.03', 1203], ['49.99', 4999], ['100', 10_000], ['007.50', 750],
    ['1000000000000', 100_000_000_000_000], ['9999999999999.99', 999_999_999_999_999],
  ])('%s is %d cents', (amount, cents) => expect(toCents(amount)).toBe(cents));

  test('sums in cents are exact where floats are not', () => {
    expect(0.1 + 0.2).not.toBe(0.3);
    expect(toCents('0.1') + toCents('0.2')).toBe(toCents('0.3'));
  });
});

describe('fromCents', () => {
  test.each([
    [0, '0.00'], [1, '0.01'], [10, '0.10'], [99, '0.99'], [100, '1.00'], [1230, '12.30'], [1203, '12.03'], [4999, '49.99'],
    [100_000_000_000_000, '1000000000000.00'], [999_999_999_999_999, '9999999999999.99'],
    [-1, '-0.01'], [-150, '-1.50'],
    [1229.6, '12.30'], [1230.4, '12.30'],
  ])('%d cents is %s', (cents, amount) => expect(fromCents(cents)).toBe(amount));
});

describe('round trips', () => {
  test.each(['0.00', '0.01', '0.10', '1.00', '12.30', '12.03', '49.99', '199.00', '1000000000000.00', '9999999999999.99'])(
    'a canonical amount %s survives toCents then fromCents', (amount) => expect(fromCents(toCents(amount))).toBe(amount));

  test.each([['0', '0.00'], ['12.3', '12.30'], ['5', '5.00'], ['0.5', '0.50']])('%s is written back as %s', (amount, canonical) => {
    expect(fromCents(toCents(amount))).toBe(canonical);
  });

  test('every cent value from 0 to 100,000 survives fromCents then toCents', () => {
    for (let c = 0; c <= 100_000; c++) if (toCents(fromCents(c)) !== c) expect.fail(`${c} → ${fromCents(c)} → ${toCents(fromCents(c))}`);
  });

  test.each([Number.MAX_SAFE_INTEGER, 123_456_789_012_345, 999_999_999_999_999])('large value %d survives', (c) => {
    expect(toCents(fromCents(c))).toBe(c);
  });
});
