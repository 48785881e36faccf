import { sessionId } from '../core/ids.js';
import { fromCents, toCents } from '../core/money.js';
import { EVENT_TYPES, type EventType, type UserEvent } from '../schemas/events.js';

/**
 * Event-time sessionization for one replica. A user's session runs until `gapMs` passes without an
 * event, or until a logout. Events may arrive out of order: one within `gapMs` of the open session
 * extends it on either side. The watermark (max event time minus the allowed lateness, or the wall
 * clock minus it once the stream has been idle) decides when a session has certainly ended.
 * Session ids are derived from (user, start) when a session is written, so they do not depend on
 * arrival order; a session whose start moved since its last checkpoint gets a tombstone for the old id.
 */
export type SessionizerOptions = { gapMs: number; allowedLatenessMs: number; idleTimeoutMs: number };

const TYPE_INDEX = Object.fromEntries(EVENT_TYPES.map((t, i) => [t, i])) as Record<EventType, number>;

type OpenSession = {
  userId: string; tier: string; startMs: number; endMs: number; count: number;
  typeCounts: Uint32Array; revenueCents: number;
  entryPage: string; entryKey: string; exitPage: string; exitKey: string;
  endedByLogout: boolean; writtenId: string | undefined;
};

export type SessionRow = {
  session_id: string; user_id: string; user_tier: string; start_time: string; end_time: string;
  duration_ms: number; event_count: number; event_type_counts: Record<string, number>;
  page_views: number; purchases: number; revenue: string; converted: number;
  entry_page: string; exit_page: string; is_closed: number; closed_by: string; is_deleted: number; version: number;
};

