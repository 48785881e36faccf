import { byEventTime, foldEvent, openSession, startsNewSession, type Session, type SessionRules, type StoredEvent } from './sessionize.js';

/**
 * Folding new events into a user's open sessions without reading anything back: the sessionizer's
 * common case. An open session carries, besides its aggregate, a short hash of each event folded
 * into it and when that copy was stored, so a row read again (the overlap of two runs) is skipped
 * and a second copy of an event is recognised. What cannot be folded in order (an event older than
 * the watermark, one that sorts before the user's last event, a second copy) is answered with the
 * reason, and the caller recomputes that user from the stored events instead.
 */
export type OpenSession = Session & { ids: number[]; stored: number[] };

/** 48 bits of an event id (its last 12 hex digits: random in a v4 id, hashed in a v5 one). */
export const idHash = (eventId: string): number => parseInt(eventId.slice(24), 16);

export type Placement =
  | { kind: 'folded'; open: OpenSession[]; changed: OpenSession[]; folded: StoredEvent[] }
  | { kind: 'recompute'; reason: 'late' | 'copy' | 'order' };

const copyOf = (s: OpenSession): OpenSession => ({ ...s, typeCounts: { ...s.typeCounts }, ids: [...s.ids], stored: [...s.stored] });

/**
 * `open`: the user's open sessions in order; `rows`: the user's rows read this run (any order);
 * `closedRecently`: sessions closed since the overlap began, whose rows may be read once more.
 * Never changes `open`: on 'folded' the answer holds the user's new open sessions.
 */
export function placeEvents(open: readonly OpenSession[], rows: readonly StoredEvent[], watermarkMs: number, rules: SessionRules, closedRecently: readonly OpenSession[] = []): Placement {
  const next = open.map(copyOf);
  const changed = new Set<OpenSession>();
  const folded: StoredEvent[] = [];
  for (const e of [...rows].sort(byEventTime)) {
    const h = idHash(e.event_id);
    let seen = false, copy = false;
    for (const s of closedRecently.length ? [...next, ...closedRecently] : next) {
      const i = s.ids.indexOf(h);
      if (i < 0) continue;
      if (s.stored[i] === e.storedMs) seen = true;
      else copy = true;
      break;
    }
    if (seen) continue;
    if (copy) return { kind: 'recompute', reason: 'copy' };
    if (e.timestampMs < watermarkMs) return { kind: 'recompute', reason: 'late' };
    let last = next[next.length - 1];
    if (last && byEventTime(e, { timestampMs: last.endMs, event_id: last.lastId } as StoredEvent) <= 0) return { kind: 'recompute', reason: 'order' };
    if (!last || startsNewSession(last, e, rules)) {
      last = { ...openSession(e), ids: [], stored: [] };
      next.push(last);
    }
    foldEvent(last, e);
    last.ids.push(h);
    last.stored.push(e.storedMs ?? 0);
    changed.add(last);
    folded.push(e);
  }
  return { kind: 'folded', open: next, changed: [...changed], folded };
}

/** A recomputed user's sessions as open sessions, with the events each one holds. */
export function openSessionsOf(events: readonly StoredEvent[], split: (events: readonly StoredEvent[], visit: (s: Session, e: StoredEvent) => void) => Session[]): OpenSession[] {
  const extra = new Map<Session, { ids: number[]; stored: number[] }>();
  const sessions = split(events, (s, e) => {
    let x = extra.get(s);
    if (!x) extra.set(s, (x = { ids: [], stored: [] }));
    x.ids.push(idHash(e.event_id));
    x.stored.push(e.storedMs ?? 0);
  });
  return sessions.map((s) => ({ ...s, ...extra.get(s)! }));
}

/** The compact, durable form of a user's open sessions (sessionizer_open.state). */
export function encodeOpen(list: readonly OpenSession[]): string {
  return JSON.stringify(list.map((s) => [
    s.startMs, s.endMs, s.count, s.typeCounts, s.revenueCents, s.entryPage, s.exitPage, s.user_tier,
    s.endedByLogout ? 1 : 0, s.funnelStep, s.funnelAtMs, s.lastId, s.ids, s.stored, s.session_id,
  ]));
}

export function decodeOpen(userId: string, state: string): OpenSession[] {
  return (JSON.parse(state) as unknown[][]).map((a) => ({
    session_id: a[14] as string, user_id: userId, startMs: a[0] as number, endMs: a[1] as number, count: a[2] as number,
    typeCounts: a[3] as Session['typeCounts'], revenueCents: a[4] as number, entryPage: a[5] as string, exitPage: a[6] as string,
    user_tier: a[7] as string, endedByLogout: a[8] === 1, funnelStep: a[9] as number, funnelAtMs: a[10] as number, lastId: a[11] as string,
    ids: a[12] as number[], stored: a[13] as number[],
  }));
}
