import kafkajs, { type Message, type Producer } from 'kafkajs';
import type { Logger } from '../logger.js';
import { createKafkaClient } from './client.js';

const { Partitioners } = kafkajs;

/** Records per produce request: big enough to amortise the round trip, small enough for 1 MB requests. */
export const MAX_RECORDS_PER_SEND = 2_000;

export interface EventRecord {
  /** The partition key; for the speed layer always the user_id, so a user's events stay in order. */
  readonly key: string;
  /** Serialised as JSON unless it already is a string or a Buffer. */
  readonly value: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** Record timestamp in ms since the epoch; default: now (the broker's CreateTime is the producer's). */
  readonly timestamp?: number;
}

export interface EventProducer {
  /** Sends all records to one topic, in order per key, in requests of up to MAX_RECORDS_PER_SEND. */
  send(topic: string, records: readonly EventRecord[]): Promise<void>;
  /** Sends JSON events keyed by `keyOf(event)`, by default the event's user_id. */
  sendEvents<T extends object>(topic: string, events: readonly T[], keyOf?: (event: T) => string): Promise<void>;
  disconnect(): Promise<void>;
}

export interface EventProducerOptions {
  readonly clientId?: string;
  readonly logger?: Logger;
}

/**
 * A kafkajs producer with idempotence on (the broker drops the duplicates of its own retries)
 * and one request in flight, as idempotence with kafkajs requires to keep per-partition order.
 * Each record carries `content-type: application/json`, which KafkaSource turns into the
 * CloudEvent's datacontenttype.
 */
export function createEventProducer(brokers: string | readonly string[], options: EventProducerOptions = {}): EventProducer {
  const producer: Producer = createKafkaClient(brokers, { clientId: options.clientId ?? 'speed-layer-producer', logger: options.logger })
    .producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
    });
  let connecting: Promise<void> | undefined;
  const connected = (): Promise<void> => (connecting ??= producer.connect());

  const send = async (topic: string, records: readonly EventRecord[]): Promise<void> => {
    await connected();
    for (let i = 0; i < records.length; i += MAX_RECORDS_PER_SEND) {
      const messages: Message[] = records.slice(i, i + MAX_RECORDS_PER_SEND).map(toMessage);
      await producer.send({ topic, messages, acks: -1 });
    }
  };

  return {
    send,
    sendEvents: async (topic, events, keyOf = defaultKey) =>
      send(topic, events.map((event) => ({ key: keyOf(event), value: event }))),
    disconnect: async () => {
      if (connecting) await connecting.catch(() => undefined);
      await producer.disconnect();
    },
  };
}

function defaultKey(event: object): string {
  const userId = (event as { user_id?: unknown }).user_id;
  if (typeof userId !== 'string' || userId === '') throw new Error('event has no user_id to key it by');
  return userId;
}

function toMessage(record: EventRecord): Message {
  const value = Buffer.isBuffer(record.value) || typeof record.value === 'string' ? record.value : JSON.stringify(record.value);
  return {
    key: record.key,
    value,
    headers: { 'content-type': 'application/json', ...record.headers },
    ...(record.timestamp !== undefined ? { timestamp: String(record.timestamp) } : {}),
  };
}
