import { sessionId } from '../core/ids.js';
import { fromCents, toCents } from '../core/money.js';
import { EVENT_TYPES, FUNNEL_STEPS, type EventType } from '../schemas/events.js';

/**
 * Sessionization as pure functions over a user's stored events. A user's events in event-time
 * order (ties by event id) form one session until more than `gapMs` passes without an event, or
 * until a logout, and lasts at most `maxDurationMs` (an event that late starts the next session).
 * A session's id is a UUIDv5 of (user, start), so the same events give the same
 * sessions whichever replica stored them, in whatever order, however often they were recomputed.
 */
export type StoredEvent = {
  event_id: string; user_id: string; user_tier: string; event_type: EventType; timestampMs: number;
  page_url: string; price: string; quantity: number;
  /** When this copy was stored (ms), where known: a re-read of the same row is recognised by it. */
  storedMs?: number;
};

/** The numbers that shape sessions: the inactivity gap and the longest a session may last. */
export type SessionRules = { gapMs: number; maxDurationMs: number };
export const DEFAULT_MAX_DURATION_MS = 24 * 3600_000;
export const DEFAULT_GAP_MS = 30 * 60_000;

export type Session = {
  session_id: string; user_id: string; user_tier: string; startMs: number; endMs: number; count: number;
  typeCounts: Record<EventType, number>; revenueCents: number; entryPage: string; exitPage: string; endedByLogout: boolean;
  /** Ordered funnel: how many of FUNNEL_STEPS were reached in order, and when the last of them was. */
  funnelStep: number; funnelAtMs: number;
  /** The last event in order (ties by id), so an event can be told to come after it. */
  lastId: string;
};

export const byEventTime = (a: StoredEvent, b: StoredEvent) => a.timestampMs - b.timestampMs || (a.event_id < b.event_id ? -1 : a.event_id > b.event_id ? 1 : 0);

/** A literal, so every session's counts share one hidden class (built from entries, each was a dictionary). */
const zeroCounts = (): Record<EventType, number> => ({
  page_view: 0, product_view: 0, search: 0, add_to_cart: 0, purchase: 0, remove_from_cart: 0, checkout_start: 0, login: 0, logout: 0,
});

/** A copy of `c` with the literal's shape (a spread copy is a dictionary-like shape of its own). */
export const copyCounts = (c: Record<EventType, number>): Record<EventType, number> => ({
  page_view: c.page_view ?? 0, product_view: c.product_view ?? 0, search: c.search ?? 0, add_to_cart: c.add_to_cart ?? 0, purchase: c.purchase ?? 0,
  remove_from_cart: c.remove_from_cart ?? 0, checkout_start: c.checkout_start ?? 0, login: c.login ?? 0, logout: c.logout ?? 0,
});

/** Whether `e`, the next event in order after `cur`'s last, starts a new session. */
export function startsNewSession(cur: Session, e: StoredEvent, rules: SessionRules): boolean {
  return cur.endedByLogout || e.timestampMs - cur.endMs > rules.gapMs || e.timestampMs - cur.startMs >= rules.maxDurationMs;
}

export function openSession(e: StoredEvent): Session {
  return {
    session_id: sessionId(e.user_id, e.timestampMs), user_id: e.user_id, user_tier: e.user_tier, startMs: e.timestampMs, endMs: e.timestampMs,
    count: 0, typeCounts: zeroCounts(), revenueCents: 0,
    entryPage: e.page_url, exitPage: e.page_url, endedByLogout: false, funnelStep: 0, funnelAtMs: e.timestampMs, lastId: e.event_id,
  };
}

/** Adds `e`, which comes after every event of `cur` in order, to it (in place). */
export function foldEvent(cur: Session, e: StoredEvent): void {
  cur.endMs = e.timestampMs;
  cur.lastId = e.event_id;
  cur.exitPage = e.page_url;
  cur.user_tier = e.user_tier;
  cur.count++;
  cur.typeCounts[e.event_type]++;
  if (e.event_type === 'purchase') cur.revenueCents += toCents(e.price) * e.quantity;
  if (e.event_type === 'logout') cur.endedByLogout = true;
  if (cur.funnelStep < FUNNEL_STEPS.length && e.event_type === FUNNEL_STEPS[cur.funnelStep]) {
    cur.funnelStep++;
    cur.funnelAtMs = e.timestampMs;
  }
}

