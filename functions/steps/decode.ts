import { EnvelopeError } from '../core/errors.js';
import { ok, reject, type Result } from '../core/result.js';
import type { RecordKind } from './validate.js';

/**
 * Turns one HTTP request into CloudEvents, in the three modes of the CloudEvents HTTP binding
 * (binary, structured, batch). It is hand-written rather than the SDK's HTTP.toEvent because it
 * must keep each event's raw payload for the dead-letter table and must not throw on bad data
 * (the SDK parses the body eagerly); the SDK itself encodes the requests in our tests and in
 * `npm run send`, so the two are checked against each other.
 */
export type Attributes = {
  id: string; source: string; type: string; specversion: string;
  subject?: string; time?: string; datacontenttype?: string;
  /** The Kafka record key, as KafkaSource sets it. */
  key?: string;
};
export type IncomingEvent = {
  attrs: Attributes;
  /** What the record kind is, from the CloudEvent type (or the Kafka topic); undefined if neither fits. */
  kind: RecordKind | undefined;
  /** The data as received, for the dead-letter table. */
  raw: string;
  /** The data already parsed (structured and batch mode carry it as JSON). */
  parsed?: unknown;
};

export const EVENT_CE_TYPE = 'ecommerce.user_event.v1';
export const TRANSACTION_CE_TYPE = 'ecommerce.transaction.v1';
export const KAFKA_CE_TYPE = 'dev.knative.kafka.event';
export const TOPIC_KIND: Record<string, RecordKind> = { user_events: 'event', transactions: 'transaction' };

type Headers = Record<string, string | string[] | undefined>;

export function decodeRequest(headers: Headers, body: Buffer | string): IncomingEvent[] {
  const contentType = header(headers, 'content-type')?.toLowerCase() ?? '';
  const text = typeof body === 'string' ? body : body.toString('utf8');
  if (contentType.startsWith('application/cloudevents-batch+json')) {
    const list = parseEnvelopeJson(text);
    if (!Array.isArray(list)) throw new EnvelopeError('invalid_batch', undefined, 'a batch must be a JSON array of structured CloudEvents');
    return list.map((item, i) => fromStructured(item, `[${i}]`));
  }
  if (contentType.startsWith('application/cloudevents+json')) return [fromStructured(parseEnvelopeJson(text), '')];
  return [fromBinary(headers, text, contentType)];
}

function fromBinary(headers: Headers, raw: string, contentType: string): IncomingEvent {
  const attr = (name: string) => header(headers, `ce-${name}`);
  const required = (name: string) => {
    const v = attr(name);
    if (!v) throw new EnvelopeError('missing_attribute', `ce-${name}`, `binary-mode CloudEvent without the ce-${name} header`);
    return v;
  };
  const attrs: Attributes = {
    specversion: required('specversion'), id: required('id'), source: required('source'), type: required('type'),
    ...opt('subject', attr('subject')), ...opt('time', attr('time')), ...opt('key', attr('key')),
    ...opt('datacontenttype', contentType || undefined),
  };
  checkSpecVersion(attrs.specversion, 'ce-specversion');
  return { attrs, kind: kindOf(attrs), raw };
}

function fromStructured(value: unknown, where: string): IncomingEvent {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new EnvelopeError('invalid_event', where || undefined, 'a structured CloudEvent must be a JSON object');
  }
  const at = (name: string) => (where ? `${where}.${name}` : name);
  const o = value as Record<string, unknown>;
  const str = (name: string) => (typeof o[name] === 'string' ? (o[name] as string) : undefined);
  for (const name of ['specversion', 'id', 'source', 'type']) {
    if (!str(name)) throw new EnvelopeError('missing_attribute', at(name), `structured CloudEvent without a string "${name}"`);
  }
  const attrs: Attributes = {
    specversion: str('specversion')!, id: str('id')!, source: str('source')!, type: str('type')!,
    ...opt('subject', str('subject')), ...opt('time', str('time')), ...opt('key', str('key')), ...opt('datacontenttype', str('datacontenttype')),
  };
  checkSpecVersion(attrs.specversion, at('specversion'));
  if (typeof o.data_base64 === 'string') return { attrs, kind: kindOf(attrs), raw: Buffer.from(o.data_base64, 'base64').toString('utf8') };
  // A JSON payload arrives as a JSON value; a string under a non-JSON content type is the raw text.
  const isJson = !attrs.datacontenttype || /json/i.test(attrs.datacontenttype);
  if (typeof o.data === 'string' && !isJson) return { attrs, kind: kindOf(attrs), raw: o.data };
  return { attrs, kind: kindOf(attrs), raw: JSON.stringify(o.data ?? null), parsed: o.data ?? null };
}

/** Parses the data of an event; bad JSON is a dead-letter reason, not an exception. */
export function parseData(e: IncomingEvent): Result<unknown> {
  if ('parsed' in e) return ok(e.parsed);
  try {
    return ok(JSON.parse(e.raw));
  } catch (err) {
    return reject('invalid_json', `data is not valid JSON: ${(err as Error).message}`);
  }
}

export function kindOf(attrs: Attributes): RecordKind | undefined {
  if (attrs.type === EVENT_CE_TYPE) return 'event';
  if (attrs.type === TRANSACTION_CE_TYPE) return 'transaction';
  if (attrs.type === KAFKA_CE_TYPE) {
    const topic = attrs.source.slice(attrs.source.lastIndexOf('#') + 1);
    return Object.hasOwn(TOPIC_KIND, topic) ? TOPIC_KIND[topic] : undefined;
  }
  return undefined;
}

function parseEnvelopeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new EnvelopeError('invalid_json', undefined, `request body is not valid JSON: ${(err as Error).message}`);
  }
}

function checkSpecVersion(v: string, field: string) {
  if (v !== '1.0') throw new EnvelopeError('unsupported_specversion', field, `specversion ${JSON.stringify(v)} is not supported (only 1.0)`);
}

function header(h: Headers, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

function opt<K extends string>(k: K, v: string | undefined): { [P in K]?: string } {
  return (v === undefined ? {} : { [k]: v }) as { [P in K]?: string };
}
