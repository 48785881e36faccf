// decodeRequest / parseData / kindOf: the three CloudEvents HTTP modes and KafkaSource's shape.
// Requests are built both by hand and with the official `cloudevents` SDK (an independent encoder).
import { CloudEvent, HTTP } from 'cloudevents';
import { describe, expect, test } from 'vitest';
import { EnvelopeError } from '../../functions/core/errors.js';
import { decodeRequest, EVENT_CE_TYPE, extensionsOf, KAFKA_CE_TYPE, kindOf, TRANSACTION_CE_TYPE, type Attributes, type IncomingEvent } from '../../functions/cloudevents/index.js';
import { parseData } from '../../functions/steps/decode.js';
import { toBinaryHttp } from '../../functions/cloudevents/index.js';
import { EVENT_ID, VALID_EVENTS, VALID_TRANSACTION } from './builders.js';

type Headers = Record<string, string>;

const KAFKA_SOURCE = (topic: string) => `/apis/v1/namespaces/ns/kafkasources/name#${topic}`;

const binaryHeaders = (over: Record<string, string | undefined> = {}): Headers => {
  const h: Record<string, string | undefined> = {
    'content-type': 'application/json',
    'ce-specversion': '1.0',
    'ce-id': EVENT_ID,
    'ce-source': '/shop',
    'ce-type': EVENT_CE_TYPE,
    ...over,
  };
  return Object.fromEntries(Object.entries(h).filter((e): e is [string, string] => e[1] !== undefined));
};

/** Runs decodeRequest and returns the EnvelopeError it throws (fails the test if it does not throw one). */
function envelopeError(headers: Headers, body: string): EnvelopeError {
  try {
    decodeRequest(headers, body);
  } catch (err) {
    expect(err).toBeInstanceOf(EnvelopeError);
    return err as EnvelopeError;
  }
  throw new Error('decodeRequest did not throw');
}

function only(events: IncomingEvent[]): IncomingEvent {
  expect(events).toHaveLength(1);
  return events[0]!;
}

/** The SDK's HTTP message as decodeRequest takes it (the body may be a string or bytes). */
function sdkMessage(m: { headers: Record<string, unknown>; body: unknown }): [Headers, string | Buffer] {
  const body = typeof m.body === 'string' ? m.body : m.body instanceof Uint8Array ? Buffer.from(m.body) : JSON.stringify(m.body);
  return [m.headers as Headers, body];
}

