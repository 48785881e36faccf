import { randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { createAckBreaker, nextAverage, predictAckMs } from '../core/ack-breaker.js';
import { BackpressureError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';

/**
 * The micro-batcher: rows for several tables are buffered together and written in few large
 * inserts, when the buffer reaches `maxRows` or its oldest row is `maxAgeMs` old. Every caller's
 * promise settles only once its rows are in ClickHouse, so a 2xx answer means durable.
 *
 * Each sealed batch carries an id; its inserts use it as `insert_deduplication_token`, so a retry
 * after a timeout cannot store a block twice. A batch that keeps failing stays at the head of the
 * queue and is retried (same token) until ClickHouse takes it: its callers are told to retry after
 * `maxRetries`, and new rows are refused (503) meanwhile, so memory stays bounded. When ClickHouse
 * is slow rather than failing, the breaker (core/ack-breaker.ts) refuses new rows once they could
 * not be acknowledged within `ackBudgetMs`.
 */
export type Row = Record<string, unknown>;
export type Batch = { id: string; tables: Map<string, Row[]>; rows: number };

// ClickHouse error codes that mean "this data will never be accepted" (parse and type errors):
// no retry can help. Everything else (network, timeouts, too many parts, memory) is retried.
// A parse error missing from this list wedges the stream (every later request gets 503): 25 (a lone
// surrogate), 376 (a UUID) and 691 (an enum element) were seen doing it, the first two through the
// fuzz; test/integration/batch-writer.test.ts stores past 25, 376 and 41.
const PERMANENT_CODES = new Set(['6', '25', '26', '27', '38', '41', '53', '69', '70', '72', '117', '130', '131', '190', '321', '349', '376', '407', '467', '691']);
const isRetriable = (err: unknown) => !PERMANENT_CODES.has(String((err as { code?: unknown }).code ?? ''));

export type BatchWriterOptions = {
  database: string;
  maxRows: number;
  maxAgeMs: number;
  bufferMaxRows: number;
  maxRetries: number;
  /** New rows are refused (503) while the predicted wait for their acknowledgement is longer. */
  ackBudgetMs: number;
  /** Called once the batch is stored. */
  stored?: (batch: Batch, nowMs: number) => void;
};

type Pending = Batch & { deadLettered?: boolean; waiters: { resolve: () => void; reject: (e: Error) => void }[]; done: Promise<void>; settle: (e?: Error) => void; firstAt: number };

export function createBatchWriter(opts: BatchWriterOptions, deps: { ch: ClickHouseClient; metrics: Metrics; log: Logger }) {
  const { ch, metrics, log } = deps;
  let open: Pending | undefined;
  const sealed: Pending[] = [];
  let timer: NodeJS.Timeout | undefined;
  let working = false;
  let failing = false;
  let closed = false;
  let insertMs = 0;
  let headStartedAt = 0;
  const breaker = createAckBreaker({ budgetMs: opts.ackBudgetMs });

  const buffered = () => (open?.rows ?? 0) + sealed.reduce((s, b) => s + b.rows, 0);
  /** speed_layer_buffered_rows follows every change: rows added, a batch stored, the buffer dropped. */
  const gauge = () => metrics.bufferedRows.set(buffered());

  /** The breaker's state now; the gauge and the log follow every change. */
  function breakerState() {
    const now = Date.now();
    const wasTripped = breaker.tripped;
    const state = breaker.evaluate(failing, predictAckMs({
      openRemainingMs: open && open.rows > 0 ? Math.max(0, opts.maxAgeMs - (now - open.firstAt)) : opts.maxAgeMs,
      queued: sealed.length,
      headElapsedMs: headStartedAt ? now - headStartedAt : 0,
      insertMs,
    }), sealed.length === 0 && !(open && open.rows > 0));
    if (breaker.tripped !== wasTripped) {
      metrics.clickhouseBreakerOpen.set(breaker.tripped ? 1 : 0);
      if (state.open) {
        metrics.clickhouseBreakerOpens.inc({ reason: state.reason });
        log.warn({ reason: state.reason, queuedBatches: sealed.length, insertMs: Math.round(insertMs), budgetMs: opts.ackBudgetMs }, 'ClickHouse breaker open: refusing new rows (503)');
      } else {
        log.info({ queuedBatches: sealed.length, insertMs: Math.round(insertMs) }, 'ClickHouse breaker closed: taking rows again');
      }
    }
    return state;
  }

  function newPending(): Pending {
    let settle!: (e?: Error) => void;
    const done = new Promise<void>((res, rej) => { settle = (e) => (e ? rej(e) : res()); });
    done.catch(() => {}); // observed through waiters; never an unhandled rejection
    return { id: randomUUID(), tables: new Map(), rows: 0, waiters: [], done, settle, firstAt: Date.now() };
  }

  function seal(trigger: 'size' | 'age' | 'shutdown') {
    if (timer) { clearTimeout(timer); timer = undefined; }
    if (!open || open.rows === 0) return;
    metrics.flushReason.inc({ trigger });
    sealed.push(open);
    open = undefined;
    void work();
  }

  async function work() {
    if (working) return;
    working = true;
    try {
      while (sealed.length) {
        const batch = sealed[0]!;
        await writeWithRetry(batch);
        sealed.shift();
        gauge();
        headStartedAt = 0;
        breakerState(); // weighed without the batch just stored
        for (const w of batch.waiters) w.resolve();
        batch.settle();
      }
    } finally {
      working = false;
    }
  }

  async function writeWithRetry(batch: Pending) {
    for (let attempt = 0; ; attempt++) {
      const t0 = performance.now();
      headStartedAt = Date.now();
      try {
        for (const [table, rows] of batch.tables) {
          if (rows.length === 0) continue;
          await ch.insert({
            table: `${opts.database}.${table}`, values: rows, format: 'JSONEachRow',
            clickhouse_settings: { insert_deduplication_token: `${batch.id}:${table}` },
          });
        }
        const seconds = (performance.now() - t0) / 1000;
        metrics.flushDuration.observe(seconds);
        insertMs = nextAverage(insertMs, seconds * 1000);
        metrics.batchRows.observe(batch.rows);
        for (const [table, rows] of batch.tables) metrics.eventsStored.inc({ table }, rows.length);
        opts.stored?.(batch, Date.now());
        if (failing) log.info({ batch: batch.id }, 'ClickHouse writes recovered');
        failing = false;
        log.debug({ batch: batch.id, rows: batch.rows, ms: Math.round(seconds * 1000) }, 'batch stored');
        return;
      } catch (err) {
        if (!isRetriable(err) && !batch.deadLettered) {
          // A row ClickHouse will never take (a bug, not an outage): retrying would wedge the
          // stream, so the batch's rows go to the dead-letter table with the server's message.
          log.error({ batch: batch.id, err: (err as Error).message }, 'ClickHouse refused the batch for good; dead-lettering its rows');
          toDeadLetters(batch, (err as Error).message);
          continue;
        }
        for (const table of batch.tables.keys()) metrics.insertRetries.inc({ table });
        if (!failing && attempt + 1 >= opts.maxRetries) {
          failing = true;
          for (const table of batch.tables.keys()) metrics.insertFailures.inc({ table });
          log.error({ batch: batch.id, rows: batch.rows, attempts: attempt + 1, err: (err as Error).message }, 'ClickHouse insert keeps failing; answering 503 and retrying the batch');
          const e = new BackpressureError(`ClickHouse insert failed: ${(err as Error).message}`, 2);
          for (const w of batch.waiters.splice(0)) w.reject(e);
          breakerState();
        } else {
          log.warn({ batch: batch.id, attempt: attempt + 1, err: (err as Error).message }, 'ClickHouse insert failed, retrying');
        }
        await new Promise((r) => setTimeout(r, Math.min(5_000, 100 * 2 ** attempt)));
      }
    }
  }

  function toDeadLetters(batch: Pending, message: string) {
    const now = new Date().toISOString();
    const rows: Row[] = [];
    for (const [table, list] of batch.tables) {
      for (const r of list) {
        rows.push({
          received_at: now, reason: 'storage_rejected', detail: message.slice(0, 2_000), field: table,
          event_type: String(r.event_type ?? table), ce_id: String(r.event_id ?? r.transaction_id ?? r.session_id ?? r.ce_id ?? ''),
          ce_source: 'speed-layer/ingest', ce_type: '', ce_subject: '', payload: JSON.stringify(r),
        });
      }
    }
    batch.tables = new Map([['dead_letter_events', rows]]);
    batch.deadLettered = true;
  }

  return {
    /** Buffers rows (table -> rows) and settles once they are stored. */
    add(rowsByTable: Record<string, Row[]>): Promise<void> {
      if (closed) return Promise.reject(new BackpressureError('shutting down', 1));
      const state = breakerState();
      if (state.open) {
        return Promise.reject(new BackpressureError(
          state.reason === 'failing' ? 'ClickHouse is not accepting writes' : `ClickHouse is slow: rows taken now would wait past the ${opts.ackBudgetMs} ms acknowledgement budget`,
          state.retryAfterS,
        ));
      }
      if (buffered() >= opts.bufferMaxRows) return Promise.reject(new BackpressureError(`buffer full (${buffered()} rows)`, 1));
      const batch = (open ??= newPending());
      let n = 0;
      for (const [table, rows] of Object.entries(rowsByTable)) {
        if (rows.length === 0) continue;
        const list = batch.tables.get(table) ?? [];
        if (!batch.tables.has(table)) batch.tables.set(table, list);
        for (const r of rows) list.push(r);
        n += rows.length;
      }
      batch.rows += n;
      const p = new Promise<void>((resolve, reject) => batch.waiters.push({ resolve, reject }));
      if (batch.rows >= opts.maxRows) seal('size');
      else if (!timer) timer = setTimeout(() => seal('age'), opts.maxAgeMs);
      gauge();
      return p;
    },
    /** Settles once everything buffered so far is stored. */
    barrier(): Promise<void> {
      if (open && open.rows > 0) return open.done;
      const last = sealed[sealed.length - 1];
      return last ? last.done : Promise.resolve();
    },
    /** Writes whatever is buffered now and waits for it. */
    async flush() {
      const wait = this.barrier();
      seal('shutdown');
      await wait;
    },
    async close() {
      closed = true;
      await this.flush();
    },
    /** Drops everything buffered (a crash, for tests); batches already being written may still land. */
    abort() {
      closed = true;
      if (timer) clearTimeout(timer);
      const e = new Error('aborted');
      for (const b of [open, ...sealed]) for (const w of b?.waiters.splice(0) ?? []) w.reject(e);
      open = undefined;
      sealed.length = 0;
      gauge();
    },
    get bufferedRows() { return buffered(); },
    get healthy() { return !failing; },
    get breakerOpen() { return breaker.tripped; },
  };
}
export type BatchWriter = ReturnType<typeof createBatchWriter>;
