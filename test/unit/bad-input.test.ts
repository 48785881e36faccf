// The pure parts of the bad-input policy (README "## Bad input"): the depth scan, quoting of input
// in details, and decode/validate on pathological input, without HTTP.
import { describe, expect, test } from 'vitest';
import { EnvelopeError } from '../../functions/core/errors.js';
import { quote } from '../../functions/core/result.js';
import { decodeRequest, EVENT_CE_TYPE, MAX_BATCH_EVENTS } from '../../functions/cloudevents/index.js';
import { depthExceeds, parseData } from '../../functions/steps/decode.js';
import { validateRecord } from '../../functions/steps/validate.js';
import { NOW_MS, SKEW_MS, VALID_EVENTS } from './builders.js';

const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
const BIN = { 'content-type': 'application/json', 'ce-specversion': '1.0', 'ce-id': 'a', 'ce-source': '/s', 'ce-type': EVENT_CE_TYPE };
const envelopeError = (headers: Record<string, string>, body: string | Buffer) => {
  try { decodeRequest(headers, body); } catch (err) { expect(err).toBeInstanceOf(EnvelopeError); return err as EnvelopeError; }
  throw new Error('no EnvelopeError');
};

describe('depthExceeds', () => {
  test.each<[string, number, boolean]>([
    ['[]', 1, false], ['[[]]', 1, true], ['{"a":{"b":[1]}}', 3, false], ['{"a":{"b":[1]}}', 2, true],
    ['"[[[[[["', 1, false], ['["\\"[[[["]', 1, false], ['["\\\\", [[]]]', 2, true], [deep(100_000), 64, true], [deep(64), 64, false],
  ])('case %# deeper than %i: %s', (text, max, out) => {
    expect(depthExceeds(text, max)).toBe(out);
  });
});

describe('quote', () => {
  test.each<[unknown, string]>([
    ['abc', '"abc"'], ['<b>"x"</b>', '"<b>\\"x\\"</b>"'], ['x'.repeat(100), `"${'x'.repeat(64)}"…`], [7, '7'], [null, 'null'],
    [[1, 2], 'an array'], [{ a: 1 }, 'an object'], [undefined, 'undefined'],
  ])('case %# → %s', (v, out) => {
    expect(quote(v)).toBe(out);
  });

  test('a value 100,000 levels deep is named, not serialized', () => {
    expect(quote(JSON.parse(deep(100_000)))).toBe('an array');
  });
});

describe('decode on pathological input', () => {
  test.each([
    ['structured', { 'content-type': 'application/cloudevents+json' }, `{"specversion":"1.0","id":"a","source":"/s","type":"t","data":${deep(100_000)}}`, 'too_deep', 400],
    ['batch', { 'content-type': 'application/cloudevents-batch+json' }, deep(100_000), 'too_deep', 400],
    ['batch', { 'content-type': 'application/cloudevents-batch+json' }, JSON.stringify(Array(MAX_BATCH_EVENTS + 1).fill({ specversion: '1.0', id: 'a', source: '/s', type: 't' })), 'too_many_events', 413],
    ['structured', { 'content-type': 'application/cloudevents+json' }, Buffer.from([0x7b, 0xff, 0x7d]), 'invalid_utf8', 400],
    ['structured', { 'content-type': 'application/cloudevents+json' }, JSON.stringify({ specversion: 'y'.repeat(1_000_000), id: 'a', source: '/s', type: 't' }), 'unsupported_specversion', 400],
  ])('%s: %#', (_mode, headers, body, code, status) => {
    const err = envelopeError(headers, body);
    expect([err.code, err.status]).toEqual([code, status]);
    expect(JSON.stringify(err.toJSON()).length).toBeLessThan(600);
  });

  test.each<[string, string | Buffer, string]>([
    ['100,000 nested arrays', deep(100_000), 'schema_violation'],
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d]), 'invalid_json'],
    ['truncated JSON', '{"event_type":"login","user_id":', 'invalid_json'],
  ])('binary data that is %s: a reject, not an exception', (_what, body, reason) => {
    const [e] = decodeRequest(BIN, body);
    expect(parseData(e!)).toMatchObject({ ok: false, reason });
  });

  test('data_base64 that is not UTF-8 is invalid_json', () => {
    const [e] = decodeRequest({ 'content-type': 'application/cloudevents+json' }, JSON.stringify({ specversion: '1.0', id: 'a', source: '/s', type: EVENT_CE_TYPE, data_base64: Buffer.from([0xff, 0xfe]).toString('base64') }));
    expect(parseData(e!)).toMatchObject({ ok: false, reason: 'invalid_json', detail: 'data is not valid UTF-8' });
  });
});

describe('validate on pathological values', () => {
  test.each<[string, Record<string, unknown>, string, RegExp]>([
    ['event_type 64 levels deep', { ...VALID_EVENTS.login, event_type: JSON.parse(deep(64)) }, 'unknown_type', /an array/],
    ['event_type a 1 MB string', { ...VALID_EVENTS.login, event_type: 'z'.repeat(1_000_000) }, 'unknown_type', /^unknown event_type "z{64}"…$/],
    ['year 0001', { ...VALID_EVENTS.login, timestamp: '0001-01-01T00:00:00.000Z' }, 'invalid_timestamp', /before 2000/],
    ['a urn:uuid: id', { ...VALID_EVENTS.login, event_id: 'urn:uuid:0b1c2d3e-4f50-4617-8829-3a4b5c6d7e8f' }, 'schema_violation', /event_id/],
    ['a NUL in the page URL', { ...VALID_EVENTS.login, page_url: '/\u0000' }, 'schema_violation', /page_url/],
  ])('%s', (_what, data, reason, detail) => {
    const r = validateRecord('event', data, NOW_MS, SKEW_MS);
    expect(r).toMatchObject({ ok: false, reason });
    expect(r.ok ? '' : r.detail).toMatch(detail);
  });

  test('a 100 KB unknown key: stored without it, the warning names it quoted and cut', () => {
    const r = validateRecord('event', { ...VALID_EVENTS.login, ['k'.repeat(100_000)]: 1 }, NOW_MS, SKEW_MS);
    expect(r).toMatchObject({ ok: true, value: { warnings: [{ kind: 'unknown_field', field: `"${'k'.repeat(64)}"…`, value: '1' }] } });
    expect(r.ok && r.value.kind === 'event' && Object.keys(r.value.event)).toEqual(Object.keys(VALID_EVENTS.login));
  });

  test('under unknownFields: reject, a 100 KB unknown key is dead-lettered, quoted and cut', () => {
    const r = validateRecord('event', { ...VALID_EVENTS.login, ['k'.repeat(100_000)]: 1 }, NOW_MS, SKEW_MS, { unknownFields: 'reject' });
    expect(r).toMatchObject({ ok: false, reason: 'schema_violation', detail: `unexpected field "${'k'.repeat(64)}"…` });
  });

  test('__proto__ and constructor keys: a schema violation, Object.prototype untouched', () => {
    const data = JSON.parse(`{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}},${JSON.stringify(VALID_EVENTS.login).slice(1)}`);
    expect(validateRecord('event', data, NOW_MS, SKEW_MS)).toMatchObject({ ok: false, reason: 'schema_violation' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
