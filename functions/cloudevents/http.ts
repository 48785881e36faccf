import { isUtf8 } from 'node:buffer';
import { EnvelopeError } from '../core/errors.js';
import { quote } from '../core/result.js';
import { depthExceeds, jsonErrorDetail, MAX_JSON_DEPTH } from '../steps/decode.js';
import type { RecordKind } from '../steps/validate.js';
import { BATCH_CONTENT_TYPE, DEFAULT_CONTENT_TYPE, decodeHeaderValue, encodeHeaderValue, isJson, kindOf, type Attributes, type CloudEventData } from './attributes.js';

/**
 * The CloudEvents HTTP binding, both ways. Decoding: one HTTP request into CloudEvents, in the three modes
 * (binary, structured, batch). It is hand-written rather than the SDK's HTTP.toEvent because it
 * must keep each event's raw payload for the dead-letter table and must not throw on bad data
 * (the SDK parses the body eagerly); the SDK itself encodes the requests in our tests and in
 * `npm run send`, so the two are checked against each other.
 */
export type { Attributes };
export type IncomingEvent = {
  attrs: Attributes;
  /** What the record kind is, from the CloudEvent type (or the Kafka topic); undefined if neither fits. */
  kind: RecordKind | undefined;
  /** The data as received, for the dead-letter table. */
  raw: string;
  /** The data already parsed (structured and batch mode carry it as JSON). */
  parsed?: unknown;
  /** The data bytes were not UTF-8 (raw holds them with U+FFFD in place of the bad bytes). */
  notUtf8?: true;
  /**
   * The data bytes exactly as received, where `raw` (text) may not give them back: binary mode and
   * `data_base64`; null when a structured event had no data. Absent: the UTF-8 of `raw`. For the
   * dead-letter topic, which carries the event as it came (functions/adapters/dead-letter-topic.ts).
   */
  bytes?: Buffer | null;
  /**
   * Where the event's extension attributes are: read by `extensionsOf` only for the rare event that
   * needs them (a dead letter), not for every event on the hot path.
   */
  carrier?: { headers: Headers } | { envelope: Record<string, unknown> };
};

/** More events than this in one batch request: 413 `too_many_events` (README "Bad input"). */
export const MAX_BATCH_EVENTS = 10_000;

type Headers = Record<string, string | string[] | undefined>;

export function decodeRequest(headers: Headers, body: Buffer | string): IncomingEvent[] {
  const contentType = header(headers, 'content-type')?.toLowerCase() ?? '';
  const notUtf8 = typeof body !== 'string' && !isUtf8(body);
  const text = typeof body === 'string' ? body : body.toString('utf8');
  const batch = contentType.startsWith('application/cloudevents-batch+json');
  if (batch || contentType.startsWith('application/cloudevents+json')) {
    // JSON text must be UTF-8 (RFC 8259 8.1); decoding would silently replace the bad bytes.
    if (notUtf8) throw new EnvelopeError('invalid_utf8', undefined, 'the request body is not valid UTF-8');
    const value = parseEnvelopeJson(text);
    if (!batch) return [fromStructured(value, '')];
    if (!Array.isArray(value)) throw new EnvelopeError('invalid_batch', undefined, 'a batch must be a JSON array of structured CloudEvents');
    if (value.length > MAX_BATCH_EVENTS) throw new EnvelopeError('too_many_events', undefined, `a batch holds at most ${MAX_BATCH_EVENTS} events; this one holds ${value.length}`, 413);
    return value.map((item, i) => fromStructured(item, `[${i}]`));
  }
  const e = fromBinary(headers, text, contentType);
  if (typeof body !== 'string') e.bytes = body;
  if (notUtf8) e.notUtf8 = true;
  return [e];
}

function fromBinary(headers: Headers, raw: string, contentType: string): IncomingEvent {
  // Plain assignments, no spreads or closures: this runs once per request on the per-record path.
  const attrs: Attributes = {
    specversion: requiredHeader(headers, 'ce-specversion'), id: requiredHeader(headers, 'ce-id'),
    source: requiredHeader(headers, 'ce-source'), type: requiredHeader(headers, 'ce-type'),
  };
  const subject = ceHeader(headers, 'ce-subject');
  if (subject !== undefined) attrs.subject = subject;
  const time = ceHeader(headers, 'ce-time');
  if (time !== undefined) attrs.time = time;
  const key = ceHeader(headers, 'ce-key');
  if (key !== undefined) attrs.key = key;
  if (contentType) attrs.datacontenttype = contentType;
  const dataschema = ceHeader(headers, 'ce-dataschema');
  if (dataschema !== undefined) attrs.dataschema = dataschema;
  checkSpecVersion(attrs.specversion, 'ce-specversion');
  return { attrs, kind: kindOf(attrs), raw, carrier: { headers } };
}

function requiredHeader(headers: Headers, name: string): string {
  const v = ceHeader(headers, name);
  if (!v) throw new EnvelopeError('missing_attribute', name, `binary-mode CloudEvent without the ${name} header`);
  return v;
}

/** Attributes kept in `Attributes` (or the data), not among the extensions. */
const CORE_ATTRIBUTES = new Set(['specversion', 'id', 'source', 'type', 'subject', 'time', 'datacontenttype', 'data', 'data_base64']);
/** A CloudEvents attribute name: lower-case letters and digits (so never `__proto__`). */
const EXTENSION_NAME = /^[a-z0-9]+$/;

/**
 * The extension attributes of an event (every attribute but the ones in `attrs`), by name, as
 * received: binary mode's ce-* headers percent-decoded, a structured event's numbers and booleans
 * in their canonical string form.
 */
