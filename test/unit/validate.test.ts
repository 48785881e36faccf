// validateRecord with the real schemas: one valid example per event type and a transaction, then
// a table of broken payloads with the reason code and field each must be rejected with.
import { describe, expect, test } from 'vitest';
import type { RejectReason } from '../../functions/core/result.js';
import { EVENT_TYPES, type EventType } from '../../functions/schemas/events.js';
import { validateRecord, type RecordKind } from '../../functions/steps/validate.js';
import { NOW_MS, SKEW_MS, TS, VALID_EVENTS, VALID_TRANSACTION, without } from './builders.js';

const validate = (kind: RecordKind, data: unknown, nowMs = NOW_MS) => validateRecord(kind, data, nowMs, SKEW_MS);

describe('valid records pass unchanged', () => {
  test('there is one example per event type', () => {
    expect(Object.keys(VALID_EVENTS).sort()).toEqual([...EVENT_TYPES].sort());
  });

  test.each(EVENT_TYPES)('%s', (type) => {
    const data = VALID_EVENTS[type];
    expect(validate('event', data)).toEqual({ ok: true, value: { kind: 'event', event: data } });
  });

  test('a transaction', () => {
    expect(validate('transaction', VALID_TRANSACTION)).toEqual({ ok: true, value: { kind: 'transaction', transaction: VALID_TRANSACTION } });
  });

  test.each([
    ['page_view', 'device_type', 'tablet'],
    ['product_view', 'price', '0'],
    ['product_view', 'price', '9999999999999.99'],
    ['add_to_cart', 'quantity', 1000],
    ['search', 'search_query', 'x'.repeat(256)],
    ['purchase', 'referrer', 'https://mail.example/'],
    ['login', 'timestamp', '2024-02-29T23:59:59.999Z'],
  ] as const)('%s with %s = %j', (type, field, value) => {
    expect(validate('event', { ...VALID_EVENTS[type], [field]: value }).ok).toBe(true);
  });

  test.each([
    ['one item, no discount', { items: [{ product_id: 'P1', quantity: 3, unit_price: '0.10' }], subtotal: '0.3', discount: '0', tax: '0.02', total_amount: '0.32' }],
    ['cents that floats get wrong', { items: [{ product_id: 'P1', quantity: 1, unit_price: '0.10' }, { product_id: 'P2', quantity: 1, unit_price: '0.20' }], subtotal: '0.30', discount: '0.00', tax: '0.00', total_amount: '0.30' }],
    ['large amounts', { items: [{ product_id: 'P1', quantity: 1, unit_price: '1000000000000.01' }], subtotal: '1000000000000.01', discount: '0.01', tax: '0', total_amount: '1000000000000' }],
  ])('transaction: %s', (_what, amounts) => {
    expect(validate('transaction', { ...VALID_TRANSACTION, ...amounts }).ok).toBe(true);
  });
});

type Case = [what: string, kind: RecordKind, data: unknown, reason: RejectReason, field: string | undefined];

const ev = (type: EventType, over: Record<string, unknown> = {}) => ({ ...VALID_EVENTS[type], ...over });
const tx = (over: Record<string, unknown> = {}) => ({ ...VALID_TRANSACTION, ...over });

const REQUIRED: [EventType, string][] = [
  ['page_view', 'page_url'],
  ['product_view', 'product_id'],
  ['product_view', 'category'],
  ['search', 'search_query'],
  ['add_to_cart', 'product_id'],
  ['add_to_cart', 'price'],
  ['add_to_cart', 'quantity'],
  ['purchase', 'order_id'],
  ['purchase', 'product_id'],
  ['purchase', 'price'],
  ['purchase', 'quantity'],
  ['remove_from_cart', 'product_id'],
  ['remove_from_cart', 'quantity'],
  ...EVENT_TYPES.flatMap((t): [EventType, string][] => [[t, 'event_id'], [t, 'user_id']]),
];