describe('binary mode (ce-* headers)', () => {
  test('reads the attributes from the headers and keeps the body as the raw payload', () => {
    const body = '{ "event_type" : "login",\n  "x": "é" }';
    const e = only(decodeRequest(binaryHeaders({ 'ce-subject': 'sub', 'ce-time': '2024-05-01T10:00:00Z', 'ce-key': 'k1' }), body));
    expect(e.attrs).toEqual({
      specversion: '1.0', id: EVENT_ID, source: '/shop', type: EVENT_CE_TYPE,
      subject: 'sub', time: '2024-05-01T10:00:00Z', key: 'k1', datacontenttype: 'application/json',
    });
    expect(e.kind).toBe('event');
    expect(e.raw).toBe(body);
    expect('parsed' in e).toBe(false);
    expect(parseData(e)).toEqual({ ok: true, value: { event_type: 'login', x: 'é' } });
  });

  test('a Buffer body is read as UTF-8, byte for byte', () => {
    const body = '{"q":"naïve ☕"}';
    expect(only(decodeRequest(binaryHeaders(), Buffer.from(body, 'utf8'))).raw).toBe(body);
  });

  test('optional attributes that are absent are absent, not undefined-valued keys', () => {
    const e = only(decodeRequest(binaryHeaders({ 'content-type': undefined }), '{}'));
    expect(Object.keys(e.attrs).sort()).toEqual(['id', 'source', 'specversion', 'type']);
  });

  test('ce-* values are percent-decoded (HTTP binding 3.1.3.2), malformed escapes kept as sent', () => {
    const e = only(decodeRequest(binaryHeaders({ 'ce-source': '/shop%20one', 'ce-subject': 'caf%C3%A9 %22x%22', 'ce-partitionkey': '50%25', 'ce-traceparent': '100%zz' }), '{}'));
    expect(e.attrs).toMatchObject({ source: '/shop one', subject: 'café "x"' });
    expect(extensionsOf(e)).toMatchObject({ partitionkey: '50%', traceparent: '100%zz' });
  });

  test('the local dispatcher\'s binary encoding round-trips an attribute with spaces and non-ASCII', () => {
    const msg = toBinaryHttp({ attributes: { specversion: '1.0', id: EVENT_ID, source: '/shop one', type: EVENT_CE_TYPE, subject: 'café 100%' }, data: Buffer.from('{}') });
    const e = only(decodeRequest(msg.headers, msg.body));
    expect(e.attrs).toMatchObject({ source: '/shop one', subject: 'café 100%' });
  });

  test('a header given as an array counts by its first value', () => {
    const e = only(decodeRequest({ ...binaryHeaders(), 'ce-id': ['first', 'second'] } as Record<string, string | string[]>, '{}'));
    expect(e.attrs.id).toBe('first');
  });

  test.each([
    ['ce-specversion'], ['ce-id'], ['ce-source'], ['ce-type'],
  ])('without %s: missing_attribute naming that header', (name) => {
    const err = envelopeError(binaryHeaders({ [name]: undefined }), '{}');
    expect(err.code).toBe('missing_attribute');
    expect(err.field).toBe(name);
    expect(err.status).toBe(400);
    expect(err.toJSON()).toEqual({ code: 'missing_attribute', field: name, detail: err.message });
  });

  test('an empty ce-id counts as missing', () => {
    const err = envelopeError(binaryHeaders({ 'ce-id': '' }), '{}');
    expect([err.code, err.field]).toEqual(['missing_attribute', 'ce-id']);
  });

  test.each(['0.3', '1.1', '2.0'])('specversion %s: unsupported_specversion on ce-specversion', (v) => {
    const err = envelopeError(binaryHeaders({ 'ce-specversion': v }), '{}');
    expect([err.code, err.field]).toEqual(['unsupported_specversion', 'ce-specversion']);
  });

  test('bad JSON in the body is not an envelope error: parseData rejects it as invalid_json', () => {
    const e = only(decodeRequest(binaryHeaders(), '{"event_type": '));
    expect(e.raw).toBe('{"event_type": ');
    expect(parseData(e)).toMatchObject({ ok: false, reason: 'invalid_json' });
  });

  test('the SDK binary encoding of a JSON event decodes to the same attributes and data', () => {
    const ce = new CloudEvent({ id: EVENT_ID, source: '/shop', type: EVENT_CE_TYPE, datacontenttype: 'application/json', time: '2024-05-01T10:00:00.123Z', data: VALID_EVENTS.search }, false);
    const e = only(decodeRequest(...sdkMessage(HTTP.binary(ce))));
    expect(e.attrs).toMatchObject({ id: EVENT_ID, source: '/shop', type: EVENT_CE_TYPE, specversion: '1.0', time: '2024-05-01T10:00:00.123Z' });
    expect(e.attrs.datacontenttype).toMatch(/^application\/json/);
    expect(e.kind).toBe('event');
    expect(parseData(e)).toEqual({ ok: true, value: VALID_EVENTS.search });
  });

  test('the SDK binary encoding of a 0.3 event is refused', () => {
    const ce = new CloudEvent({ specversion: '0.3', id: 'x', source: '/shop', type: EVENT_CE_TYPE, data: {} } as never, false);
    const err = envelopeError(...(sdkMessage(HTTP.binary(ce)) as [Headers, string]));
    expect(err.code).toBe('unsupported_specversion');
  });
});

