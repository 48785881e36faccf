import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import type { WriteStream } from 'node:fs';
import type { GeneratedRecord } from '../generator/simulate.js';
import type { EventProducer } from '../local/kafka/index.js';
import { BATCH_CONTENT_TYPE, batchBody, binaryRequest, kafkaRecord } from './encode.js';
import type { HttpClient } from './http-client.js';
import { createRecorder, createSeries } from './stats.js';

/**
 * The open-loop senders, one per path. `send(records, intendedMs)` hands records to the path and
 * returns at once: nothing waits for an answer, so a slow system shows as latency and in-flight
 * requests, never as a slower sender. Every record handed over is written to the sent log (id,
 * kind, intended send time) for the verification after the run.
 *
 * Like a real producer (and like KafkaSource) the HTTP senders retry 429, 5xx and transport errors
 * with exponential backoff, honouring Retry-After up to 5 s, 5 times; a record whose request still
 * fails is counted as failed (and will show as lost).
 */
export type SendKind = 'e' | 't' | 'm' | 'i';
export const kindOf = (rec: GeneratedRecord, marker = false): SendKind => (marker ? 'm' : rec.kind === 'event' ? 'e' : rec.kind === 'transaction' ? 't' : 'i');

export type LoadCounters = {
  /** Records handed to the path (http/batch: requests started; kafka: produced and acknowledged by the broker). */
  sent: number;
  /** Records whose request was answered 2xx (http/batch); for kafka, delivered as the dispatcher reports. */
  acked: number;
  failed: number;
  retries: number;
  statuses: Record<string, number>;
  /** Transport errors by code (ECONNRESET, timeouts, ...), retried or final. */
  errors: Record<string, number>;
};

export type Load = {
  send(records: GeneratedRecord[], intendedMs: number, markers: Set<GeneratedRecord>): void;
  counters: LoadCounters;
  /** Requests to ingest not yet answered, from the sender's side (http/batch). */
  readonly outstanding: number;
  /** Latency from intended send time to the final answer (http/batch) or the broker's ack (kafka), ms. */
  latency: ReturnType<typeof createRecorder>;
  /** Per second since t0: records sent and acked. */
  sentSeries: ReturnType<typeof createSeries>;
  ackedSeries: ReturnType<typeof createSeries>;
  /** Resolves once nothing is waiting for an answer (or after `timeoutMs`). */
  drain(timeoutMs: number): Promise<boolean>;
};

const RETRIES = 5;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const retryable = (status: number) => status === 429 || status >= 500;

type Deps = { log: WriteStream; t0Ms: number; inWindow: (ms: number) => boolean };

function base(deps: Deps) {
  const counters: LoadCounters = { sent: 0, acked: 0, failed: 0, retries: 0, statuses: {}, errors: {} };
  const latency = createRecorder();
  const sentSeries = createSeries();
  const ackedSeries = createSeries();
  const logSent = (records: GeneratedRecord[], intendedMs: number, markers: Set<GeneratedRecord>) => {
    let lines = '';
    for (const r of records) lines += `${r.id}\t${kindOf(r, markers.has(r))}\t${intendedMs}\n`;
    deps.log.write(lines);
    counters.sent += records.length;
    sentSeries.add(intendedMs, deps.t0Ms, records.length);
  };
  const answered = (n: number, intendedMs: number, status: number) => {
    const now = Date.now();
    counters.statuses[status] = (counters.statuses[status] ?? 0) + 1;
    if (status >= 200 && status < 300) {
      counters.acked += n;
      ackedSeries.add(now, deps.t0Ms, n);
    } else counters.failed += n;
    if (deps.inWindow(intendedMs)) latency.add(now - intendedMs);
  };
  return { counters, latency, sentSeries, ackedSeries, logSent, answered };
}

