import type { RecordKind } from '../steps/validate.js';

/**
 * What every CloudEvents binding here shares: the contract's event types, KafkaSource's type and
 * its topic-to-kind mapping, the attribute shape, and the HTTP binding's percent-encoding of
 * header values (3.1.3.2). Pure.
 */
export const EVENT_CE_TYPE = 'ecommerce.user_event.v1';
export const TRANSACTION_CE_TYPE = 'ecommerce.transaction.v1';
export const KAFKA_CE_TYPE = 'dev.knative.kafka.event';
/** The same, under the name the dispatcher's code knew it by. */
export const KAFKA_EVENT_TYPE = KAFKA_CE_TYPE;
export const TOPIC_KIND: Record<string, RecordKind> = { user_events: 'event', transactions: 'transaction' };
export const DEFAULT_CONTENT_TYPE = 'application/json';
export const BATCH_CONTENT_TYPE = 'application/cloudevents-batch+json';
export const STRUCTURED_CONTENT_TYPE = 'application/cloudevents+json';

export type Attributes = {
  id: string; source: string; type: string; specversion: string;
  subject?: string; time?: string; datacontenttype?: string;
  /** The Kafka record key, as KafkaSource sets it. */
  key?: string;
  /** The schema the producer says the data follows (validate.ts: an unknown one is a warning). */
  dataschema?: string;
};

/** An event to send: every attribute and extension as a string, and the data bytes. */
export interface CloudEventData {
  /** specversion, id, source, type and the optional attributes and extensions, as strings. */
  readonly attributes: Readonly<Record<string, string>>;
  readonly data: Buffer | null;
}

/** What the record kind is, from the CloudEvent type (or, from KafkaSource, the topic). */
export function kindOf(attrs: Attributes): RecordKind | undefined {
  if (attrs.type === EVENT_CE_TYPE) return 'event';
  if (attrs.type === TRANSACTION_CE_TYPE) return 'transaction';
  if (attrs.type === KAFKA_CE_TYPE) {
    const topic = attrs.source.slice(attrs.source.lastIndexOf('#') + 1);
    return Object.hasOwn(TOPIC_KIND, topic) ? TOPIC_KIND[topic] : undefined;
  }
  return undefined;
}

export function isJson(contentType: string | undefined): boolean {
  return contentType === undefined || /^application\/([\w.+-]+\+)?json\b/i.test(contentType) || /^text\/json\b/i.test(contentType);
}

/** CloudEvents attribute names are lower-case letters and digits only. */
export function sanitizeExtensionName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/**
 * The HTTP binding percent-encodes, in header values, spaces, '"', '%' and everything outside
 * printable ASCII (as UTF-8 bytes); node's http module would otherwise refuse such values.
 */
export function encodeHeaderValue(value: string): string {
  if (/^[\x21\x23\x24\x26-\x7E]*$/.test(value)) return value;
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += byte >= 0x21 && byte <= 0x7e && ch !== '"' && ch !== '%' ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * A header value percent-decoded, as senders percent-encode it (KafkaSource and our dispatcher
 * do). A value that is not valid percent-encoding is taken as it is, not refused.
 */
export function decodeHeaderValue(v: string): string {
  if (!v.includes('%')) return v;
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}