describe('structured mode (application/cloudevents+json)', () => {
  const structured = (o: Record<string, unknown>, contentType = 'application/cloudevents+json; charset=utf-8') =>
    decodeRequest({ 'content-type': contentType }, JSON.stringify(o));
  const envelope = { specversion: '1.0', id: EVENT_ID, source: '/shop', type: EVENT_CE_TYPE };

  test('data as a JSON value is parsed already; raw is its JSON text', () => {
    const e = only(structured({ ...envelope, datacontenttype: 'application/json', data: VALID_EVENTS.login }));
    expect(e.parsed).toEqual(VALID_EVENTS.login);
    expect(JSON.parse(e.raw)).toEqual(VALID_EVENTS.login);
    expect(parseData(e)).toEqual({ ok: true, value: VALID_EVENTS.login });
    expect(e.kind).toBe('event');
  });

  test('data_base64 is decoded into the raw payload (and parsed only by parseData)', () => {
    const text = '{ "a" : [1, 2] }';
    const e = only(structured({ ...envelope, datacontenttype: 'application/json', data_base64: Buffer.from(text).toString('base64') }));
    expect(e.raw).toBe(text);
    expect('parsed' in e).toBe(false);
    expect(parseData(e)).toEqual({ ok: true, value: { a: [1, 2] } });
  });

  test.each([
    ['text/plain', '{"event_type":"login"}', { ok: true, value: { event_type: 'login' } }],
    ['text/plain', '{"event_type": "lo', { ok: false, reason: 'invalid_json' }],
    ['text/plain; charset=utf-8', 'not json at all', { ok: false, reason: 'invalid_json' }],
  ])('text data under %s is the raw text, exactly: %s', (ct, text, parsed) => {
    const e = only(structured({ ...envelope, datacontenttype: ct, data: text }));
    expect(e.raw).toBe(text);
    expect('parsed' in e).toBe(false);
    expect(parseData(e)).toMatchObject(parsed);
  });

  test('a string under a JSON content type is a JSON string value', () => {
    const e = only(structured({ ...envelope, datacontenttype: 'application/json', data: 'hello' }));
    expect(e.parsed).toBe('hello');
    expect(e.raw).toBe('"hello"');
  });

  test('no data at all is null', () => {
    const e = only(structured(envelope));
    expect(e.parsed).toBeNull();
    expect(e.raw).toBe('null');
  });

  test('the content type is matched case-insensitively', () => {
    expect(only(structured(envelope, 'Application/CloudEvents+JSON')).attrs.id).toBe(EVENT_ID);
  });

  test('keeps subject, time, key and datacontenttype', () => {
    const e = only(structured({ ...envelope, subject: 's', time: 't', key: 'k', datacontenttype: 'application/json', data: 1 }));
    expect(e.attrs).toEqual({ ...envelope, subject: 's', time: 't', key: 'k', datacontenttype: 'application/json' });
  });

  test.each(['specversion', 'id', 'source', 'type'])('without a string %s: missing_attribute on that field', (name) => {
    const err = envelopeError({ 'content-type': 'application/cloudevents+json' }, JSON.stringify({ ...envelope, [name]: 42 }));
    expect([err.code, err.field]).toEqual(['missing_attribute', name]);
  });

  test('specversion 0.3: unsupported_specversion', () => {
    const err = envelopeError({ 'content-type': 'application/cloudevents+json' }, JSON.stringify({ ...envelope, specversion: '0.3' }));
    expect([err.code, err.field]).toEqual(['unsupported_specversion', 'specversion']);
  });

  test.each([
    ['bad JSON', '{"id": ', 'invalid_json'],
    ['an array', '[]', 'invalid_event'],
    ['a string', '"x"', 'invalid_event'],
    ['null', 'null', 'invalid_event'],
  ])('a body that is %s: %s', (_what, body, code) => {
    expect(envelopeError({ 'content-type': 'application/cloudevents+json' }, body).code).toBe(code);
  });

  test.each<[string, CloudEvent<unknown>, unknown]>([
    ['JSON data', new CloudEvent<unknown>({ id: EVENT_ID, source: '/shop', type: TRANSACTION_CE_TYPE, datacontenttype: 'application/json', data: VALID_TRANSACTION }, false), VALID_TRANSACTION],
    ['binary data (data_base64)', new CloudEvent<unknown>({ id: EVENT_ID, source: '/shop', type: TRANSACTION_CE_TYPE, datacontenttype: 'application/json', data: new Uint8Array(Buffer.from(JSON.stringify(VALID_TRANSACTION))) }, false), VALID_TRANSACTION],
    ['text data', new CloudEvent<unknown>({ id: EVENT_ID, source: '/shop', type: TRANSACTION_CE_TYPE, datacontenttype: 'text/plain', data: JSON.stringify(VALID_TRANSACTION) }, false), VALID_TRANSACTION],
  ])('the SDK structured encoding with %s decodes to the same data', (_what, ce, data) => {
    const msg = HTTP.structured(ce);
    expect(String(msg.headers['content-type'])).toMatch(/^application\/cloudevents\+json/);
    const e = only(decodeRequest(...sdkMessage(msg)));
    expect(e.attrs).toMatchObject({ id: EVENT_ID, source: '/shop', type: TRANSACTION_CE_TYPE, specversion: '1.0' });
    expect(e.kind).toBe('transaction');
    expect(parseData(e)).toEqual({ ok: true, value: data });
  });
});