/** Posts one request, retrying connection errors and retryable answers (503/429 after the ingest's 1 s Retry-After). */
async function postWithRetries(client: HttpClient, ingest: URL, headers: Record<string, string>, body: string, counters: LoadCounters): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    let status = 0;
    let retryAfterS: number | undefined;
    try {
      ({ status } = await client.post(ingest, headers, body));
      if (status === 503 || status === 429) retryAfterS = 1;
    } catch (err) {
      status = 0;
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message.replace(/\d+/g, 'N');
      counters.errors[code] = (counters.errors[code] ?? 0) + 1;
    }
    if (!(status === 0 || retryable(status)) || attempt >= RETRIES) return status;
    counters.retries++;
    await sleep(Math.min(5_000, retryAfterS !== undefined ? retryAfterS * 1000 : 200 * 2 ** attempt));
  }
}

/** One binary-mode CloudEvent per request. */
export function createHttpLoad(client: HttpClient, ingest: URL, deps: Deps): Load {
  const b = base(deps);
  return {
    ...b,
    get outstanding() { return client.outstanding; },
    send(records, intendedMs, markers) {
      b.logSent(records, intendedMs, markers);
      for (const r of records) {
        const { headers, body } = binaryRequest(r);
        void postWithRetries(client, ingest, headers, body, b.counters).then((status) => b.answered(1, intendedMs, status));
      }
    },
    drain: (timeoutMs) => drainUntil(() => client.outstanding === 0, timeoutMs),
  };
}

/** application/cloudevents-batch+json: records are gathered for up to `lingerMs` or `batchSize`, as a producer library would. */
export function createBatchLoad(client: HttpClient, ingest: URL, batchSize: number, deps: Deps, lingerMs = 50): Load {
  const b = base(deps);
  let pending: GeneratedRecord[] = [];
  let pendingSince = 0;
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    if (timer) { clearTimeout(timer); timer = undefined; }
    const batch = pending;
    const intendedMs = pendingSince;
    pending = [];
    if (!batch.length) return;
    const body = batchBody(batch);
    void postWithRetries(client, ingest, { 'content-type': BATCH_CONTENT_TYPE }, body, b.counters).then((status) => b.answered(batch.length, intendedMs, status));
  };
  return {
    ...b,
    get outstanding() { return client.outstanding; },
    send(records, intendedMs, markers) {
      b.logSent(records, intendedMs, markers);
      for (const r of records) {
        if (!pending.length) pendingSince = intendedMs;
        pending.push(r);
        if (pending.length >= batchSize) flush();
      }
      if (pending.length && !timer) timer = setTimeout(flush, lingerMs);
    },
    drain: (timeoutMs) => { flush(); return drainUntil(() => client.outstanding === 0 && pending.length === 0, timeoutMs); },
  };
}

/**
 * Produced to the two topics, keyed by user_id (kafkajs, idempotent, acks=all). As a producer's
 * linger does, records gather while a produce request is out, and go together in the next one:
 * one request in flight per topic however fast the ticks come.
 */
export function createKafkaLoad(producer: EventProducer, topics: { events: string; transactions: string }, deps: Deps): Load {
  const b = base(deps);
  type Pending = { key: string; value: string; timestamp?: number };
  type Group = { records: GeneratedRecord[]; intendedMs: number; markers: Set<GeneratedRecord> };
  const queue = { events: [] as Pending[], transactions: [] as Pending[] };
  const busy = { events: false, transactions: false };
  type Entry = { group: Group; waiting: number };
  // Which ticks' records are in which request, so each tick is logged (with its intended time) once the broker has all of it.
  const marks = { events: [] as { entry: Entry }[], transactions: [] as { entry: Entry }[] };
  let queued = 0;
  let producing = 0;
  const pump = (t: 'events' | 'transactions') => {
    if (busy[t] || !queue[t].length) return;
    busy[t] = true;
    const batch = queue[t];
    const done = marks[t];
    queue[t] = [];
    marks[t] = [];
    queued -= batch.length;
    producing += batch.length;
    // A tick is logged once every request holding its records is over; a failed produce (after
    // kafkajs's own retries) is counted, and its records then show as lost: conservative.
    const settle = (ok: boolean) => {
      for (const m of done) if (--m.entry.waiting === 0) {
        b.logSent(m.entry.group.records, m.entry.group.intendedMs, m.entry.group.markers);
        if (ok) b.answered(0, m.entry.group.intendedMs, 200);
      }
    };
    void producer.send(topics[t], batch).then(() => settle(true), (err: Error) => {
      b.counters.failed += batch.length;
      b.counters.errors[err.name] = (b.counters.errors[err.name] ?? 0) + 1;
      settle(false);
    }).finally(() => {
      producing -= batch.length;
      busy[t] = false;
      pump(t);
    });
  };
  return {
    ...b,
    get outstanding() { return queued + producing; },
    send(records, intendedMs, markers) {
      const entry: Entry = { group: { records, intendedMs, markers }, waiting: 0 };
      const touched = { events: false, transactions: false };
      for (const r of records) {
        const k = kafkaRecord(r);
        queue[k.topic].push({ key: k.key, value: k.value, ...(k.timestamp ? { timestamp: k.timestamp } : {}) });
        touched[k.topic] = true;
        queued++;
      }
      for (const t of ['events', 'transactions'] as const) if (touched[t]) { entry.waiting++; marks[t].push({ entry }); }
      pump('events');
      pump('transactions');
    },
    drain: (timeoutMs) => drainUntil(() => queued + producing === 0, timeoutMs),
  };
}

