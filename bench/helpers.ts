/** Small things the bench's phases share. */
import { execFileSync } from 'node:child_process';
import type { EventProducer, KafkaBroker } from '../local/kafka/index.js';
import { say } from './bench-log.js';
import { sleep } from './children.js';
import { createKafkaLoad, createKcatLoad, hasKcat, type Load } from './load.js';
import type { ProcMonitor } from './proc.js';

/** kcat when the machine has it (far cheaper per record), else kafkajs in this process. */
export function kafkaLoad(broker: KafkaBroker, producer: EventProducer, topics: { events: string; transactions: string }, deps: Parameters<typeof createKafkaLoad>[2], procs: ProcMonitor, name = 'producer'): Load {
  if (!hasKcat()) {
    say('kcat not found (apt-get install kcat): producing with kafkajs in the bench process, which costs about 50 µs of CPU a record here');
    return createKafkaLoad(producer, topics, deps);
  }
  const load = createKcatLoad(broker.brokers, topics, deps);
  procs.watch(name, load.procs.events.pid);
  procs.watch(`${name}-tx`, load.procs.transactions.pid);
  return load;
}

/** The commit measured, and whether files outside bench/ differed from it (other people's work in progress). */
export function gitState() {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).split('\n').filter((l) => l && !l.slice(3).startsWith('bench/'));
    return { commit, uncommitted_files_outside_bench: dirty.map((l) => l.slice(3)) };
  } catch {
    return undefined;
  }
}

export function parseMetrics(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  const keep = /^speed_layer_(backpressure|clickhouse_breaker_opens|duplicates|flushes|batch_rows_(sum|count)|insert_|events_|late_|unknown_tier|dead_letter|flush_duration_seconds_(sum|count)|open_sessions|tier_cache_(hits|misses))/;
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^(\S+?)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (!m || !keep.test(m[1]!)) continue;
    out[m[1]!] = (out[m[1]!] ?? 0) + Number(m[3]);
  }
  return out;
}

export async function retry<T>(f: () => Promise<T>, times: number): Promise<T> {
  for (let i = 0; ; i++) {
    try { return await f(); } catch (err) { if (i >= times) throw err; await sleep(1000 * (i + 1)); }
  }
}

