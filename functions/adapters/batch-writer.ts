import { randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { createAckBreaker, nextAverage, predictAckMs } from '../core/ack-breaker.js';
import { BackpressureError, InfraError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import { backoffMs, INSERT_RETRY, type RetryPolicy } from '../core/retry-policy.js';
import { decideFlush, fullBucket, type Bucket, type FlushPolicy } from '../steps/flush-policy.js';
import { insertError } from './clickhouse-errors.js';

/**
 * The micro-batcher: rows for several tables are buffered together and written in few large
 * inserts. When a batch is sealed is steps/flush-policy.ts's rule (group commit: at once when no
 * insert is running, within a cap on inserts per second; else when the running insert ends, or at
 * `maxRows` rows or `maxAgeMs` age). Every caller's promise settles only once its rows are in
 * ClickHouse, so a 2xx answer means durable.
 *
 * Each sealed batch carries an id; its inserts use it as `insert_deduplication_token`, so a retry
 * after a timeout cannot store a block twice. A batch that keeps failing stays at the head of the
 * queue and is retried (same token, `retry`'s backoff) until ClickHouse takes it: its callers are
 * told to retry after `retry.attemptsBeforeFailing`, and new rows are refused (503) meanwhile, so
 * memory stays bounded. When ClickHouse is slow rather than failing, the breaker
 * (core/ack-breaker.ts) refuses new rows once they could not be acknowledged within `ackBudgetMs`.
 * A batch ClickHouse refuses for good (InfraError, not retriable) is handed to `unstorable`, whose
 * rows are written instead (the ingest dead-letters them).
 */
export type Row = Record<string, unknown>;
export type Batch = { id: string; tables: Map<string, Row[]>; rows: number };

export type BatchWriterOptions = {
  database: string;
  maxRows: number;
  maxAgeMs: number;
  bufferMaxRows: number;
  /** Failed attempts after which the waiting callers get 503 (the batch is still retried). */
  maxRetries: number;
  /** Backoff between attempts; defaults to core/retry-policy.ts's INSERT_RETRY. */
  retry?: Omit<RetryPolicy, 'attemptsBeforeFailing'>;
  /** Cap on idle seals per second, each one insert per table (0: seal by size and age only). */
  insertsPerS: number;
  /** Idle seals allowed back to back before the cap applies (default insertsPerS). */
  insertBurst?: number;
  /** New rows are refused (503) while the predicted wait for their acknowledgement is longer. */
  ackBudgetMs: number;
  /** Called once the batch is stored. */
  stored?: (batch: Batch, nowMs: number) => void;
  /** Rows to write instead of a batch ClickHouse will never take; without it such a batch is retried. */
  unstorable?: (tables: ReadonlyMap<string, Row[]>, err: InfraError, nowMs: number) => Record<string, Row[]>;
};

type Pending = Batch & {
  replaced?: boolean;
  /** Settles the callers: resolved once stored, rejected when they must retry. One per batch, not per caller. */
  answer: Promise<void>; answerSettle: (e?: Error) => void; answered: boolean;
  done: Promise<void>; settle: () => void; firstAt: number;
};

const noop = () => {};

export function createBatchWriter(opts: BatchWriterOptions, deps: { ch: ClickHouseClient; metrics: Metrics; log: Logger }) {
  const { ch, metrics, log } = deps;
  const retry: RetryPolicy = { ...(opts.retry ?? INSERT_RETRY), attemptsBeforeFailing: opts.maxRetries };
  const policy: FlushPolicy = { maxRows: opts.maxRows, maxAgeMs: opts.maxAgeMs, insertsPerS: opts.insertsPerS, ...(opts.insertBurst ? { burst: opts.insertBurst } : {}) };
  let bucket: Bucket = fullBucket(policy, Date.now());
  let open: Pending | undefined;
  const sealed: Pending[] = [];
  let timer: NodeJS.Timeout | undefined;
  let timerAt = 0;
  let checkQueued = false;
  let working = false;
  let failing = false;
  let closed = false;
  let insertMs = 0;
  let headStartedAt = 0;
  let sealedRows = 0;
  const breaker = createAckBreaker({ budgetMs: opts.ackBudgetMs });

  const buffered = () => (open?.rows ?? 0) + sealedRows;
  /** speed_layer_buffered_rows follows every change: rows added, a batch stored, the buffer dropped. */
  const gauge = () => metrics.bufferedRows.set(buffered());

  /** The breaker's state now; the gauge and the log follow every change. */
  function breakerState(now = Date.now()) {
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

  function newPending(now: number): Pending {
    let settle!: () => void;
    const done = new Promise<void>((res) => { settle = res; });
    let answerSettle!: (e?: Error) => void;
    const answer = new Promise<void>((res, rej) => { answerSettle = (e) => (e ? rej(e) : res()); });
    answer.catch(noop); // observed by the callers; never an unhandled rejection
    return { id: randomUUID(), tables: new Map(), rows: 0, answer, answerSettle, answered: false, done, settle, firstAt: now };
  }

  function answer(batch: Pending, err?: Error) {
    if (batch.answered) return;
    batch.answered = true;
    batch.answerSettle(err);
  }

  function clearTimer() {
    if (timer) { clearTimeout(timer); timer = undefined; timerAt = 0; }
  }

  function seal(trigger: 'size' | 'age' | 'idle' | 'shutdown') {
    clearTimer();
    if (!open || open.rows === 0) return;
    metrics.flushReason.inc({ trigger });
    sealed.push(open);
    sealedRows += open.rows;
    open = undefined;
    void work();
  }

  /** Applies the flush policy now: seals, or arms one timer for when to ask again. */
  function check() {
    checkQueued = false;
    if (closed && !open) return;
    const now = Date.now();
    const d = decideFlush(policy, { nowMs: now, rows: open?.rows ?? 0, firstAtMs: open?.firstAt ?? now, busy: working || sealed.length > 0, bucket });
    bucket = d.bucket;
    if (d.seal) return seal(d.trigger);
    if (d.recheckMs === undefined) return;
    // One timer per writer, moved only when the new deadline is sooner (not re-armed per request).
    const at = now + d.recheckMs;
    if (timer && timerAt <= at) return;
    clearTimer();
    timerAt = at;
    timer = setTimeout(() => { timer = undefined; timerAt = 0; check(); }, d.recheckMs);
  }

  /** After the current I/O phase, so requests that arrived together go in one batch. */
  function checkSoon() {
    if (checkQueued) return;
    checkQueued = true;
    setImmediate(check);
  }

  async function work() {
    if (working) return;
    working = true;
    try {
      while (sealed.length) {
        const batch = sealed[0]!;
        await writeWithRetry(batch);
        if (sealed[0] !== batch) continue; // dropped meanwhile (abort)
        sealed.shift();
        sealedRows -= batch.rows;
        gauge();
        headStartedAt = 0;
        breakerState(); // weighed without the batch just stored
        answer(batch);
        batch.settle();
      }
    } finally {
      working = false;
    }
    // Idle again: what gathered during the insert may go now (group commit).
    if (open && open.rows > 0) check();
  }

  /**
   * One insert per table, side by side: a batch waits for the slowest, not for the sum (each
   * insert's fixed cost is tens of ms, and every held request waits for it). All are awaited
   * before a failure is thrown, so a retry never overlaps an attempt still running; the tables
   * already stored drop the retry by its token.
   */
  async function insertAll(batch: Pending) {
    const tables = [...batch.tables].filter(([, rows]) => rows.length > 0);
    const results = await Promise.allSettled(tables.map(([table, rows]) => ch.insert({
      table: `${opts.database}.${table}`, values: rows, format: 'JSONEachRow',
      clickhouse_settings: { insert_deduplication_token: `${batch.id}:${table}` },
    })));
    const failed = results.findIndex((r) => r.status === 'rejected');
    if (failed >= 0) throw insertError((results[failed] as PromiseRejectedResult).reason, tables[failed]![0]);
  }

  async function writeWithRetry(batch: Pending) {
    for (let attempt = 0; ; attempt++) {
      const t0 = performance.now();
      headStartedAt = Date.now();
      try {
        await insertAll(batch);
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
      } catch (caught) {
        const err = caught as InfraError;
        if (!err.retriable && !batch.replaced && opts.unstorable) {
          // A row ClickHouse will never take (a bug, not an outage): retrying would wedge the
          // stream, so the hook's rows (dead letters) are written instead.
          log.error({ batch: batch.id, err: err.message }, 'ClickHouse refused the batch for good; writing the unstorable hook\'s rows instead');
          batch.tables = new Map(Object.entries(opts.unstorable(batch.tables, err, Date.now())));
          batch.replaced = true;
          continue;
        }
        for (const table of batch.tables.keys()) metrics.insertRetries.inc({ table });
        if (!failing && attempt + 1 >= retry.attemptsBeforeFailing) {
          failing = true;
          for (const table of batch.tables.keys()) metrics.insertFailures.inc({ table });
          log.error({ batch: batch.id, rows: batch.rows, attempts: attempt + 1, err: err.message }, 'ClickHouse insert keeps failing; answering 503 and retrying the batch');
          answer(batch, new BackpressureError(`ClickHouse insert failed: ${err.message}`, 2, { cause: err }));
          breakerState();
        } else {
          log.warn({ batch: batch.id, attempt: attempt + 1, err: err.message }, 'ClickHouse insert failed, retrying');
        }
        await new Promise((r) => setTimeout(r, backoffMs(retry, attempt)));
      }
    }
  }

  function refusal(now = Date.now()): BackpressureError | undefined {
    if (closed) return new BackpressureError('shutting down', 1);
    const state = breakerState(now);
    if (!state.open) return undefined;
    return new BackpressureError(
      state.reason === 'failing' ? 'ClickHouse is not accepting writes' : `ClickHouse is slow: rows taken now would wait past the ${opts.ackBudgetMs} ms acknowledgement budget`,
      state.retryAfterS,
    );
  }

  return {
    /** Buffers rows (table -> rows) and settles once they are stored. */
    add(rowsByTable: Record<string, Row[]>): Promise<void> {
      const now = Date.now();
      const refused = refusal(now);
      if (refused) return Promise.reject(refused);
      if (buffered() >= opts.bufferMaxRows) return Promise.reject(new BackpressureError(`buffer full (${buffered()} rows)`, 1));
      const batch = (open ??= newPending(now));
      for (const table in rowsByTable) {
        const rows = rowsByTable[table]!;
        if (rows.length === 0) continue;
        let list = batch.tables.get(table);
        if (!list) batch.tables.set(table, (list = []));
        for (const r of rows) list.push(r);
        batch.rows += rows.length;
      }
      const p = batch.answer;
      if (batch.rows >= opts.maxRows) seal('size');
      else if (!working && sealed.length === 0) checkSoon();
      else if (!timer) check(); // busy: only the age deadline can seal it before the insert ends
      gauge();
      return p;
    },
    /**
     * Why no row would be taken now (shutting down, or the breaker open), else undefined: the ingest
     * asks before reading a request, so a refusal costs no parsing. A full buffer is not a refusal
     * here: it frees up within a batch, and a request holding only duplicates still waits for them.
     */
    refusal,
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
      clearTimer();
      const e = new Error('aborted');
      for (const b of [open, ...sealed]) if (b) answer(b, e);
      open = undefined;
      sealed.length = 0;
      sealedRows = 0;
      gauge();
    },
    get bufferedRows() { return buffered(); },
    get healthy() { return !failing; },
    get breakerOpen() { return breaker.tripped; },
  };
}
export type BatchWriter = ReturnType<typeof createBatchWriter>;