export function extensionsOf(e: IncomingEvent): Record<string, string> {
  const extensions: Record<string, string> = {};
  if (!e.carrier) return extensions;
  if ('headers' in e.carrier) {
    for (const name of Object.keys(e.carrier.headers)) {
      const ext = name.toLowerCase().startsWith('ce-') ? name.slice(3).toLowerCase() : '';
      if (!EXTENSION_NAME.test(ext) || CORE_ATTRIBUTES.has(ext)) continue;
      const v = ceHeader(e.carrier.headers, name);
      if (v !== undefined) extensions[ext] = v;
    }
    return extensions;
  }
  for (const [name, v] of Object.entries(e.carrier.envelope)) {
    if (!EXTENSION_NAME.test(name) || CORE_ATTRIBUTES.has(name)) continue;
    if (typeof v === 'string') extensions[name] = v;
    else if (typeof v === 'number' || typeof v === 'boolean') extensions[name] = String(v);
  }
  return extensions;
}

function fromStructured(value: unknown, where: string): IncomingEvent {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new EnvelopeError('invalid_event', where || undefined, 'a structured CloudEvent must be a JSON object');
  }
  // Plain reads and assignments, no spreads or closures: this runs once per event of a batch.
  const o = value as Record<string, unknown>;
  const attrs: Attributes = {
    specversion: requiredString(o, 'specversion', where), id: requiredString(o, 'id', where),
    source: requiredString(o, 'source', where), type: requiredString(o, 'type', where),
  };
  if (typeof o.subject === 'string') attrs.subject = o.subject;
  if (typeof o.time === 'string') attrs.time = o.time;
  if (typeof o.key === 'string') attrs.key = o.key;
  if (typeof o.datacontenttype === 'string') attrs.datacontenttype = o.datacontenttype;
  if (typeof o.dataschema === 'string') attrs.dataschema = o.dataschema;
  checkSpecVersion(attrs.specversion, where ? `${where}.specversion` : 'specversion');
  const carrier = { envelope: o };
  if (typeof o.data_base64 === 'string') {
    const bytes = Buffer.from(o.data_base64, 'base64');
    return { attrs, kind: kindOf(attrs), raw: bytes.toString('utf8'), bytes, carrier, ...(isUtf8(bytes) ? {} : { notUtf8: true as const }) };
  }
  // A JSON payload arrives as a JSON value; a string under a non-JSON content type is the raw text.
  const jsonData = !attrs.datacontenttype || JSON_TYPE.test(attrs.datacontenttype);
  if (typeof o.data === 'string' && !jsonData) return { attrs, kind: kindOf(attrs), raw: o.data, carrier };
  const data = o.data ?? null;
  // The text of the data is for a dead letter only: made when asked, not for every event.
  const e: IncomingEvent = { attrs, kind: kindOf(attrs), get raw() { return JSON.stringify(data); }, parsed: data, carrier };
  if (o.data === undefined) e.bytes = null;
  return e;
}
const JSON_TYPE = /json/i;

function requiredString(o: Record<string, unknown>, name: string, where: string): string {
  const v = o[name];
  if (typeof v !== 'string' || !v) throw new EnvelopeError('missing_attribute', where ? `${where}.${name}` : name, `structured CloudEvent without a string "${name}"`);
  return v;
}

function parseEnvelopeJson(text: string): unknown {
  // JSON.parse itself copes with any depth, but whatever walks the value afterwards (JSON.stringify,
  // ajv, a logger) recurses: 100,000 nested arrays would overflow the stack there.
  if (depthExceeds(text, MAX_JSON_DEPTH)) throw new EnvelopeError('too_deep', undefined, `the request body is nested deeper than ${MAX_JSON_DEPTH} levels`);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new EnvelopeError('invalid_json', undefined, `request body is not valid JSON: ${jsonErrorDetail(err)}`);
  }
}

function checkSpecVersion(v: string, field: string) {
  if (v !== '1.0') throw new EnvelopeError('unsupported_specversion', field, `specversion ${quote(v)} is not supported (only 1.0)`);
}

function header(h: Headers, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/** A ce-* header's value, percent-decoded (attributes.ts). */
function ceHeader(h: Headers, name: string): string | undefined {
  const v = header(h, name);
  return v === undefined ? v : decodeHeaderValue(v);
}

// Encoding: a CloudEvent into the HTTP request of the binary or batch mode (the dispatcher's side).

export interface HttpMessage {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/** Binary content mode: attributes as ce-* headers, data as the body. */
export function toBinaryHttp(event: CloudEventData): HttpMessage {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.attributes)) {
    if (name === 'datacontenttype') continue;
    headers[`ce-${name}`] = encodeHeaderValue(value);
  }
  headers['content-type'] = event.attributes.datacontenttype ?? DEFAULT_CONTENT_TYPE;
  return { headers, body: event.data ?? Buffer.alloc(0) };
}

/** Batch content mode: a JSON array of structured events (data inline when JSON, else data_base64). */
export function toBatchHttp(events: readonly CloudEventData[]): HttpMessage {
  return {
    headers: { 'content-type': BATCH_CONTENT_TYPE },
    body: Buffer.from(JSON.stringify(events.map(toStructured))),
  };
}

export function toStructured(event: CloudEventData): Record<string, unknown> {
  const out: Record<string, unknown> = { ...event.attributes };
  if (out.datacontenttype === undefined) out.datacontenttype = DEFAULT_CONTENT_TYPE;
  if (event.data === null) return out;
  if (isJson(String(out.datacontenttype))) {
    try {
      out.data = JSON.parse(event.data.toString('utf8'));
      return out;
    } catch {
      // Not JSON after all: carry the bytes untouched.
    }
  }
  out.data_base64 = event.data.toString('base64');
  return out;
}
