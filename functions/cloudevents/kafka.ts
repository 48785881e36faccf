import type { IHeaders, KafkaMessage } from 'kafkajs';
import { KAFKA_EVENT_TYPE, STRUCTURED_CONTENT_TYPE, isJson, sanitizeExtensionName, type CloudEventData } from './attributes.js';

/**
 * The Kafka side of the CloudEvents bindings: a Kafka record into the CloudEvent KafkaSource sends
 * for it, and a CloudEvent into a Kafka record (binary content mode). Pure: no I/O, so the shapes
 * are table-tested.
 *
 * A record that already is a CloudEvent (Kafka binary mode with ce_* headers, or structured mode
 * with content-type application/cloudevents+json) passes through as that event. Any other record
 * becomes a `dev.knative.kafka.event`, built as eventing-kafka-broker's
 * InvalidCloudEventInterceptor does: id `partition:P/offset:O`, source
 * `/apis/v1/namespaces/NS/kafkasources/NAME#TOPIC`, subject `partition:P#O`, time from the record
 * timestamp, the key in `key` and `partitionkey`, each header as `kafkaheader<name>` (name lower
 * cased, only [a-z0-9] kept), content-type as datacontenttype.
 */


export interface SourceIdentity {
  readonly namespace: string;
  readonly name: string;
}

export interface RecordRef {
  readonly topic: string;
  readonly partition: number;
  readonly message: KafkaMessage;
}

export function kafkaSourceUri(source: SourceIdentity, topic: string): string {
  return `/apis/v1/namespaces/${source.namespace}/kafkasources/${source.name}#${topic}`;
}

export function recordToCloudEvent(
  record: RecordRef,
  source: SourceIdentity,
  extensions: Readonly<Record<string, string>> = {},
): CloudEventData {
  const event = passThrough(record.message) ?? wrapRecord(record, source);
  return Object.keys(extensions).length === 0 ? event : { ...event, attributes: { ...event.attributes, ...extensions } };
}

function wrapRecord({ topic, partition, message }: RecordRef, source: SourceIdentity): CloudEventData {
  const attributes: Record<string, string> = {
    specversion: '1.0',
    id: `partition:${partition}/offset:${message.offset}`,
    source: kafkaSourceUri(source, topic),
    type: KAFKA_EVENT_TYPE,
    subject: `partition:${partition}#${message.offset}`,
  };
  const timestamp = Number(message.timestamp);
  if (Number.isFinite(timestamp) && timestamp >= 0) attributes.time = new Date(timestamp).toISOString();
  if (message.key !== null && message.key !== undefined) {
    const key = message.key.toString('utf8');
    attributes.partitionkey = key;
    attributes.key = key;
  }
  for (const [name, value] of headerEntries(message.headers)) {
    if (name.toLowerCase() === 'content-type') {
      attributes.datacontenttype = value.toLowerCase();
      continue;
    }
    attributes[`kafkaheader${sanitizeExtensionName(name)}`] = value;
  }
  return { attributes, data: message.value ?? null };
}

/** A record produced as a CloudEvent is forwarded as that event, not wrapped again. */
function passThrough(message: KafkaMessage): CloudEventData | undefined {
  const headers = new Map(headerEntries(message.headers).map(([k, v]) => [k.toLowerCase(), v]));
  if (headers.has('ce_specversion')) {
    const attributes: Record<string, string> = {};
    for (const [name, value] of headers) if (name.startsWith('ce_')) attributes[name.slice(3)] = value;
    const contentType = headers.get('content-type');
    if (contentType) attributes.datacontenttype = contentType;
    return { attributes, data: message.value ?? null };
  }
  if (headers.get('content-type')?.toLowerCase().startsWith(STRUCTURED_CONTENT_TYPE) && message.value) {
    try {
      const parsed = JSON.parse(message.value.toString('utf8')) as Record<string, unknown>;
      if (typeof parsed !== 'object' || parsed === null || typeof parsed.specversion !== 'string') return undefined;
      const { data, data_base64: dataBase64, ...rest } = parsed;
      const attributes = Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
      const body = typeof dataBase64 === 'string' ? Buffer.from(dataBase64, 'base64')
        : data === undefined ? null
        : typeof data === 'string' && !isJson(attributes.datacontenttype) ? Buffer.from(data)
        : Buffer.from(JSON.stringify(data));
      return { attributes, data: body };
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function headerEntries(headers: IHeaders | undefined): [string, string][] {
  const entries: [string, string][] = [];
  for (const [name, raw] of Object.entries(headers ?? {})) {
    if (raw === undefined) continue;
    // Several values under one name: the last one wins, as repeated withExtension calls do.
    const last = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    if (last === undefined) continue;
    entries.push([name, Buffer.isBuffer(last) ? last.toString('utf8') : String(last)]);
  }
  return entries;
}

/** A Kafka record: key, value and headers. */
export interface KafkaRecord {
  readonly key: string | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * Kafka binary content mode, as Knative's KafkaSink writes an event (contentMode: binary, its
 * default): the CloudEvents SDK's CloudEventSerializer puts every attribute and extension in a
 * header `ce_<name>` (UTF-8), `datacontenttype` in `content-type`, the data as the value, and its
 * PartitionKeyExtensionInterceptor makes the `partitionkey` extension the record key (null without
 * one). Sources: knative-extensions/eventing-kafka-broker data-plane/receiver (Main.java,
 * IngressProducerReconcilableStore.java); cloudevents/sdk-java kafka/.../impl/KafkaHeaders.java,
 * BaseKafkaMessageWriterImpl.java, PartitionKeyExtensionInterceptor.java.
 */
export function toKafkaBinary(event: CloudEventData): KafkaRecord {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.attributes)) {
    headers[name === 'datacontenttype' ? 'content-type' : `ce_${name}`] = value;
  }
  return { key: event.attributes.partitionkey ?? null, value: event.data, headers };
}