/** Splits one user's events (any order) into sessions; `visit` sees which session each event went to. */
export function splitSessions(events: readonly StoredEvent[], gapMs: number, maxDurationMs = DEFAULT_MAX_DURATION_MS, visit?: (s: Session, e: StoredEvent) => void): Session[] {
  const rules = { gapMs, maxDurationMs };
  const sorted = [...events].sort(byEventTime);
  const sessions: Session[] = [];
  let cur: Session | undefined;
  for (const e of sorted) {
    if (cur && startsNewSession(cur, e, rules)) {
      sessions.push(cur);
      cur = undefined;
    }
    cur ??= openSession(e);
    foldEvent(cur, e);
    visit?.(cur, e);
  }
  if (cur) sessions.push(cur);
  return sessions;
}

/**
 * A session has certainly ended once the watermark passes its logout, its end plus the gap, or its
 * start plus the longest duration (every event still to come is at or past the watermark).
 */
export function isClosed(s: Pick<Session, 'startMs' | 'endMs' | 'endedByLogout'>, watermarkMs: number, gapMs: number, maxDurationMs = DEFAULT_MAX_DURATION_MS): boolean {
  return s.endedByLogout ? s.endMs < watermarkMs : s.endMs + gapMs < watermarkMs || s.startMs + maxDurationMs <= watermarkMs;
}

/** What ended a closed session: its logout, or whichever of the gap and the longest duration came first. */
export function closedBy(s: Pick<Session, 'startMs' | 'endMs' | 'endedByLogout'>, gapMs: number, maxDurationMs = DEFAULT_MAX_DURATION_MS): 'logout' | 'timeout' | 'max_duration' {
  return s.endedByLogout ? 'logout' : s.startMs + maxDurationMs <= s.endMs + gapMs ? 'max_duration' : 'timeout';
}

export type SessionRow = {
  session_id: string; user_id: string; user_tier: string; start_time: string; end_time: string;
  duration_ms: number; event_count: number; event_type_counts: Record<string, number>;
  page_views: number; purchases: number; revenue: string; converted: number;
  entry_page: string; exit_page: string; is_closed: number; closed_by: string; is_deleted: number; version: number;
  funnel_step: number; funnel_ms: number;
};

export function sessionRow(s: Session, closed: boolean, version: number, rules?: SessionRules): SessionRow {
  return {
    session_id: s.session_id, user_id: s.user_id, user_tier: s.user_tier,
    start_time: new Date(s.startMs).toISOString(), end_time: new Date(s.endMs).toISOString(),
    duration_ms: s.endMs - s.startMs, event_count: s.count, event_type_counts: copyCounts(s.typeCounts),
    page_views: s.typeCounts.page_view, purchases: s.typeCounts.purchase, revenue: fromCents(s.revenueCents),
    converted: s.typeCounts.purchase > 0 ? 1 : 0, entry_page: s.entryPage, exit_page: s.exitPage,
    is_closed: closed ? 1 : 0, closed_by: closed ? closedBy(s, rules?.gapMs ?? DEFAULT_GAP_MS, rules?.maxDurationMs) : '', is_deleted: 0, version,
    funnel_step: s.funnelStep, funnel_ms: s.funnelStep ? s.funnelAtMs - s.startMs : 0,
  };
}

/** The fields that make two versions of a session the same (version aside). */
const SAME = (r: SessionRow) => JSON.stringify([r.user_tier, r.start_time, r.end_time, r.event_count, EVENT_TYPES.map((t) => r.event_type_counts[t] ?? 0), r.revenue, r.entry_page, r.exit_page, r.is_closed, r.closed_by, r.funnel_step ?? 0, r.funnel_ms ?? 0]);

/**
 * What to write so the stored sessions of a user (from `fromMs` on) become `next`: changed or new
 * sessions, and a tombstone for each stored id that no longer exists.
 */
export function diffSessions(next: readonly SessionRow[], stored: readonly SessionRow[], version: number): SessionRow[] {
  const before = new Map(stored.map((r) => [r.session_id, r]));
  const out: SessionRow[] = [];
  for (const r of next) {
    const old = before.get(r.session_id);
    before.delete(r.session_id);
    if (!old || SAME(old) !== SAME(r)) out.push({ ...r, version });
  }
  for (const gone of before.values()) out.push({ ...gone, is_deleted: 1, version });
  return out;
}

/**
 * The watermark: the greatest event time seen minus the allowed lateness; once no new event has
 * been stored for `idleTimeoutMs`, the wall clock minus the lateness, so the last sessions close.
 * It never moves back.
 */
export function nextWatermark(p: { previousMs: number; maxEventMs: number; lastNewDataWallMs: number; nowWallMs: number; allowedLatenessMs: number; idleTimeoutMs: number }): number {
  let w = p.maxEventMs - p.allowedLatenessMs;
  if (p.nowWallMs - p.lastNewDataWallMs >= p.idleTimeoutMs) w = Math.max(w, p.nowWallMs - p.allowedLatenessMs);
  return Math.max(p.previousMs, w);
}