const CASES: Case[] = [
  // Required fields, per type.
  ...REQUIRED.map(([type, field]): Case => [`${type} without ${field}`, 'event', without(VALID_EVENTS[type], field), 'schema_violation', field]),
  ...EVENT_TYPES.map((t): Case => [`${t} without timestamp`, 'event', without(VALID_EVENTS[t], 'timestamp'), 'invalid_timestamp', 'timestamp']),
  ...(['transaction_id', 'order_id', 'user_id', 'items', 'subtotal', 'discount', 'tax', 'total_amount', 'currency', 'payment_method', 'status'] as const)
    .map((f): Case => [`transaction without ${f}`, 'transaction', without(VALID_TRANSACTION, f), 'schema_violation', f]),

  // Formats and types.
  ['bad event_id', 'event', ev('login', { event_id: 'not-a-uuid' }), 'schema_violation', 'event_id'],
  ['bad user_id', 'event', ev('page_view', { user_id: 'user-42' }), 'schema_violation', 'user_id'],
  ['uuid with a missing digit', 'event', ev('page_view', { user_id: '3f2b8c1e-5d4a-4e6f-9a7b-1c2d3e4f5a6' }), 'schema_violation', 'user_id'],
  ['bad order_id on purchase', 'event', ev('purchase', { order_id: 'ORD-1' }), 'schema_violation', 'order_id'],
  ['price as a number', 'event', ev('add_to_cart', { price: 49.99 }), 'schema_violation', 'price'],
  ['price with three decimals', 'event', ev('purchase', { price: '1.999' }), 'schema_violation', 'price'],
  ['negative price', 'event', ev('product_view', { price: '-1.00' }), 'schema_violation', 'price'],
  ['price with a comma', 'event', ev('purchase', { price: '1,99' }), 'schema_violation', 'price'],
  ['quantity 0', 'event', ev('add_to_cart', { quantity: 0 }), 'schema_violation', 'quantity'],
  ['quantity 1001', 'event', ev('add_to_cart', { quantity: 1001 }), 'schema_violation', 'quantity'],
  ['fractional quantity', 'event', ev('remove_from_cart', { quantity: 1.5 }), 'schema_violation', 'quantity'],
  ['quantity as a string', 'event', ev('purchase', { quantity: '2' }), 'schema_violation', 'quantity'],
  ['empty search query', 'event', ev('search', { search_query: '' }), 'schema_violation', 'search_query'],
  ['empty page_url', 'event', ev('page_view', { page_url: '' }), 'schema_violation', 'page_url'],


  // Timestamps.
  ['timestamp without a zone', 'event', ev('login', { timestamp: '2024-05-01T10:00:00.000' }), 'invalid_timestamp', 'timestamp'],
  ['timestamp with a space', 'event', ev('login', { timestamp: '2024-05-01 10:00:00.000Z' }), 'invalid_timestamp', 'timestamp'],
  ['February 30', 'event', ev('login', { timestamp: '2024-02-30T10:00:00.000Z' }), 'invalid_timestamp', 'timestamp'],
  ['February 29 of a common year', 'event', ev('login', { timestamp: '2023-02-29T10:00:00.000Z' }), 'invalid_timestamp', 'timestamp'],
  ['month 13', 'event', ev('login', { timestamp: '2024-13-01T10:00:00.000Z' }), 'invalid_timestamp', 'timestamp'],
  ['hour 24', 'event', ev('login', { timestamp: '2024-05-01T24:00:00.000Z' }), 'invalid_timestamp', 'timestamp'],
  ['minute 60', 'event', ev('login', { timestamp: '2024-05-01T10:60:00.000Z' }), 'invalid_timestamp', 'timestamp'],
  ['timestamp with an offset hour 24', 'event', ev('login', { timestamp: '2024-05-01T10:00:00+24:00' }), 'invalid_timestamp', 'timestamp'],
  ['timestamp with an offset without a colon', 'event', ev('login', { timestamp: '2024-05-01T10:00:00+0200' }), 'invalid_timestamp', 'timestamp'],
  ['timestamp with a dot and no digits', 'event', ev('login', { timestamp: '2024-05-01T10:00:00.Z' }), 'invalid_timestamp', 'timestamp'],
  ['a date only', 'event', ev('login', { timestamp: '2024-05-01' }), 'invalid_timestamp', 'timestamp'],
  ['timestamp before 2000 once its offset is applied', 'event', ev('login', { timestamp: '2000-01-01T00:30:00+01:00' }), 'invalid_timestamp', 'timestamp'],
  ['transaction timestamp without a zone', 'transaction', tx({ timestamp: '2024-05-01T10:00:00' }), 'invalid_timestamp', 'timestamp'],
  ['timestamp as epoch millis', 'event', ev('login', { timestamp: Date.parse(TS) }), 'invalid_timestamp', 'timestamp'],

  // Types.
  ['unknown event_type', 'event', ev('page_view', { event_type: 'hover' }), 'unknown_type', 'event_type'],
  ['no event_type', 'event', without(VALID_EVENTS.page_view, 'event_type'), 'unknown_type', 'event_type'],
  ['event_type in upper case', 'event', ev('page_view', { event_type: 'PAGE_VIEW' }), 'unknown_type', 'event_type'],
  ['event_type as a number', 'event', ev('page_view', { event_type: 1 }), 'unknown_type', 'event_type'],
  ['an event sent as a transaction', 'transaction', VALID_EVENTS.purchase, 'schema_violation', 'transaction_id'],

  // Transactions' amounts and items.
  ['items that do not add up to the subtotal', 'transaction', tx({ subtotal: '100.47', total_amount: '97.71' }), 'amount_mismatch', 'subtotal'],
  ['an item quantity that does not match', 'transaction', tx({ items: [{ product_id: 'P00002', quantity: 1, unit_price: '49.99' }, { product_id: 'P00007', quantity: 1, unit_price: '0.5' }] }), 'amount_mismatch', 'subtotal'],
  ['subtotal - discount + tax != total', 'transaction', tx({ total_amount: '97.73' }), 'amount_mismatch', 'total_amount'],
  ['discount added instead of subtracted', 'transaction', tx({ total_amount: '117.72' }), 'amount_mismatch', 'total_amount'],
  ['tax left out of the total', 'transaction', tx({ total_amount: '90.48' }), 'amount_mismatch', 'total_amount'],
  ['no items', 'transaction', tx({ items: [] }), 'schema_violation', 'items'],
  ['an item without unit_price', 'transaction', tx({ items: [without(VALID_TRANSACTION.items[0]!, 'unit_price')] }), 'schema_violation', 'items.0.unit_price'],
  ['an item with a float unit_price', 'transaction', tx({ items: [{ product_id: 'P', quantity: 1, unit_price: 1.5 }] }), 'schema_violation', 'items.0.unit_price'],
  ['total_amount as a number', 'transaction', tx({ total_amount: 97.72 }), 'schema_violation', 'total_amount'],
  ['a lower-case currency', 'transaction', tx({ currency: 'usd' }), 'schema_violation', 'currency'],
  ['an unknown status', 'transaction', tx({ status: 'shipped' }), 'schema_violation', 'status'],
  ['a payment method that is not text', 'transaction', tx({ payment_method: 7 }), 'schema_violation', 'payment_method'],
  ['an empty payment method', 'transaction', tx({ payment_method: '' }), 'schema_violation', 'payment_method'],
  ['a device type with a control character', 'event', ev('page_view', { device_type: 'tv\u0007' }), 'schema_violation', 'device_type'],

  // Prototype-polluting keys: refused whatever the policy.
  ['a __proto__ key', 'event', JSON.parse('{"__proto__":{"polluted":true},"event_type":"login"}'), 'schema_violation', '__proto__'],
  ['a constructor key', 'event', ev('login', { constructor: { prototype: { polluted: true } } }), 'schema_violation', 'constructor'],
  ['a __proto__ key on a transaction', 'transaction', { ...JSON.parse('{"__proto__":{"polluted":true}}'), ...VALID_TRANSACTION }, 'schema_violation', '__proto__'],
  ['a prototype key on an item', 'transaction', tx({ items: [{ ...VALID_TRANSACTION.items[0], prototype: {} }, VALID_TRANSACTION.items[1]] }), 'schema_violation', 'items.0.prototype'],

  // Payloads that are not objects.
  ...([['null', null], ['an array', [VALID_EVENTS.login]], ['a string', 'page_view'], ['a number', 42], ['true', true]] as const)
    .flatMap(([what, data]): Case[] => [
      [`${what} as an event`, 'event', data, 'schema_violation', undefined],
      [`${what} as a transaction`, 'transaction', data, 'schema_violation', undefined],
    ]),
];

