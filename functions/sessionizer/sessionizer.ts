import { createHash } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import type { EventType } from '../schemas/events.js';
import {
  diffSessions, isClosed, nextWatermark, sessionRow, splitSessions, type SessionRow, type StoredEvent,
} from '../steps/sessionize.js';
import { resolveCopies, type StoredCopy } from '../steps/copies.js';
import { SESSIONIZER_QUERIES as Q } from './queries.js';

/**
 * The sessionizer: one writer that derives `user_sessions_realtime` from the stored events, so
 * sessions come out the same whichever ingest replica stored an event, in whatever order, with
 * however many restarts. Each run reads the users whose events were stored since the last run
 * (plus an overlap, since a slow insert can become visible late), recomputes their sessions from
 * the stored rows, and writes only what changed. Recomputing is idempotent, so re-reading the
 * overlap, a crash between two writes, or a second sessionizer running at the same time cannot
 * make a session wrong.
 *
 * It also makes the counts exact under at-least-once delivery: an event or transaction stored
 * more than once (a redelivery that reached another replica, or this one after a restart, even
 * with a changed payload) counts as its first stored copy: every other copy gets a cancelling row
 * equal to it (sign = -1), inserted with a token derived from the rows seen, so the cancel itself
 * can never be applied twice, and sessions are computed from the first stored copy too.
 *
 * State between runs: the read cursor and the watermark, in `sessionizer_state`.
 */
export type SessionizerOptions = Pick<Config, 'CLICKHOUSE_DATABASE' | 'SESSION_GAP_MS' | 'ALLOWED_LATENESS_MS' | 'IDLE_TIMEOUT_MS'> & Partial<Pick<Config, 'SESSIONIZER_CHUNK_USERS'>> & {
  /** Rows stored less than this long ago are left for the next run (an insert may still be landing). */
  settleMs?: number;
  /** How far before the cursor each run reads again. */
  overlapMs?: number;
};

type Row = Record<string, unknown>;
/** A DateTime64 as ClickHouse answers it ('YYYY-MM-DD hh:mm:ss.sss', UTC), in ms. */
const chMs = (t: string) => Date.parse(`${t.replace(' ', 'T')}Z`);
const ch64 = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

