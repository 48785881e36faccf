import { timestampMs } from '../functions/core/timestamp.js';
import { EVENT_CE_TYPE, TRANSACTION_CE_TYPE } from '../functions/cloudevents/index.js';
import type { GeneratedRecord } from '../generator/simulate.js';

/**
 * The producer's side of the CloudEvents HTTP binding, written out by hand for the load generator.
 * generator/cloudevents.ts builds the same requests with the official SDK, which validates every
 * event and costs far more CPU than the bench can spend beside the system under test; the shapes
 * here are those (binary: ce-* headers and the data as body; batch: a JSON array of structured
 * events), and `npm test` checks the SDK's against the ingest.
 */
export const BENCH_SOURCE = '/speed-layer/bench';
export const BATCH_CONTENT_TYPE = 'application/cloudevents-batch+json';

const typeOf = (rec: GeneratedRecord) => ((rec.kind === 'invalid' ? rec.as : rec.kind) === 'event' ? EVENT_CE_TYPE : TRANSACTION_CE_TYPE);
const dataOf = (rec: GeneratedRecord) => (rec.kind === 'event' ? rec.event : rec.kind === 'transaction' ? rec.transaction : undefined);

/** Binary mode: one event per request, attributes as ce-* headers. */
export function binaryRequest(rec: GeneratedRecord): { headers: Record<string, string>; body: string } {
  const data = dataOf(rec);
  if (!data) {
    const r = rec as Extract<GeneratedRecord, { kind: 'invalid' }>;
    return { headers: { 'ce-specversion': '1.0', 'ce-id': r.id, 'ce-source': BENCH_SOURCE, 'ce-type': typeOf(rec), 'content-type': 'text/plain' }, body: r.raw };
  }
  return {
    headers: { 'ce-specversion': '1.0', 'ce-id': rec.id, 'ce-source': BENCH_SOURCE, 'ce-type': typeOf(rec), 'ce-time': data.timestamp, 'content-type': 'application/json' },
    body: JSON.stringify(data),
  };
}

/** One structured event, as an element of a batch. */
export function structured(rec: GeneratedRecord): string {
  const data = dataOf(rec);
  if (!data) {
    const r = rec as Extract<GeneratedRecord, { kind: 'invalid' }>;
    return JSON.stringify({ specversion: '1.0', id: r.id, source: BENCH_SOURCE, type: typeOf(rec), datacontenttype: 'text/plain', data: r.raw });
  }
  return JSON.stringify({ specversion: '1.0', id: rec.id, source: BENCH_SOURCE, type: typeOf(rec), time: data.timestamp, datacontenttype: 'application/json', data });
}

export function batchBody(records: readonly GeneratedRecord[]): string {
  return `[${records.map(structured).join(',')}]`;
}

/** The Kafka record of a generated record: topic by kind, keyed by user_id, the payload as JSON (as generator/kafka-records.ts). */
export function kafkaRecord(rec: GeneratedRecord): { topic: 'events' | 'transactions'; key: string; value: string; timestamp?: number } {
  const topic = (rec.kind === 'invalid' ? rec.as : rec.kind) === 'event' ? 'events' : 'transactions';
  if (rec.kind === 'invalid') return { topic, key: /"user_id":"([^"]+)"/.exec(rec.raw)?.[1] ?? rec.id, value: rec.raw };
  const data = dataOf(rec)!;
  return { topic, key: data.user_id, value: JSON.stringify(data), timestamp: timestampMs(data.timestamp) };
}