describe('invalid records are rejected with a reason and the field', () => {
  const rows = CASES.map(([what, kind, data, reason, field]) => ({ what, kind, data, reason, field }));
  test.each(rows)('$kind: $what → $reason on $field', ({ kind, data, reason, field }) => {
    const r = validate(kind, data);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.reason).toBe(reason);
    expect(r.field).toBe(field);
    expect(r.detail).toEqual(expect.any(String));
    expect(r.detail.length).toBeGreaterThan(0);
  });

  test('a missing field is named in the detail', () => {
    expect(validate('event', without(VALID_EVENTS.purchase, 'order_id'))).toMatchObject({ detail: 'missing required field order_id' });
  });

  test('under unknownFields: reject, an extra field is dead-lettered and named in the detail', () => {
    expect(validateRecord('event', ev('login', { color: 'red' }), NOW_MS, SKEW_MS, { unknownFields: 'reject' })).toMatchObject({ ok: false, reason: 'schema_violation', field: 'color', detail: 'unexpected field color' });
    expect(validateRecord('transaction', tx({ items: [{ ...VALID_TRANSACTION.items[0], color: 'red' }] }), NOW_MS, SKEW_MS, { unknownFields: 'reject' })).toMatchObject({ ok: false, field: 'items.0.color' });
  });

  test('a timestamp error says why', () => {
    expect(validate('event', ev('login', { timestamp: '2024-05-01T10:00:00' }))).toMatchObject({ detail: 'timestamp "2024-05-01T10:00:00" has no time zone (Z or ±hh:mm)' });
    expect(validate('event', ev('login', { timestamp: '2024-02-30T10:00:00Z' }))).toMatchObject({ detail: 'timestamp "2024-02-30T10:00:00Z" is not a date that exists' });
  });
});

