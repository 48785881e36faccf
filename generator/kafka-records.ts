import type { EventRecord } from '../local/kafka/produce.js';
import type { GeneratedRecord } from './simulate.js';

/** Where each generated record goes on Kafka: topic by kind, keyed by user_id, the payload as sent. */
export function toKafkaRecord(rec: GeneratedRecord): { topic: 'user_events' | 'transactions'; record: EventRecord } {
  const topic = (rec.kind === 'invalid' ? rec.as : rec.kind) === 'event' ? 'user_events' : 'transactions';
  if (rec.kind === 'invalid') {
    const key = /"user_id":"([^"]+)"/.exec(rec.raw)?.[1] ?? rec.id;
    return { topic, record: { key, value: rec.raw } };
  }
  const data = rec.kind === 'event' ? rec.event : rec.transaction;
  // No record timestamp from the event time: a replay of old events would fall behind the topic's
  // time retention and be deleted before it is consumed. The record is stamped when produced.
  return { topic, record: { key: data.user_id, value: JSON.stringify(data) } };
}

/** Groups records by topic, keeping their order, for one produce call per topic. */
export function byTopic(records: readonly GeneratedRecord[]) {
  const out = { user_events: [] as EventRecord[], transactions: [] as EventRecord[] };
  for (const r of records) {
    const { topic, record } = toKafkaRecord(r);
    out[topic].push(record);
  }
  return out;
}
