import { setImmediate as yieldTurn } from 'node:timers/promises';
import { TupleParam, type ClickHouseClient } from '@clickhouse/client';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import type { EventType } from '../schemas/events.js';
import type { StoredCopy } from '../steps/copies.js';
import { decodeOpen, encodeOpen, placeEvents, rowKey, type OpenSession } from '../steps/open-sessions.js';
import { DEFAULT_MAX_DURATION_MS, isClosed, nextWatermark, sessionRow, type SessionRow, type StoredEvent } from '../steps/sessionize.js';
import { recomputeUsers } from './recompute.js';
import { GONE, loadSnapshot, snapshotIsFull, storedGenerations, writeSnapshot, type Chain, type Progress } from './snapshot.js';
import type { Block, SeenRows } from './seen-rows.js';
import { createDueIndex, type DueIndex } from './due-index.js';
import { ch64, createSessionStore } from './store.js';

/**
 * The sessionizer: one writer that derives `user_sessions_realtime` from the stored events, so
 * sessions come out the same whichever ingest replica stored an event, in whatever order, with
 * however many restarts. Each run costs what its new rows and the sessions they touch cost, not
 * what history holds:
 * - the new rows come from the inbox (a copy of every stored row keyed by stored_at), a range read,
 *   with an overlap before the cursor since a slow insert can become visible late; the overlap's
 *   blocks already read are left out by ClickHouse, so JavaScript parses only new rows;
 * - each user's open sessions are held in memory and the new rows are folded into them in order
 *   (functions/steps/open-sessions.ts); closed sessions are written once and never read again;
 * - between runs a user's open sessions are kept encoded (the snapshot's compact text, ~250 B for a
 *   visit of ten events): one string for the GC to mark instead of ~9 objects, so a heap of a million
 *   open sessions costs no long pauses; a run decodes the users it touches (~5 µs) and encodes them
 *   again once written;
 * - a user whose rows cannot be folded in order (late, out of order, a second copy) is recomputed
 *   from the stored events from the start of the session the rows land in (./recompute.ts);
 * - the open sessions are snapshotted to ClickHouse every few minutes, as the users changed since
 *   the last snapshot (./snapshot.ts); a restart loads the newest snapshot and replays the inbox
 *   from its cursor. Writes are idempotent (deterministic ids, rows versioned), so a replay, a
 *   crash between two writes, or a second sessionizer during a rollout cannot make a session wrong.
 *
 * It also makes the counts exact under at-least-once delivery: an event or transaction stored more
 * than once counts as its first stored copy; every other copy gets a cancelling row (sign = -1).
 */
export type SessionizerOptions = Pick<Config, 'CLICKHOUSE_DATABASE' | 'SESSION_GAP_MS' | 'ALLOWED_LATENESS_MS' | 'IDLE_TIMEOUT_MS'>
  & Partial<Pick<Config, 'SESSIONIZER_CHUNK_USERS' | 'SESSION_MAX_DURATION_MS' | 'SESSIONIZER_SNAPSHOT_MS'>> & {
  /** Rows stored less than this long ago are left for the next run (an insert may still be landing). */
  settleMs?: number;
  /** How far before the cursor each run reads again. */
  overlapMs?: number;
  /** Inbox rows one run takes at most (a backlog is worked off over several runs). */
  maxRowsPerRun?: number;
};

/** Users folded between two turns of the event loop, and session rows per insert. */
const YIELD_EVERY = 2_000;
const WRITE_CHUNK = 10_000;

type InboxRow = [user: string, id: string, type: EventType, ts: number, page: string, price: string, qty: number, tier: string, stored: number, block: number];

/**
 * `snapshotCh`: a connection of the snapshots' own. An embedded connection runs one statement at a
 * time, and on the runs' connection each of a snapshot's inserts held a run's reads for up to a
 * second (bench/snapshot-stall.ts).
 */