describe('timestamps from the future', () => {
  const at = (ms: number) => new Date(ms).toISOString();
  test.each([
    ['exactly at the receiving clock', 0, true],
    ['one skew ahead, exactly', SKEW_MS, true],
    ['one skew and 1 ms ahead', SKEW_MS + 1, false],
    ['an hour ahead', 3_600_000, false],
    ['in the past', -86_400_000, true],
  ])('an event %s passes: %s', (_what, aheadMs, passes) => {
    const r = validate('event', ev('page_view', { timestamp: at(NOW_MS + aheadMs) }));
    expect(r.ok).toBe(passes);
    if (!r.ok) expect([r.reason, r.field]).toEqual(['future_timestamp', 'timestamp']);
  });

  test('a transaction more than the skew ahead: future_timestamp', () => {
    const r = validate('transaction', tx({ timestamp: at(NOW_MS + SKEW_MS + 1) }));
    expect(r).toMatchObject({ ok: false, reason: 'future_timestamp', field: 'timestamp' });
  });

  test('with a skew of 0, one millisecond ahead is too far', () => {
    expect(validateRecord('event', ev('login', { timestamp: at(NOW_MS + 1) }), NOW_MS, 0)).toMatchObject({ ok: false, reason: 'future_timestamp' });
  });

  test('a transaction whose amounts are wrong is amount_mismatch even if also from the future', () => {
    expect(validate('transaction', tx({ timestamp: at(NOW_MS + 3_600_000), total_amount: '1.00' }))).toMatchObject({ reason: 'amount_mismatch' });
  });
});

describe('RFC 3339 timestamps: stored as the same instant in UTC, truncated to the millisecond', () => {
  test.each([
    ['JavaScript toISOString', '2024-05-01T10:00:00.120Z', '2024-05-01T10:00:00.120Z'],
    ['Java Instant.toString, whole second', '2024-05-01T10:00:00Z', '2024-05-01T10:00:00.000Z'],
    ['Java Instant.toString, trailing zeros dropped', '2024-05-01T10:00:00.12Z', '2024-05-01T10:00:00.120Z'],
    ['Python isoformat, microseconds and +00:00', '2024-05-01T10:00:00.123456+00:00', '2024-05-01T10:00:00.123Z'],
    ['Go RFC3339Nano, nine digits', '2024-05-01T10:00:00.999999999Z', '2024-05-01T10:00:00.999Z'],
    ['an offset ahead of UTC', '2024-05-01T12:00:00.5+02:00', '2024-05-01T10:00:00.500Z'],
    ['an offset behind UTC, across midnight', '2024-04-30T22:30:00-11:30', '2024-05-01T10:00:00.000Z'],
    ['-00:00 (offset unknown, instant in UTC)', '2024-05-01T10:00:00.000-00:00', '2024-05-01T10:00:00.000Z'],
    ['a lower-case t and z', '2024-05-01t10:00:00.001z', '2024-05-01T10:00:00.001Z'],
    ['a leap second, held as the last millisecond of its minute', '2016-12-31T23:59:60Z', '2016-12-31T23:59:59.999Z'],
    ['a leap second in the stored form itself (found by the fuzz)', '2016-12-31T23:59:60.000Z', '2016-12-31T23:59:59.999Z'],
    ['29 February of a leap year, with an offset into 1 March', '2024-02-29T23:30:00-01:00', '2024-03-01T00:30:00.000Z'],
  ])('%s: %s → %s', (_what, sent, stored) => {
    const event = validate('event', ev('login', { timestamp: sent }));
    expect(event).toMatchObject({ ok: true, value: { event: { timestamp: stored } } });
    expect(validate('transaction', tx({ timestamp: sent }))).toMatchObject({ ok: true, value: { transaction: { timestamp: stored } } });
  });

  test('the canonical form is kept as the same object (no copy on the hot path)', () => {
    const data = ev('login');
    const r = validate('event', data);
    expect(r.ok && r.value.kind === 'event' && r.value.event).toBe(data);
  });
});

