// The bad-input policy (README "## Bad input") over real HTTP against a startStack ingest (embedded
// ClickHouse, PostgreSQL): envelope errors are 4xx with {code, field, detail}; well-formed but
// invalid events are dead-lettered with a reason and answered 200; nothing crashes the process.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { EVENT_CE_TYPE, TRANSACTION_CE_TYPE } from '../../functions/cloudevents/index.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { VALID_EVENTS, VALID_TRANSACTION } from '../unit/builders.js';

type Answer = { status: number; body: Record<string, unknown> };
type Req = { headers: Record<string, string>; body: string | Buffer };

let stack: Stack;
beforeAll(async () => { stack = await startStack({ BATCH_MAX_AGE_MS: 50 }); });
afterAll(async () => stack?.stop());

const post = async ({ headers, body }: Req): Promise<Answer> => {
  const r = await fetch(`${stack.ingestUrl}/`, { method: 'POST', headers, body: body as BodyInit });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
};

const NOW = new Date().toISOString();
/** A valid login event (fresh ids, a current timestamp) with `over` applied. */
const event = (over: Record<string, unknown> = {}) => ({ ...VALID_EVENTS.search, event_id: randomUUID(), user_id: randomUUID(), timestamp: NOW, ...over });
const ce = (data: unknown, over: Record<string, unknown> = {}) => ({ specversion: '1.0', id: randomUUID(), source: '/shop', type: EVENT_CE_TYPE, datacontenttype: 'application/json', data, ...over });
const binary = (body: string | Buffer, over: Record<string, string> = {}): Req => ({
  headers: { 'content-type': 'application/json', 'ce-specversion': '1.0', 'ce-id': randomUUID(), 'ce-source': '/shop', 'ce-type': EVENT_CE_TYPE, ...over },
  body,
});
const structured = (body: string | Buffer): Req => ({ headers: { 'content-type': 'application/cloudevents+json' }, body });
const batch = (body: string | Buffer): Req => ({ headers: { 'content-type': 'application/cloudevents-batch+json' }, body });
const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);

/** Every 4xx body is exactly a problem: {code, field?, detail}, short, JSON. */
function expectProblem(a: Answer, status: number, code: string, field?: string) {
  expect(a.status, JSON.stringify(a.body).slice(0, 300)).toBe(status);
  expect(Object.keys(a.body).every((k) => ['code', 'field', 'detail'].includes(k))).toBe(true);
  expect(a.body.code).toBe(code);
  if (field !== undefined) expect(a.body.field).toBe(field);
  expect(typeof a.body.detail).toBe('string');
  expect((a.body.detail as string).length).toBeLessThanOrEqual(512);
}

/** A 200 in which the one event was dead-lettered with `reason`. */
function expectDeadLettered(a: Answer, reason: string) {
  expect(a.status, JSON.stringify(a.body).slice(0, 300)).toBe(200);
  expect(a.body).toMatchObject({ stored: 0, duplicates: 0, dead_lettered: 1 });
  const [r] = a.body.rejected as { reason: string; detail: string }[];
  expect(r!.reason).toBe(reason);
  expect(r!.detail.length).toBeLessThanOrEqual(512);
}