export function createSessionizer(opts: SessionizerOptions) {
  const open = new Map<string, OpenSession>();
  // Sessions changed since the last drain, so a drain never has to scan every open session.
  const dirty = new Set<OpenSession>();
  let closedSinceFlush: OpenSession[] = [];
  const closedByUser = new Map<string, OpenSession[]>();
  const pushClosed = (s: OpenSession) => {
    closedSinceFlush.push(s);
    closedByUser.set(s.userId, [...(closedByUser.get(s.userId) ?? []), s]);
  };
  // Closed sessions stay findable for a while: a batch sealed after the drain that wrote them may
  // still hold their events.
  const RETAIN_CLOSED_MS = 120_000;
  let retained = new Map<string, { at: number; s: OpenSession }[]>();
  const findIn = (list: Iterable<OpenSession>, t: number) => {
    for (const c of list) if (t >= c.startMs && t <= c.endMs) return sessionId(c.userId, c.startMs);
    return undefined;
  };
  let maxEventMs = 0;
  let lastEventWallMs = 0;
  let watermarkMs = 0;
  let version = 0;

  const sortKey = (e: UserEvent) => `${e.timestamp}|${e.event_id}`;

  function newSession(e: UserEvent, tier: string, t: number): OpenSession {
    return {
      userId: e.user_id, tier, startMs: t, endMs: t, count: 0, typeCounts: new Uint32Array(EVENT_TYPES.length), revenueCents: 0,
      entryPage: e.page_url ?? '', entryKey: sortKey(e), exitPage: e.page_url ?? '', exitKey: sortKey(e),
      endedByLogout: false, writtenId: undefined,
    };
  }

  function close(s: OpenSession) {
    open.delete(s.userId);
    pushClosed(s);
  }

  return {
    /** Adds one event; answers whether it arrived behind the watermark (late). */
    observe(e: UserEvent, tier: string, nowWallMs: number): { late: boolean } {
      const t = Date.parse(e.timestamp);
      const late = t < watermarkMs;
      lastEventWallMs = nowWallMs;
      if (t > maxEventMs) maxEventMs = t;
      let s = open.get(e.user_id);
      if (s && (t > s.endMs + opts.gapMs || (s.endedByLogout && t > s.endMs))) {
        close(s);
        s = undefined;
      }
      if (s && t < s.startMs - opts.gapMs) {
        // Further behind the open session than the gap: a session of its own (such an event is late).
        pushClosed(newSessionWith(e, tier, t));
        return { late };
      }
      if (!s) open.set(e.user_id, (s = newSession(e, tier, t)));
      addTo(s, e, t);
      return { late };
    },

    /** The watermark now: event time minus the allowed lateness, following the wall clock when idle. */
    advance(nowWallMs: number) {
      let w = maxEventMs - opts.allowedLatenessMs;
      if (lastEventWallMs && nowWallMs - lastEventWallMs >= opts.idleTimeoutMs) w = Math.max(w, nowWallMs - opts.allowedLatenessMs);
      if (w > watermarkMs) watermarkMs = w;
      for (const s of open.values()) if ((s.endedByLogout && s.endMs < watermarkMs) || s.endMs + opts.gapMs < watermarkMs) close(s);
      return watermarkMs;
    },

    /** The id of the session that holds `(user, t)` among the open and just-closed sessions. */
    sessionIdFor(userId: string, t: number): string | undefined {
      const s = open.get(userId);
      if (s && t >= s.startMs && t <= s.endMs) return sessionId(userId, s.startMs);
      return findIn(closedByUser.get(userId) ?? [], t) ?? findIn((retained.get(userId) ?? []).map((r) => r.s), t);
    },

    /** Rows for user_sessions_realtime: every session closed, changed or renamed since the last call. */
    drain(nowWallMs: number): SessionRow[] {
      const rows: SessionRow[] = [];
      const v = () => nowWallMs * 1000 + (version++ % 1000);
      const emit = (s: OpenSession, closed: boolean) => {
        const id = sessionId(s.userId, s.startMs);
        if (s.writtenId && s.writtenId !== id) rows.push({ ...toRow(s, s.writtenId, closed, v()), is_deleted: 1 });
        rows.push(toRow(s, id, closed, v()));
        s.writtenId = id;
      };
      for (const s of closedSinceFlush) emit(s, true);
      for (const s of dirty) if (open.get(s.userId) === s) emit(s, false);
      dirty.clear();
      const next = new Map<string, { at: number; s: OpenSession }[]>();
      for (const [user, list] of retained) {
        const keep = list.filter((r) => r.at > nowWallMs - RETAIN_CLOSED_MS);
        if (keep.length) next.set(user, keep);
      }
      for (const c of closedSinceFlush) next.set(c.userId, [...(next.get(c.userId) ?? []), { at: nowWallMs, s: c }]);
      retained = next;
      closedSinceFlush = [];
      closedByUser.clear();
      return rows;
    },

    /** Whether a drain would write anything. */
    get pending() { return closedSinceFlush.length > 0 || dirty.size > 0; },
    get watermarkMs() { return watermarkMs; },
    get openCount() { return open.size; },
  };

  function newSessionWith(e: UserEvent, tier: string, t: number) {
    const s = newSession(e, tier, t);
    addTo(s, e, t);
    return s;
  }

  function addTo(s: OpenSession, e: UserEvent, t: number) {
    const key = sortKey(e);
    if (t < s.startMs) s.startMs = t;
    if (t > s.endMs) s.endMs = t;
    if (key < s.entryKey) { s.entryKey = key; s.entryPage = e.page_url ?? ''; }
    if (key >= s.exitKey) { s.exitKey = key; s.exitPage = e.page_url ?? ''; }
    s.count++;
    s.typeCounts[TYPE_INDEX[e.event_type]]!++;
    if (e.event_type === 'purchase') s.revenueCents += toCents(e.price) * e.quantity;
    if (e.event_type === 'logout') s.endedByLogout = true;
    dirty.add(s);
  }
}

function toRow(s: OpenSession, id: string, closed: boolean, version: number): SessionRow {
  const counts: Record<string, number> = {};
  EVENT_TYPES.forEach((t, i) => { counts[t] = s.typeCounts[i]!; });
  const purchases = counts.purchase ?? 0;
  return {
    session_id: id, user_id: s.userId, user_tier: s.tier,
    start_time: new Date(s.startMs).toISOString(), end_time: new Date(s.endMs).toISOString(),
    duration_ms: s.endMs - s.startMs, event_count: s.count, event_type_counts: counts,
    page_views: counts.page_view ?? 0, purchases, revenue: fromCents(s.revenueCents), converted: purchases > 0 ? 1 : 0,
    entry_page: s.entryPage, exit_page: s.exitPage, is_closed: closed ? 1 : 0,
    closed_by: closed ? (s.endedByLogout ? 'logout' : 'timeout') : '', is_deleted: 0, version,
  };
}
export type Sessionizer = ReturnType<typeof createSessionizer>;