describe('schema evolution: stored with a warning', () => {
  test.each<[string, RecordKind, Record<string, unknown>, { kind: string; field: string; value: string }[]]>([
    ['an unknown field', 'event', ev('page_view', { coupon: 'SPRING' }), [{ kind: 'unknown_field', field: 'coupon', value: '"SPRING"' }]],
    ['a field of another type (product_id on login)', 'event', ev('login', { product_id: 'P1' }), [{ kind: 'unknown_field', field: 'product_id', value: '"P1"' }]],
    ['an unknown object field', 'event', ev('login', { ab: { test: 1 } }), [{ kind: 'unknown_field', field: 'ab', value: 'an object' }]],
    ['an unlisted device type', 'event', ev('page_view', { device_type: 'smart_tv' }), [{ kind: 'unlisted_value', field: 'device_type', value: '"smart_tv"' }]],
    ['an unknown field on a transaction', 'transaction', tx({ coupon: 'X' }), [{ kind: 'unknown_field', field: 'coupon', value: '"X"' }]],
    ['an unknown field on two items, warned once', 'transaction', tx({ items: VALID_TRANSACTION.items.map((i) => ({ ...i, color: 'red' })) }), [{ kind: 'unknown_field', field: 'items.color', value: '"red"' }]],
    ['an unlisted payment method', 'transaction', tx({ payment_method: 'klarna' }), [{ kind: 'unlisted_value', field: 'payment_method', value: '"klarna"' }]],
    ['both at once', 'transaction', tx({ payment_method: 'cash', gift: true }), [{ kind: 'unknown_field', field: 'gift', value: 'true' }, { kind: 'unlisted_value', field: 'payment_method', value: '"cash"' }]],
  ])('%s', (_what, kind, data, warnings) => {
    const r = validate(kind, data);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.warnings).toEqual(warnings);
    const rec = r.value.kind === 'event' ? r.value.event : r.value.transaction;
    // The unknown fields are not in the record; descriptive values are kept as sent.
    for (const w of warnings) {
      if (w.kind === 'unknown_field' && !w.field.includes('.')) expect(Object.hasOwn(rec, w.field)).toBe(false);
      if (w.kind === 'unlisted_value') expect((rec as Record<string, unknown>)[w.field]).toBe(data[w.field]);
    }
    if (r.value.kind === 'transaction') for (const item of r.value.transaction.items) expect(Object.keys(item).sort()).toEqual(['product_id', 'quantity', 'unit_price']);
  });

  test('a CloudEvent dataschema of an unknown version: validated as v1, with a warning', () => {
    const r = validateRecord('event', ev('login'), NOW_MS, SKEW_MS, { unknownFields: 'warn', dataschema: 'https://speed-layer.dev/schemas/v2/login.json' });
    expect(r).toMatchObject({ ok: true, value: { warnings: [{ kind: 'unknown_schema', field: 'dataschema', value: '"https://speed-layer.dev/schemas/v2/login.json"' }] } });
  });

  test('a known dataschema: no warning', () => {
    const r = validateRecord('event', ev('login'), NOW_MS, SKEW_MS, { unknownFields: 'warn', dataschema: 'https://speed-layer.dev/schemas/v1/login.json' });
    expect(r.ok && r.value.warnings).toBeUndefined();
  });

  test('strict fields stay strict under an unknown dataschema', () => {
    const r = validateRecord('transaction', tx({ status: 'chargeback' }), NOW_MS, SKEW_MS, { unknownFields: 'warn', dataschema: 'urn:other' });
    expect(r).toMatchObject({ ok: false, reason: 'schema_violation', field: 'status' });
  });

  test('nothing reaches Object.prototype', () => {
    validate('event', JSON.parse('{"__proto__":{"polluted":true},"event_type":"login"}'));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
