// The one timestamp reader (functions/core/timestamp.ts) and the bounded labels of the warnings
// metric (functions/steps/warnings.ts), as tables.
import { describe, expect, test } from 'vitest';
import { parseTimestamp, timestampMs, toIso } from '../../functions/core/timestamp.js';
import { createWarningLabels } from '../../functions/steps/warnings.js';

describe('parseTimestamp', () => {
  test.each([
    ['2024-05-01T10:00:00.123Z', '2024-05-01T10:00:00.123Z'],
    ['2024-05-01T10:00:00Z', '2024-05-01T10:00:00.000Z'],
    ['2024-05-01T10:00:00.1Z', '2024-05-01T10:00:00.100Z'],
    ['2024-05-01T10:00:00.1239Z', '2024-05-01T10:00:00.123Z'],
    ['2024-05-01T10:00:00.999999999+00:00', '2024-05-01T10:00:00.999Z'],
    ['2024-05-01T00:00:00-23:59', '2024-05-01T23:59:00.000Z'],
    ['2024-05-01T23:59:00+23:59', '2024-05-01T00:00:00.000Z'],
    ['2024-12-31T23:59:60.5Z', '2024-12-31T23:59:59.999Z'],
    ['2000-02-29T12:00:00Z', '2000-02-29T12:00:00.000Z'],
    ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000Z'],
    ['0004-02-29T00:00:00Z', '0004-02-29T00:00:00.000Z'],
  ])('%s → %s', (s, iso) => {
    expect(parseTimestamp(s)).toEqual({ ok: true, ms: Date.parse(iso), iso });
  });

  test.each([
    ['2024-05-01T10:00:00', 'has no time zone (Z or ±hh:mm)'],
    ['2024-05-01 10:00:00.000', 'has no time zone (Z or ±hh:mm)'],
    ['2024-05-01 10:00:00Z', 'is not an RFC 3339 date-time'],
    ['2024-05-01T10:00:00+02', 'is not an RFC 3339 date-time'],
    ['2024-05-01T10:00:00.Z', 'is not an RFC 3339 date-time'],
    ['2024-05-01T10:00Z', 'is not an RFC 3339 date-time'],
    ['+002024-05-01T10:00:00Z', 'is not an RFC 3339 date-time'],
    ['1900-02-29T10:00:00Z', 'is not a date that exists'],
    ['2024-04-31T10:00:00Z', 'is not a date that exists'],
    ['2024-00-10T10:00:00Z', 'is not a date that exists'],
    ['2024-05-01T10:00:61Z', 'is not a time of day'],
    ['2024-05-01T10:00:00+10:60', 'has an offset out of range'],
    [`2024-05-01T10:00:00.${'1'.repeat(60)}Z`, 'is not an RFC 3339 date-time'],
    [1714557600000, 'is not a string'],
  ])('%s is refused: %s', (s, why) => {
    expect(parseTimestamp(s)).toEqual({ ok: false, why });
  });

  test('timestampMs: the instant, or NaN', () => {
    expect(timestampMs('2024-05-01T12:00:00+02:00')).toBe(Date.UTC(2024, 4, 1, 10));
    expect(timestampMs('yesterday')).toBeNaN();
  });

  test('toIso: the stored form, and … outside years 0000-9999', () => {
    expect(toIso(0)).toBe('1970-01-01T00:00:00.000Z');
    expect(toIso(Date.UTC(10000, 0, 1))).toBe('…');
  });
});

describe('warning labels', () => {
  test('the first names get their own label, later ones and odd ones count as other', () => {
    const labels = createWarningLabels(2);
    expect(labels({ kind: 'unknown_field', field: 'coupon', value: '"X"' })).toEqual({ kind: 'unknown_field', field: 'coupon' });
    expect(labels({ kind: 'unknown_field', field: '"a b"', value: '1' })).toEqual({ kind: 'unknown_field', field: 'other' });
    expect(labels({ kind: 'unlisted_value', field: 'payment_method', value: '"cash"' })).toEqual({ kind: 'unlisted_value', field: 'payment_method' });
    expect(labels({ kind: 'unknown_field', field: 'gift', value: 'true' })).toEqual({ kind: 'unknown_field', field: 'other' });
    expect(labels({ kind: 'unknown_field', field: 'coupon', value: '"Y"' })).toEqual({ kind: 'unknown_field', field: 'coupon' });
  });
});