describe('envelope errors: 4xx with a problem body', () => {
  test.each<[string, () => Req, number, string, string?]>([
    ['structured: malformed JSON', () => structured('{"specversion": "1.0", "id": '), 400, 'invalid_json'],
    ['batch: malformed JSON', () => batch('[{"specversion": "1.0"}'), 400, 'invalid_json'],
    ['batch: empty body', () => batch(''), 400, 'invalid_json'],
    ['batch: an object, not an array', () => batch(JSON.stringify(ce(event()))), 400, 'invalid_batch'],
    ['no content type and no ce-* headers', () => ({ headers: {}, body: JSON.stringify(ce(event())) }), 400, 'missing_attribute', 'ce-specversion'],
    ['a structured event sent as text/plain', () => ({ headers: { 'content-type': 'text/plain' }, body: JSON.stringify(ce(event())) }), 400, 'missing_attribute', 'ce-specversion'],
    ['binary: no ce-id', () => { const r = binary(JSON.stringify(event())); delete r.headers['ce-id']; return r; }, 400, 'missing_attribute', 'ce-id'],
    ['binary: empty ce-source', () => binary(JSON.stringify(event()), { 'ce-source': '' }), 400, 'missing_attribute', 'ce-source'],
    ['binary: empty ce-type', () => binary(JSON.stringify(event()), { 'ce-type': '' }), 400, 'missing_attribute', 'ce-type'],
    ['structured: empty id', () => structured(JSON.stringify(ce(event(), { id: '' }))), 400, 'missing_attribute', 'id'],
    ['structured: id is a number', () => structured(JSON.stringify(ce(event(), { id: 7 }))), 400, 'missing_attribute', 'id'],
    ['structured: no source', () => structured(JSON.stringify(ce(event(), { source: undefined }))), 400, 'missing_attribute', 'source'],
    ['binary: specversion 0.3', () => binary(JSON.stringify(event()), { 'ce-specversion': '0.3' }), 400, 'unsupported_specversion', 'ce-specversion'],
    ['structured: specversion 2.0', () => structured(JSON.stringify(ce(event(), { specversion: '2.0' }))), 400, 'unsupported_specversion', 'specversion'],
    ['batch: an item with specversion 1', () => batch(JSON.stringify([ce(event()), ce(event(), { specversion: 1 })])), 400, 'missing_attribute', '[1].specversion'],
    ['structured: 100,000 nested arrays as data', () => structured(`{"specversion":"1.0","id":"x","source":"/s","type":"${EVENT_CE_TYPE}","data":${deep(100_000)}}`), 400, 'too_deep'],
    ['batch: 100,000 nested arrays', () => batch(deep(100_000)), 400, 'too_deep'],
    ['structured: invalid UTF-8', () => structured(Buffer.concat([Buffer.from(JSON.stringify(ce(event())).slice(0, -2)), Buffer.from([0xc3, 0x28]), Buffer.from('"}')])), 400, 'invalid_utf8'],
    ['batch: raw control character in a string', () => batch(`[${JSON.stringify(ce(event())).replace('/shop', '/sh\u0001op')}]`), 400, 'invalid_json'],
    ['a gzip body', () => ({ headers: { 'content-type': 'application/cloudevents-batch+json', 'content-encoding': 'gzip' }, body: Buffer.from([0x1f, 0x8b, 8, 0]) }), 415, 'unsupported_encoding', 'content-encoding'],
    ['a body over 32 MiB', () => batch(Buffer.alloc(32 * 1024 * 1024 + 1, 0x20)), 413, 'too_large'],
    ['a batch of 10,001 events', () => batch(JSON.stringify(Array.from({ length: 10_001 }, () => ({ specversion: '1.0', id: 'x', source: '/s', type: 't' })))), 413, 'too_many_events'],
  ])('%s → %i %s', async (_what, req, status, code, field) => {
    expectProblem(await post(req()), status, code, field);
  });

  test('a problem never echoes a huge attribute: it is JSON-encoded and truncated', async () => {
    const a = await post(structured(JSON.stringify(ce(event(), { specversion: `<script>${'x'.repeat(100_000)}</script>` }))));
    expectProblem(a, 400, 'unsupported_specversion');
    expect(a.body.detail).not.toContain('</script>');
  });

  test('a JSON syntax error does not quote the body back', async () => {
    const a = await post(structured('<script>alert(1)</script>'));
    expectProblem(a, 400, 'invalid_json');
    expect(a.body.detail).not.toContain('<script>');
  });
});