describe('batch mode (application/cloudevents-batch+json)', () => {
  const BATCH = { 'content-type': 'application/cloudevents-batch+json' };
  const ce = (id: string, type: string, data: unknown) => new CloudEvent({ id, source: '/shop', type, datacontenttype: 'application/json', data }, false);

  test('a batch of SDK-encoded events decodes in order, each with its own kind and data', () => {
    const events = [ce('a', EVENT_CE_TYPE, VALID_EVENTS.page_view), ce('b', TRANSACTION_CE_TYPE, VALID_TRANSACTION), ce('c', 'com.example.other', { z: 1 })];
    const body = `[${events.map((e) => HTTP.structured(e).body as string).join(',')}]`;
    const out = decodeRequest(BATCH, body);
    expect(out.map((e) => [e.attrs.id, e.kind])).toEqual([['a', 'event'], ['b', 'transaction'], ['c', undefined]]);
    expect(out.map((e) => parseData(e))).toEqual([
      { ok: true, value: VALID_EVENTS.page_view }, { ok: true, value: VALID_TRANSACTION }, { ok: true, value: { z: 1 } },
    ]);
  });

  test('an empty batch is no events', () => {
    expect(decodeRequest(BATCH, '[]')).toEqual([]);
  });

  test.each([
    ['an object', '{"id":"a"}', 'invalid_batch'],
    ['a number', '42', 'invalid_batch'],
    ['bad JSON', '[{"id":', 'invalid_json'],
    ['empty', '', 'invalid_json'],
  ])('a body that is %s: %s', (_what, body, code) => {
    const err = envelopeError(BATCH, body);
    expect(err.code).toBe(code);
    expect(err.status).toBe(400);
  });

  test('an item without an id names its index', () => {
    const body = JSON.stringify([{ specversion: '1.0', id: 'a', source: '/s', type: EVENT_CE_TYPE }, { specversion: '1.0', source: '/s', type: EVENT_CE_TYPE }]);
    const err = envelopeError(BATCH, body);
    expect([err.code, err.field]).toEqual(['missing_attribute', '[1].id']);
  });

  test('an item with specversion 0.3 names its index', () => {
    const body = JSON.stringify([{ specversion: '0.3', id: 'a', source: '/s', type: EVENT_CE_TYPE }]);
    const err = envelopeError(BATCH, body);
    expect([err.code, err.field]).toEqual(['unsupported_specversion', '[0].specversion']);
  });

  test('an item that is not an object: invalid_event', () => {
    expect(envelopeError(BATCH, '[1]').code).toBe('invalid_event');
  });
});

describe("KafkaSource's shape", () => {
  const kafka = (topic: string, over: Partial<Attributes> = {}): Attributes => ({
    specversion: '1.0', id: 'partition:3/offset:42', source: KAFKA_SOURCE(topic), type: KAFKA_CE_TYPE, subject: 'partition:3#42', ...over,
  });

  test.each([
    ['user_events', 'event'],
    ['transactions', 'transaction'],
    ['orders', undefined],
    ['user_events_v2', undefined],
    ['', undefined],
  ] as const)('topic %j is kind %s', (topic, kind) => {
    expect(kindOf(kafka(topic))).toBe(kind);
  });

  test.each([
    [EVENT_CE_TYPE, '/anything#transactions', 'event'],
    [TRANSACTION_CE_TYPE, '/anything#user_events', 'transaction'],
    ['com.example.other', KAFKA_SOURCE('user_events'), undefined],
  ] as const)('type %s from %s is kind %s (the topic counts only for KafkaSource events)', (type, source, kind) => {
    expect(kindOf({ specversion: '1.0', id: 'x', source, type })).toBe(kind);
  });

  test.each([
    ['binary', (ce: CloudEvent<unknown>) => HTTP.binary(ce)],
    ['structured', (ce: CloudEvent<unknown>) => HTTP.structured(ce)],
  ] as const)('a KafkaSource event in %s mode keeps its key, subject and the record exactly', (_mode, enc) => {
    const record = VALID_EVENTS.add_to_cart;
    const ce = new CloudEvent({
      id: 'partition:3/offset:42', source: KAFKA_SOURCE('user_events'), type: KAFKA_CE_TYPE, subject: 'partition:3#42',
      key: record.user_id as string, datacontenttype: 'application/json', data: record,
    }, false);
    const e = only(decodeRequest(...sdkMessage(enc(ce))));
    expect(e.attrs).toMatchObject({ id: 'partition:3/offset:42', type: KAFKA_CE_TYPE, subject: 'partition:3#42', key: record.user_id });
    expect(e.kind).toBe('event');
    expect(parseData(e)).toEqual({ ok: true, value: record });
  });

  test('a hand-built KafkaSource binary request keeps the record bytes exactly', () => {
    const record = ` {"transaction_id" : "${VALID_TRANSACTION.transaction_id}"}\n`;
    const e = only(decodeRequest(binaryHeaders({ 'ce-type': KAFKA_CE_TYPE, 'ce-source': KAFKA_SOURCE('transactions'), 'ce-key': 'user-1', 'ce-subject': 'partition:0#7' }), record));
    expect(e.raw).toBe(record);
    expect(e.kind).toBe('transaction');
    expect(e.attrs.key).toBe('user-1');
  });
});
