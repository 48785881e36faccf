import { randomBytes } from 'node:crypto';
import { createKafkaClient } from '../../local/kafka/client.js';

/**
 * Reading `dead_letter_events` (or any topic) as raw Kafka records: key, value bytes and headers,
 * untouched, since every record there is a CloudEvent in Kafka binary content mode and its value
 * is the event's data as received (not necessarily JSON, not necessarily UTF-8).
 */
export interface RawRecord {
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  readonly value: Buffer | null;
  /** Header values as UTF-8 (the binding's encoding); the last value of a repeated header. */
  readonly headers: Record<string, string>;
}

/** Every record of a topic up to its end offsets now (so copies are read too). */
export async function readWholeTopicRaw(brokers: string, topic: string, timeoutMs = 30_000): Promise<RawRecord[]> {
  const kafka = createKafkaClient(brokers, { clientId: 'test-dead-letter-reader' });
  const admin = kafka.admin();
  await admin.connect();
  let ends: Map<number, number>;
  try {
    ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
  } finally {
    await admin.disconnect();
  }
  const out: RawRecord[] = [];
  if ([...ends.values()].every((end) => end === 0)) return out;
  const consumer = kafka.consumer({ groupId: `test-dead-letter-reader-${randomBytes(4).toString('hex')}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    const reached = new Map<number, number>();
    let done: () => void = () => undefined;
    const finished = new Promise<void>((r) => { done = r; });
    const complete = () => [...ends].every(([p, end]) => end === 0 || (reached.get(p) ?? 0) >= end);
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        if (Number(message.offset) < (ends.get(partition) ?? 0)) {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(message.headers ?? {})) {
            if (v === undefined) continue;
            const last = Array.isArray(v) ? v[v.length - 1] : v;
            headers[k] = Buffer.isBuffer(last) ? last.toString('utf8') : String(last);
          }
          out.push({ partition, offset: Number(message.offset), key: message.key?.toString('utf8') ?? null, value: message.value, headers });
        }
        reached.set(partition, Math.max(reached.get(partition) ?? 0, Number(message.offset) + 1));
        if (complete()) done();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`read ${out.length} records of ${topic} before the timeout`)), timeoutMs); });
    try {
      await Promise.race([finished, timeout]);
    } finally {
      clearTimeout(timer);
    }
    return out;
  } finally {
    await consumer.disconnect();
  }
}