describe('well-formed but invalid events: dead-lettered, 200', () => {
  const future = new Date(Date.now() + 3600_000).toISOString();
  test.each<[string, () => Req, string]>([
    ['binary: malformed JSON data', () => binary('{"event_type": "search",'), 'invalid_json'],
    ['binary: empty data', () => binary(''), 'invalid_json'],
    ['binary: invalid UTF-8 data', () => binary(Buffer.concat([Buffer.from(JSON.stringify(event()).slice(0, -2)), Buffer.from([0xff, 0xfe]), Buffer.from('"}')])), 'invalid_json'],
    ['binary: 100,000 nested arrays', () => binary(deep(100_000)), 'schema_violation'],
    ['binary: event_type is 100,000 nested arrays', () => binary(`{"event_type":${deep(100_000)}}`), 'schema_violation'],
    ['binary: data is an array', () => binary('[1,2,3]'), 'schema_violation'],
    ['binary: data is null', () => binary('null'), 'schema_violation'],
    ['structured: no data', () => structured(JSON.stringify(ce(undefined))), 'schema_violation'],
    ['binary: a 10 MB search query', () => binary(JSON.stringify(event({ search_query: 'q'.repeat(10_000_000) }))), 'schema_violation'],
    ['binary: an array of 1,000,000 numbers in an id', () => binary(JSON.stringify(event({ event_id: Array.from({ length: 1_000_000 }, (_, i) => i) }))), 'schema_violation'],
    ['event_id not a UUID', () => binary(JSON.stringify(event({ event_id: 'not-a-uuid' }))), 'schema_violation'],
    ['event_id as urn:uuid:', () => binary(JSON.stringify(event({ event_id: `urn:uuid:${randomUUID()}` }))), 'schema_violation'],
    ['event_id in braces', () => binary(JSON.stringify(event({ event_id: `{${randomUUID()}}` }))), 'schema_violation'],
    ['user_id a number', () => binary(JSON.stringify(event({ user_id: 42 }))), 'schema_violation'],
    ['timestamp an hour ahead', () => binary(JSON.stringify(event({ timestamp: future }))), 'future_timestamp'],
    ['timestamp in year 9999', () => binary(JSON.stringify(event({ timestamp: '9999-12-31T23:59:59.999Z' }))), 'future_timestamp'],
    ['timestamp in year 0001', () => binary(JSON.stringify(event({ timestamp: '0001-01-01T00:00:00.000Z' }))), 'invalid_timestamp'],
    ['timestamp in 1899', () => binary(JSON.stringify(event({ timestamp: '1899-12-31T23:59:59.999Z' }))), 'invalid_timestamp'],
    ['timestamp 30 February', () => binary(JSON.stringify(event({ timestamp: '2024-02-30T10:00:00.000Z' }))), 'invalid_timestamp'],
    ['timestamp without a zone', () => binary(JSON.stringify(event({ timestamp: '2024-05-01T10:00:00.000' }))), 'invalid_timestamp'],
    ['timestamp with an offset of +24:00', () => binary(JSON.stringify(event({ timestamp: '2024-05-01T10:00:00.000+24:00' }))), 'invalid_timestamp'],
    ['timestamp a number', () => binary(JSON.stringify(event({ timestamp: Date.now() }))), 'invalid_timestamp'],
    ...(['-1.00', 'NaN', 'Infinity', '-Infinity', '1e3', '12.345', '99999999999999.99', '', ' 1.00'] as const).map(
      (price): [string, () => Req, string] => [`price ${JSON.stringify(price)}`, () => binary(JSON.stringify(event({ ...VALID_EVENTS.add_to_cart, event_id: randomUUID(), timestamp: NOW, price }))), 'schema_violation'],
    ),
    ['price a number', () => binary(JSON.stringify(event({ ...VALID_EVENTS.add_to_cart, event_id: randomUUID(), timestamp: NOW, price: 12.5 }))), 'schema_violation'],
    ['quantity 1e400 (Infinity)', () => binary(JSON.stringify(event({ ...VALID_EVENTS.add_to_cart, event_id: randomUUID(), timestamp: NOW })).replace('"quantity":2', '"quantity":1e400')), 'schema_violation'],
    ['quantity "2"', () => binary(JSON.stringify(event({ ...VALID_EVENTS.add_to_cart, event_id: randomUUID(), timestamp: NOW, quantity: '2' }))), 'schema_violation'],
    ['quantity -1', () => binary(JSON.stringify(event({ ...VALID_EVENTS.add_to_cart, event_id: randomUUID(), timestamp: NOW, quantity: -1 }))), 'schema_violation'],
    ['event_type 7', () => binary(JSON.stringify(event({ event_type: 7 }))), 'unknown_type'],
    ['event_type "refund"', () => binary(JSON.stringify(event({ event_type: 'refund' }))), 'unknown_type'],
    ['an unknown CloudEvent type', () => binary(JSON.stringify(event()), { 'ce-type': 'com.example.other' }), 'unknown_type'],
    ['an unknown transaction status', () => binary(JSON.stringify({ ...VALID_TRANSACTION, transaction_id: randomUUID(), timestamp: NOW, status: 'chargeback' }), { 'ce-type': TRANSACTION_CE_TYPE }), 'schema_violation'],
    ['a NUL in the search query', () => binary(JSON.stringify(event({ search_query: 'lamp\u0000' }))), 'schema_violation'],
    ['a control character in the page URL', () => binary(JSON.stringify(event({ page_url: '/a\u001bb' }))), 'schema_violation'],
    ['a lone surrogate in the search query', () => binary(JSON.stringify(event()).replace('"lamp"', '"lamp\\ud800"')), 'schema_violation'],
    ['a raw control character in the JSON', () => binary(JSON.stringify(event()).replace('lamp', 'la\u0001mp')), 'invalid_json'],
    ['a __proto__ key', () => binary(JSON.stringify(event()).replace('{', '{"__proto__":{"polluted":true},')), 'schema_violation'],
    ['a constructor key', () => binary(JSON.stringify(event({ constructor: { prototype: { polluted: true } } }))), 'schema_violation'],
  ])('%s → dead-lettered %s', async (_what, req, reason) => {
    expectDeadLettered(await post(req()), reason);
  });

  test('__proto__ and constructor keys in envelopes and data pollute nothing', async () => {
    const poison = '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}';
    const env = JSON.stringify(ce(event())).replace('{', poison.slice(0, -1) + ',');
    expect((await post(structured(env))).status).toBe(200);
    expect((await post(batch(`[${env}]`))).status).toBe(200);
    expect((await post(binary(poison, { 'ce-key': '__proto__', 'ce-subject': 'constructor' }))).status).toBe(200);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('a lone surrogate in an attribute or in text data is dead-lettered (as U+FFFD), and the ingest keeps storing', async () => {
    const id = randomUUID();
    const env = JSON.stringify(ce(event(), { id, type: 'com.example.other', source: '/shop\ud800' }));
    expect(env).toContain('"/shop\\ud800"');
    expectDeadLettered(await post(structured(env)), 'unknown_type');
    const text = JSON.stringify(ce('x', { datacontenttype: 'text/plain' })).replace('"data":"x"', '"data":"{\\udc00"');
    expectDeadLettered(await post(structured(text)), 'invalid_json');
    expect(await stack.query('SELECT ce_source FROM {db}.dead_letter_events WHERE ce_id = {id:String}', { id })).toEqual([{ ce_source: '/shop\ufffd' }]);
    expect(await post(binary(JSON.stringify(event())))).toMatchObject({ status: 200, body: { stored: 1 } });
  });

  test('the raw payload of a dead letter is kept as received', async () => {
    const id = randomUUID();
    const body = `{"event_type": "search", "x": "'; DROP TABLE dead_letter_events; --"`;
    expectDeadLettered(await post(binary(body, { 'ce-id': id })), 'invalid_json');
    const rows = await stack.query<{ payload: string; reason: string }>('SELECT payload, reason FROM {db}.dead_letter_events WHERE ce_id = {id:String}', { id });
    expect(rows).toEqual([{ payload: body, reason: 'invalid_json' }]);
  });
});

describe('a content type that is not JSON loses no valid event (README "Bad input")', () => {
  test.each(['text/plain', 'application/octet-stream', 'application/xml', 'application/json; charset=utf-8', 'application/vnd.shop+json'])(
    'binary mode under %s: a valid event is stored, broken data dead-lettered invalid_json',
    async (ct) => {
      expect(await post(binary(JSON.stringify(event()), { 'content-type': ct }))).toMatchObject({ status: 200, body: { stored: 1 } });
      expectDeadLettered(await post(binary('<event type="search"/>', { 'content-type': ct })), 'invalid_json');
    },
  );
});

describe('stored byte-exact', () => {
  const strings = [
    `'; DROP TABLE user_events_realtime; --`,
    `" OR 1=1 --`,
    `Robert'); DELETE FROM {db}.users;--`,
    `\\'\\"\\\\ \\N NULL`,
    `{id:String} $1 ?`,
    `日本語 🛒 ñ é – “quotes”`,
    `<script>alert(1)</script>`,
  ];
  test.each(strings)('search query %j is stored exactly', async (q) => {
    const e = event({ search_query: q });
    const a = await post(binary(JSON.stringify(e)));
    expect(a).toMatchObject({ status: 200, body: { stored: 1 } });
    await stack.ingest.writer.flush();
    const rows = await stack.query<{ search_query: string; hex: string }>('SELECT search_query, hex(search_query) AS hex FROM {db}.user_events_realtime WHERE event_id = {id:UUID}', { id: e.event_id });
    expect(rows).toEqual([{ search_query: q, hex: Buffer.from(q, 'utf8').toString('hex').toUpperCase() }]);
  });
});

describe('batches', () => {
  test('an empty batch: 200, nothing stored', async () => {
    expect(await post(batch('[]'))).toEqual({ status: 200, body: { stored: 0, duplicates: 0, dead_lettered: 0, rejected: [] } });
  });

  test('a mixed batch: valid, invalid, unknown type, duplicate within the batch; 200 once each is stored or dead-lettered', async () => {
    const good = event();
    const items = [ce(good), ce(event({ search_query: '' })), ce(event(), { type: 'com.example.other' }), ce(good), ce(event({ event_type: 'refund' }))];
    const a = await post(batch(JSON.stringify(items)));
    expect(a.status).toBe(200);
    expect(a.body).toMatchObject({ stored: 1, duplicates: 1, dead_lettered: 3 });
    expect((a.body.rejected as { reason: string }[]).map((r) => r.reason)).toEqual(['schema_violation', 'unknown_type', 'unknown_type']);
    const rows = await stack.query('SELECT count() AS n FROM {db}.user_events_realtime WHERE event_id = {id:UUID}', { id: good.event_id });
    expect(rows).toEqual([{ n: '1' }]);
  });

  test('a batch of 10,000 invalid events: all dead-lettered (table and topic), 200', async () => {
    const items = Array.from({ length: 10_000 }, () => ce(event({ user_id: 'NaN' })));
    const a = await post(batch(JSON.stringify(items)));
    expect(a).toMatchObject({ status: 200, body: { stored: 0, dead_lettered: 10_000 } });
  });

  test('a batch of exactly 10,000 events is taken', async () => {
    const items = Array.from({ length: 10_000 }, () => ce(event()));
    const a = await post(batch(JSON.stringify(items)));
    expect(a).toMatchObject({ status: 200, body: { stored: 10_000, dead_lettered: 0 } });
  });
});

describe('duplicate ids', () => {
  test('the same id with the same payload: the copy is answered as a duplicate, stored once', async () => {
    const e = event();
    expect((await post(binary(JSON.stringify(e)))).body).toMatchObject({ stored: 1 });
    expect((await post(binary(JSON.stringify(e)))).body).toMatchObject({ stored: 0, duplicates: 1 });
    expect(await stack.query('SELECT count() AS n FROM {db}.user_events_realtime WHERE event_id = {id:UUID}', { id: e.event_id })).toEqual([{ n: '1' }]);
  });

  test('the same id with a different payload: the first copy wins, the second is a duplicate (not compared)', async () => {
    const e = event({ search_query: 'first' });
    expect((await post(binary(JSON.stringify(e)))).body).toMatchObject({ stored: 1 });
    expect((await post(binary(JSON.stringify({ ...e, search_query: 'second' })))).body).toMatchObject({ stored: 0, duplicates: 1 });
    expect(await stack.query('SELECT search_query FROM {db}.user_events_realtime WHERE event_id = {id:UUID}', { id: e.event_id })).toEqual([{ search_query: 'first' }]);
  });
});