/** True when Debian's kcat (librdkafka's command-line client) is on the PATH. */
export function hasKcat(): boolean {
  return spawnSync('kcat', ['-V'], { stdio: 'ignore' }).status === 0;
}

/**
 * Produced with kcat (librdkafka, Debian's \`kcat\` package), one process per topic reading
 * \`key<TAB>value\` lines on stdin: about 20 times less CPU per record than kafkajs (measured here:
 * kafkajs about 50 µs a record on this machine), so the load generator takes less of the 2 cores
 * it shares with what it measures. Idempotent, acks=all, 20 ms linger (fewer, larger produce requests: the broker shares the 2 cores too). A record counts as sent when
 * it is handed to kcat; kcat delivers everything it was handed before it exits at the end.
 */
export function createKcatLoad(brokers: string, topics: { events: string; transactions: string }, deps: Deps): Load & { procs: { events: ChildProcess; transactions: ChildProcess } } {
  const b = base(deps);
  const start = (topic: string) => spawn('kcat', ['-P', '-b', brokers, '-t', topic, '-K', '\t', '-q',
    '-X', 'acks=all', '-X', 'enable.idempotence=true', '-X', 'linger.ms=20', '-X', 'queue.buffering.max.messages=2000000'], { stdio: ['pipe', 'ignore', 'pipe'] });
  const procs = { events: start(topics.events), transactions: start(topics.transactions) };
  const exited = Object.fromEntries(Object.entries(procs).map(([k, p]) => [k, new Promise<number | null>((r) => p.once('exit', (code) => r(code)))]));
  for (const p of Object.values(procs)) {
    p.stderr!.on('data', (d: Buffer) => { const m = d.toString().trim().slice(0, 200); b.counters.errors[m] = (b.counters.errors[m] ?? 0) + 1; });
    p.stdin!.on('error', () => { b.counters.errors.kcat_stdin = (b.counters.errors.kcat_stdin ?? 0) + 1; });
  }
  process.once('exit', () => { for (const p of Object.values(procs)) if (p.exitCode === null) p.kill('SIGKILL'); });
  return {
    ...b,
    procs,
    get outstanding() { return 0; },
    send(records, intendedMs, markers) {
      const lines = { events: '', transactions: '' };
      for (const r of records) {
        const k = kafkaRecord(r);
        lines[k.topic] += `${k.key}\t${k.value}\n`;
      }
      if (lines.events) procs.events.stdin!.write(lines.events);
      if (lines.transactions) procs.transactions.stdin!.write(lines.transactions);
      b.logSent(records, intendedMs, markers);
    },
    /** Ends kcat's input: it delivers what it holds, then exits. */
    async drain(timeoutMs) {
      for (const p of Object.values(procs)) p.stdin!.end();
      const timer = setTimeout(() => { for (const p of Object.values(procs)) p.kill('SIGTERM'); }, timeoutMs);
      const codes = await Promise.all(Object.values(exited));
      clearTimeout(timer);
      return codes.every((c) => c === 0);
    },
  };
}

async function drainUntil(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > end) return false;
    await sleep(100);
  }
  return true;
}