export function createSessionizer(opts: SessionizerOptions, deps: { ch: ClickHouseClient; snapshotCh?: ClickHouseClient; metrics: Metrics; log: Logger }) {
  const { metrics, log } = deps;
  const store = createSessionStore(opts.CLICKHOUSE_DATABASE, deps);
  const snapshots = deps.snapshotCh ? createSessionStore(opts.CLICKHOUSE_DATABASE, { ...deps, ch: deps.snapshotCh }) : store;
  const rules = { gapMs: opts.SESSION_GAP_MS, maxDurationMs: opts.SESSION_MAX_DURATION_MS ?? DEFAULT_MAX_DURATION_MS };
  const settleMs = opts.settleMs ?? 1_000;
  const overlapMs = opts.overlapMs ?? 10_000;
  const chunkUsers = opts.SESSIONIZER_CHUNK_USERS ?? 10_000;
  const snapshotMs = opts.SESSIONIZER_SNAPSHOT_MS ?? 300_000;
  const maxRows = opts.maxRowsPerRun ?? 200_000;
  /**
   * `open`: each user's open sessions, encoded (encodeOpen); `changed`: the users whose entry of
   * `open` changed since the last snapshot; `chain`: the generations of the newest snapshot.
   */
  type State = {
    progress: Progress; open: Map<string, string>; changed: Set<string>; chain: Chain; due: DueIndex; openCount: number; seen: SeenRows; blockNumbers: boolean;
    lastNewDataWallMs: number; lastSnapshotWallMs: number;
  };
  let state: State | undefined;
  let version = 0;
  const nextVersion = (now: number) => now * 1000 + (version++ % 1000);

  async function load(now: number): Promise<State> {
    const t0 = performance.now();
    const { progress, open, seen, chain, complete } = await loadSnapshot(store);
    if (!complete) log.error('no complete sessionizer snapshot could be read (a newer one dropped it each time); replaying the whole inbox');
    const [b] = await store.query<{ n: string }>('inboxBlockNumbers', { database: opts.CLICKHOUSE_DATABASE });
    const blockNumbers = Number(b?.n) > 0;
    let openCount = 0;
    const due = createDueIndex(rules);
    for (const user of open.keys()) {
      const list = openOf(open, user);
      openCount += list.length;
      due.file(user, list);
    }
    log.info({ users: open.size, sessions: openCount, generations: chain.generations.length, cursor: new Date(progress.cursorMs).toISOString(), blockNumbers, ms: Math.round(performance.now() - t0) }, 'sessionizer state loaded');
    // `now` may be a test's or a bench's clock; snapshots go by the wall clock.
    return { progress, open, changed: new Set(), chain, due, openCount, seen, blockNumbers, lastNewDataWallMs: now, lastSnapshotWallMs: Date.now() };
  }

  /** One pass; answers what it did. */
  async function runOnce(now = Date.now()) {
    const t0 = performance.now();
    const s = (state ??= await load(now));
    const p = s.progress;
    let until = now - settleMs;
    const since = Math.max(0, p.cursorMs - overlapMs);
    const watermark = p.watermarkMs;

    // Only on an inbox that keeps block numbers through merges: elsewhere a merged part's one number could leave out unseen rows.
    const seenBlocks = s.blockNumbers ? s.seen.blocks().map((x) => new TupleParam(x)) : [];
    const read = (limit: number) => (until > since ? store.queryCompact<InboxRow>('inbox', { since: ch64(since), until: ch64(until), limit, seen: seenBlocks }) : Promise.resolve([]));
    let limit = maxRows;
    let rows = await read(limit);
    // A run ends between two milliseconds of stored_at: one millisecond holding more rows than a run takes (a bulk insert) is read whole.
    while (rows.length === limit && rows[0]![8] === rows[rows.length - 1]![8]) rows = await read((limit *= 2));
    const tRead = performance.now();
    if (rows.length === limit) until = rows[rows.length - 1]![8] - 1; // the rest of that millisecond comes next run
    const byUser = new Map<string, StoredEvent[]>();
    const keys: string[] = [];
    const blocks: Block[] = [];
    const blockSeen = new Set<string>();
    let maxNew = 0;
    for (const [user, id, type, ts, page, price, qty, tier, stored, block] of rows) {
      if (stored > until) continue;
      // Rows come by stored_at: a block's rows of one stored_at mostly follow one another.
      const last = blocks[blocks.length - 1];
      if (s.blockNumbers && (!last || last[0] !== block || last[1] !== stored) && !blockSeen.has(`${block}@${stored}`)) {
        blockSeen.add(`${block}@${stored}`);
        blocks.push([block, stored]);
      }
      // A row of a block not left out (a late insert, or no block numbers) may still be one read before.
      const key = rowKey({ event_id: id, storedMs: stored });
      if (stored <= p.cursorMs && s.seen.has(key)) continue;
      let list = byUser.get(user);
      if (!list) byUser.set(user, (list = []));
      list.push({ event_id: id, user_id: user, user_tier: tier, event_type: type, timestampMs: ts, page_url: page, price, quantity: qty, storedMs: stored });
      keys.push(key);
      if (stored > p.cursorMs && ts > maxNew) maxNew = ts;
    }

    // Memory changes wait in `next` until the sessions are written: a failed run leaves memory as it was.
    // `before`: how many open sessions each user of `next` had.
    const next = new Map<string, OpenSession[]>();
    const before = new Map<string, number>();
    const v = nextVersion(now);
    const writes = new Map<string, SessionRow>();
    const recompute = new Map<string, number>();
    const fresh: number[] = [];
    const lateRows: Record<string, unknown>[] = [];
    let n = 0;
    for (const [user, events] of byUser) {
      // The sessionizer may share its process with ingest (npm start): give the event loop a turn.
      if (++n % YIELD_EVERY === 0) await yieldTurn();
      const open = openOf(s.open, user);
      const r = placeEvents(open, events, watermark, rules);
      before.set(user, open.length);
      if (r.kind === 'folded') {
        if (!r.changed.length) continue;
        next.set(user, r.open);
        for (const x of r.changed) writes.set(x.session_id, sessionRow(x, false, v, rules));
        for (const e of r.folded) if (e.storedMs! > p.cursorMs) fresh.push(e.storedMs!);
        continue;
      }
      let from = open[0]?.startMs ?? Infinity;
      for (const e of events) {
        from = Math.min(from, e.timestampMs);
        if (e.storedMs! <= p.cursorMs) continue;
        fresh.push(e.storedMs!);
        if (e.timestampMs < watermark) {
          lateRows.push({ event_id: e.event_id, user_id: user, timestamp: new Date(e.timestampMs).toISOString(), watermark: new Date(watermark).toISOString(), lateness_ms: watermark - e.timestampMs, seen_at: new Date(now).toISOString() });
        }
      }
      recompute.set(user, from);
    }
    const tFold = performance.now();
    let cancelled = 0;
    if (recompute.size) {
      const r = await recomputeUsers(store, recompute, { rules, watermarkMs: watermark, chunkUsers, version: v });
      for (const w of r.writes) writes.set(w.session_id, w);
      for (const [user, list] of r.open) next.set(user, list);
      cancelled += r.cancelled;
    }
    if (lateRows.length) {
      metrics.lateEvents.inc(lateRows.length);
      await store.insert('late_events', lateRows);
    }
    cancelled += await cancelDuplicateTransactions(since, until);

    const progress = { ...p, maxEventMs: Math.max(p.maxEventMs, maxNew) };
    const lastNewDataWallMs = maxNew > 0 && until > p.cursorMs ? now : s.lastNewDataWallMs;
    progress.watermarkMs = nextWatermark({ previousMs: p.watermarkMs, maxEventMs: progress.maxEventMs, lastNewDataWallMs, nowWallMs: now, allowedLatenessMs: opts.ALLOWED_LATENESS_MS, idleTimeoutMs: opts.IDLE_TIMEOUT_MS });
    const closing = closeExpired(s, next, before, progress.watermarkMs, writes, v);

    const out = [...writes.values()];
    const tWrite = performance.now();
    try {
      for (let i = 0; i < out.length; i += WRITE_CHUNK) {
        await store.insertSessions(out.slice(i, i + WRITE_CHUNK), `sessions:${v}:${i}`);
      }
    } catch (err) {
      // Memory stays as it was: the users the due index handed out are filed again for the next run.
      for (const user of closing.handed) s.due.file(user, openOf(s.open, user));
      throw err;
    }
    const doneMs = Date.now();
    const tWritten = performance.now();
    // Written: now memory, progress and the rows seen move on.
    for (const [user, list] of next) {
      if (list.length) s.open.set(user, encodeOpen(list));
      else s.open.delete(user);
      s.changed.add(user);
      s.due.file(user, list);
    }
    for (const [user, list] of closing.unchanged) s.due.file(user, list);
    s.openCount += closing.delta;
    const phases = { read: Math.round(tRead - t0), fold: Math.round(tFold - tRead), recompute_and_tx: Math.round(tWrite - tFold), write: Math.round(tWritten - tWrite), encode: Math.round(performance.now() - tWritten) };
    s.lastNewDataWallMs = lastNewDataWallMs;
    progress.cursorMs = Math.max(p.cursorMs, until);
    s.progress = progress;
    s.seen.add(keys, until, blocks);
    s.seen.forgetBefore(progress.cursorMs - overlapMs);
    for (const stored of fresh) metrics.sessionFreshness.observe((doneMs - stored) / 1000);
    for (const r of out) if (r.is_closed && !r.is_deleted) metrics.sessionsClosed.inc({ trigger: r.closed_by });
    await store.insert('sessionizer_state', [{ name: 'main', cursor: new Date(progress.cursorMs).toISOString(), max_event: new Date(progress.maxEventMs).toISOString(), watermark: new Date(progress.watermarkMs).toISOString(), updated_at: new Date(now).toISOString() }]);
    // Written beside the next runs, not inside this one: encoding every open session takes a while.
    if (doneMs - s.lastSnapshotWallMs >= snapshotMs && !snapshotting) {
      s.lastSnapshotWallMs = doneMs;
      snapshotting = snapshot(s, v).catch(() => {
        s.lastSnapshotWallMs = 0; // the next run tries again
      }).finally(() => { snapshotting = undefined; });
    }

    metrics.openSessions.set(s.openCount);
    metrics.watermark.set(progress.watermarkMs / 1000);
    metrics.sessionsCompleteUntil.set(progress.cursorMs / 1000);
    const ms = performance.now() - t0;
    metrics.sessionizerRunDuration.observe(ms / 1000);
    const users = byUser.size;
    if (users || writes.size || cancelled) log.debug({ rows: rows.length, blocks: seenBlocks.length, users, recomputed: recompute.size, written: out.length, cancelled, late: lateRows.length, open: s.openCount, users_open: s.open.size, ms: Math.round(ms), phases }, 'sessionizer run');
    return { read: rows.length, users, recomputed: recompute.size, written: out.length, cancelled, late: lateRows.length, open: s.openCount, watermarkMs: progress.watermarkMs, cursorMs: progress.cursorMs, ms: Math.round(ms) };
  }

  /**
   * Every open session the watermark has passed is written closed and leaves memory (through
   * `next`, applied once written). Only the users the due index hands out, and those this run
   * changed, are looked at. Answers how the count of open sessions changes, the users handed out,
   * and those of them that keep their sessions as they were (to be filed again).
   */
  function closeExpired(s: State, next: Map<string, OpenSession[]>, before: ReadonlyMap<string, number>, w: number, writes: Map<string, SessionRow>, v: number) {
    let delta = 0;
    const unchanged: [string, OpenSession[]][] = [];
    const closes = (x: OpenSession) => isClosed(x, w, rules.gapMs, rules.maxDurationMs);
    const keepOpen = (list: OpenSession[]) => (list.some(closes) ? list.filter((x) => (closes(x) ? (writes.set(x.session_id, sessionRow(x, true, v, rules)), false) : true)) : list);
    for (const [user, list] of next) {
      const keep = keepOpen(list);
      next.set(user, keep);
      delta += keep.length - (before.get(user) ?? 0);
    }
    const handed = s.due.take(w);
    for (const user of handed) {
      if (next.has(user) || !s.open.has(user)) continue;
      const list = openOf(s.open, user);
      const keep = keepOpen(list);
      if (keep === list) unchanged.push([user, list]);
      else next.set(user, keep);
      delta += keep.length - list.length;
    }
    return { delta, unchanged, handed };
  }

  /** A user's open sessions, decoded (a new list: the caller may keep it). */
  function openOf(open: ReadonlyMap<string, string>, user: string): OpenSession[] {
    const encoded = open.get(user);
    return encoded === undefined ? [] : decodeOpen(user, encoded);
  }

  /**
   * Writes a snapshot of `s` (every user, or the users changed since the last one) beside the runs
   * that follow, one insert at a time between them: at 10,000 events/s a full snapshot of 400,000
   * users written at once took 16-33 s of the cores the runs needed, and runs fell behind by a minute
   * (bench/RESULTS.md). Its rows are taken at once, between two runs' changes (a run changes memory, progress
   * and the rows read in one synchronous step, and replaces a user's encoded string, so copying the
   * entries is enough). If it fails, its users count as changed again.
   */
  async function snapshot(s: State, generation: number) {
    const t0 = performance.now();
    let changed = new Set<string>();
    try {
      const stored = await storedGenerations(snapshots);
      changed = s.changed;
      s.changed = new Set();
      const full = snapshotIsFull(s.chain, stored, changed.size, s.open.size);
      const users: [string, string][] = full ? [...s.open] : [...changed].map((u) => [u, s.open.get(u) ?? GONE]);
      s.chain = await writeSnapshot(snapshots, { users, full, seen: s.seen.toJSON(), progress: { ...s.progress } }, generation, s.chain, stored, betweenRuns);
      log.info({ users: users.length, full, generations: s.chain.generations.length, ms: Math.round(performance.now() - t0) }, 'sessionizer snapshot written');
    } catch (err) {
      for (const u of changed) s.changed.add(u);
      log.warn({ err: (err as Error).message }, 'sessionizer snapshot failed; retrying after the next run');
      throw err;
    }
  }

  async function cancelDuplicateTransactions(since: number, until: number) {
    const rows = await store.query<StoredCopy>('duplicateTransactions', { since: ch64(since), until: ch64(until) });
    return rows.length ? (await store.cancelCopies('transactions_realtime', 'cancel-tx', rows, (row) => String(row.transaction_id))).cancelled : 0;
  }

  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let snapshotting: Promise<void> | undefined;
  let stopped = false;
  /** Resolves once no run is going (a snapshot's next insert waits for it). */
  const betweenRuns = async () => {
    while (running) await running.catch(() => undefined);
  };
  const shared = (work: () => Promise<unknown>) => (running ??= work().finally(() => { running = undefined; }));
  return {
    /** One run now (or at `now`, for tests and benchmarks); a run already going is shared, not doubled. */
    runOnce: (now?: number) => shared(() => runOnce(now)) as Promise<Awaited<ReturnType<typeof runOnce>>>,
    /**
     * Starts a run every `intervalMs` (from one start to the next, so a run's own time does not add
     * to the wait of the rows it leaves for the next; a run longer than that is followed at once),
     * until stopped; a failed run is logged and retried next time.
     */
    start(intervalMs: number) {
      const tick = async () => {
        const started = Date.now();
        try {
          await this.runOnce();
        } catch (err) {
          log.warn({ err: (err as Error).message }, 'sessionizer run failed; retrying');
        }
        if (!stopped) timer = setTimeout(tick, Math.max(0, started + intervalMs - Date.now()));
      };
      stopped = false;
      timer = setTimeout(tick, intervalMs);
    },
    /** Stops the timer and, if it has state, writes a snapshot so the next start replays little. */
    async stop(opts: { snapshot?: boolean } = {}) {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
      await snapshotting;
      if (opts.snapshot && state) await snapshot(state, nextVersion(Date.now())).catch(() => undefined);
    },
  };
}

export type Sessionizer = ReturnType<typeof createSessionizer>;