export function createSessionizer(opts: SessionizerOptions, deps: { ch: ClickHouseClient; metrics: Metrics; log: Logger }) {
  const { ch, metrics, log } = deps;
  const db = opts.CLICKHOUSE_DATABASE;
  const gap = opts.SESSION_GAP_MS;
  const settleMs = opts.settleMs ?? 1_000;
  const overlapMs = opts.overlapMs ?? 10_000;
  // Each chunk's query reads the events table once (a user's rows are spread over every granule), so
  // fewer, larger chunks cost less; the chunk bounds the transient memory (~13 KB per user).
  const chunkUsers = opts.SESSIONIZER_CHUNK_USERS ?? 10_000;
  let state: { cursorMs: number; maxEventMs: number; watermarkMs: number; lastNewDataWallMs: number } | undefined;
  let version = 0;
  const nextVersion = (now: number) => now * 1000 + (version++ % 1000);

  const query = async <T = Row>(sql: string, params: Record<string, unknown>) =>
    (await ch.query({ query: sql.replaceAll('{db}', db), query_params: params, format: 'JSONEachRow' })).json<T>();
  const insert = (table: string, values: Row[], token?: string) =>
    values.length === 0 ? Promise.resolve() : ch.insert({ table: `${db}.${table}`, values, format: 'JSONEachRow', ...(token ? { clickhouse_settings: { insert_deduplication_token: token } } : {}) }).then(() => undefined);

  async function loadState(now: number) {
    const [s] = await query<{ cursor: string; max_event: string; watermark: string }>(Q.state, { name: 'main' });
    const ms = (v: string | undefined) => (v ? Date.parse(`${v.replace(' ', 'T')}Z`) : 0);
    return { cursorMs: ms(s?.cursor), maxEventMs: ms(s?.max_event), watermarkMs: ms(s?.watermark), lastNewDataWallMs: now };
  }

  /** One pass; answers what it did. */
  async function runOnce(now = Date.now()) {
    const t0 = performance.now();
    state ??= await loadState(now);
    const until = now - settleMs;
    const since = Math.max(0, state.cursorMs - overlapMs);
    const watermarkBefore = state.watermarkMs;

    const window = { since: ch64(since), until: ch64(until), gap };
    const [count] = await query<{ users: string }>(Q.touchedUsers, window);
    const users = Number(count?.users ?? 0);
    const chunks = Math.max(1, Math.ceil(users / chunkUsers));
    let written = 0, cancelled = 0, late = 0, maxNew = 0;
    for (let chunk = 0; users > 0 && chunk < chunks; chunk++) {
      const r = await recompute({ ...window, chunks, chunk, newSince: ch64(state.cursorMs) }, now, watermarkBefore);
      written += r.written; cancelled += r.cancelled; late += r.late; maxNew = Math.max(maxNew, r.maxNewMs);
    }
    cancelled += await cancelDuplicateTransactions(since, until);

    if (maxNew > 0 && until > state.cursorMs) state.lastNewDataWallMs = now;
    state.maxEventMs = Math.max(state.maxEventMs, maxNew);
    state.watermarkMs = nextWatermark({ previousMs: state.watermarkMs, maxEventMs: state.maxEventMs, lastNewDataWallMs: state.lastNewDataWallMs, nowWallMs: now, allowedLatenessMs: opts.ALLOWED_LATENESS_MS, idleTimeoutMs: opts.IDLE_TIMEOUT_MS });
    written += await closeExpired(now);
    state.cursorMs = Math.max(state.cursorMs, until);
    await insert('sessionizer_state', [{ name: 'main', cursor: new Date(state.cursorMs).toISOString(), max_event: new Date(state.maxEventMs).toISOString(), watermark: new Date(state.watermarkMs).toISOString(), updated_at: new Date(now).toISOString() }]);

    const [open] = await query<{ open: string }>(Q.openCount, {});
    metrics.openSessions.set(Number(open?.open ?? 0));
    metrics.watermark.set(state.watermarkMs / 1000);
    const ms = Math.round(performance.now() - t0);
    if (users || written || cancelled) log.debug({ users, written, cancelled, late, ms }, 'sessionizer run');
    return { users, written, cancelled, late, watermarkMs: state.watermarkMs, ms };
  }

  /**
   * One chunk of the touched users. Rows stored in (newSince, until] are new to this run: older
   * ones are the re-read overlap, younger ones are left for the next run's window (they are used
   * for the sessions already, but counted as new, and late, only once).
   */
  async function recompute(params: Record<string, unknown>, now: number, watermark: number) {
    type Ev = [id: string, type: EventType, ts: string, page: string, price: string, qty: number, tier: string, net: string, positives: string, isNew: number];
    const [users, stored] = await Promise.all([
      query<{ user_id: string; events: Ev[] }>(Q.chunkEvents, params),
      query<SessionRow>(Q.chunkSessions, params),
    ]);

    // Exactly-once counts, the first stored copy winning: an id stored more than once (rare) is read
    // in full, each uncancelled copy beyond the first stored is cancelled with its own contents, and
    // the session below is computed from the first stored copy's values, as the views will count it.
    // (Ids whose extra copies are cancelled already are read again while their user is recomputed, for the winner's values.)
    const multi = new Map<string, string>(); // `${user}/${id}` -> user, for ids with more than one positive copy
    for (const u of users) for (const e of u.events) if (Number(e[8]) > 1) multi.set(`${u.user_id}/${e[0]}`, u.user_id);
    const winners = new Map<string, Row>();
    let cancelled = 0;
    if (multi.size) {
      const rows = await query<StoredCopy>(Q.eventCopies, { users: [...new Set(multi.values())], ids: [...new Set([...multi.keys()].map((k) => k.slice(k.indexOf('/') + 1)))] });
      const r = await cancelCopies('user_events_realtime', 'cancel', rows, (row) => `${String(row.user_id)}/${String(row.event_id)}`, (key) => multi.has(key));
      for (const [key, winner] of r.winners) winners.set(key, winner);
      cancelled = r.cancelled;
    }

    const byUser = new Map<string, StoredEvent[]>();
    let late = 0, maxNewMs = 0;
    const lateRows: Row[] = [];
    for (const u of users) {
      const list: StoredEvent[] = [];
      for (const [id, type, ts, page, price, qty, tier, net, , isNew] of u.events) {
        if (Number(net) <= 0) continue;
        const w = winners.get(`${u.user_id}/${id}`);
        const e: StoredEvent = w
          ? { event_id: id, user_id: u.user_id, user_tier: String(w.user_tier), event_type: w.event_type as EventType, timestampMs: chMs(String(w.timestamp)), page_url: String(w.page_url), price: String(w.price), quantity: Number(w.quantity) }
          : { event_id: id, user_id: u.user_id, user_tier: tier, event_type: type, timestampMs: Number(ts), page_url: page, price, quantity: Number(qty) };
        list.push(e);
        if (Number(isNew) && e.timestampMs > maxNewMs) maxNewMs = e.timestampMs;
        if (Number(isNew) && e.timestampMs < watermark) {
          late++;
          lateRows.push({ event_id: id, user_id: u.user_id, timestamp: new Date(e.timestampMs).toISOString(), watermark: new Date(watermark).toISOString(), lateness_ms: watermark - e.timestampMs, seen_at: new Date(now).toISOString() });
        }
      }
      byUser.set(u.user_id, list);
    }
    if (late) {
      metrics.lateEvents.inc(late);
      await insert('late_events', lateRows);
    }

    const storedByUser = new Map<string, SessionRow[]>();
    for (const s of stored) storedByUser.set(s.user_id, [...(storedByUser.get(s.user_id) ?? []), normalize(s)]);
    const v = nextVersion(now);
    const writes: SessionRow[] = [];
    for (const [user, events] of byUser) {
      const next = splitSessions(events, gap).map((s) => sessionRow(s, isClosed(s, watermark, gap), v));
      writes.push(...diffSessions(next, storedByUser.get(user) ?? [], v));
    }
    for (const r of writes) if (r.is_closed && !r.is_deleted) metrics.sessionsClosed.inc({ trigger: r.closed_by });
    await insert('user_sessions_realtime', writes, `sessions:${v}`);
    return { written: writes.length, cancelled, late, maxNewMs };
  }

  /** Sessions whose user went quiet: the watermark alone closes them. */
  async function closeExpired(now: number) {
    const rows = await query<SessionRow>(Q.expired, { watermark: ch64(state!.watermarkMs), gap });
    if (!rows.length) return 0;
    const v = nextVersion(now);
    const writes = rows.map((r) => {
      const s = normalize(r);
      return { ...s, is_closed: 1, closed_by: (s.event_type_counts.logout ?? 0) > 0 ? 'logout' : 'timeout', version: v };
    });
    for (const r of writes) metrics.sessionsClosed.inc({ trigger: r.closed_by });
    await insert('user_sessions_realtime', writes, `close:${v}`);
    return writes.length;
  }

  /**
   * Cancels every uncancelled copy beyond the first stored of each id (functions/steps/copies.ts),
   * in one insert. Its token names every row the decision was made on, so a rerun (or a second
   * sessionizer) that sees the same copies and cancels re-sends the same token and cannot cancel
   * twice; one that sees the cancels already stored has nothing left to cancel.
   */
  async function cancelCopies(table: string, kind: string, rows: StoredCopy[], keyOf: (row: StoredCopy) => string, wanted: (key: string) => boolean = () => true) {
    const byKey = new Map<string, StoredCopy[]>();
    for (const row of rows) {
      const key = keyOf(row);
      if (wanted(key)) byKey.set(key, [...(byKey.get(key) ?? []), row]);
    }
    const winners = new Map<string, Row>();
    const cancels: Row[] = [];
    const seen: string[] = [];
    for (const [key, copies] of byKey) {
      const r = resolveCopies(copies);
      if (!r) continue;
      winners.set(key, r.winner);
      if (r.firstCancelled) log.warn({ table, key }, 'the first stored copy was cancelled before the first-stored rule; the first one left counts');
      if (!r.cancels.length) continue;
      cancels.push(...r.cancels);
      seen.push(`${key}=${r.seen}`);
    }
    if (cancels.length) {
      await insert(table, cancels, `${kind}:${createHash('sha256').update(seen.sort().join(',')).digest('hex')}`);
      metrics.duplicatesDropped.inc(cancels.length);
      log.info({ table, ids: seen.length, cancelled: cancels.length }, 'cancelled duplicate copies (the first stored copy counts)');
    }
    return { winners, cancelled: cancels.length };
  }

  async function cancelDuplicateTransactions(since: number, until: number) {
    const rows = await query<StoredCopy>(Q.duplicateTransactions, { since: ch64(since), until: ch64(until) });
    return rows.length ? (await cancelCopies('transactions_realtime', 'cancel-tx', rows, (row) => String(row.transaction_id))).cancelled : 0;
  }

  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = false;
  return {
    /** One run now (or at `now`, for tests and benchmarks); a run already going is shared, not doubled. */
    runOnce: (now?: number) => (running ??= runOnce(now).finally(() => { running = undefined; })) as Promise<Awaited<ReturnType<typeof runOnce>>>,
    /** Runs every `intervalMs` until stopped; a failed run is logged and retried next time. */
    start(intervalMs: number) {
      const tick = async () => {
        try {
          await this.runOnce();
        } catch (err) {
          log.warn({ err: (err as Error).message }, 'sessionizer run failed; retrying');
        }
        if (!stopped) timer = setTimeout(tick, intervalMs);
      };
      stopped = false;
      timer = setTimeout(tick, intervalMs);
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
    get watermarkMs() { return state?.watermarkMs ?? 0; },
  };
}

/** ClickHouse returns times as 'YYYY-MM-DD hh:mm:ss.sss' and counts as strings; rows we write use ISO and numbers. */
function normalize(r: SessionRow): SessionRow {
  const iso = (t: string) => (t.includes('T') ? t : `${t.replace(' ', 'T')}Z`);
  const counts: Record<string, number> = {};
  for (const [k, v] of Object.entries(r.event_type_counts ?? {})) counts[k] = Number(v);
  return {
    ...r, start_time: new Date(iso(r.start_time)).toISOString(), end_time: new Date(iso(r.end_time)).toISOString(),
    duration_ms: Number(r.duration_ms), event_count: Number(r.event_count), event_type_counts: counts, page_views: Number(r.page_views),
    purchases: Number(r.purchases), converted: Number(r.converted), is_closed: Number(r.is_closed), is_deleted: Number(r.is_deleted), version: Number(r.version),
  };
}
export type Sessionizer = ReturnType<typeof createSessionizer>;
