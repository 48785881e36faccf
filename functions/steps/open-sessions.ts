import { byEventTime, copyCounts, foldEvent, openSession, startsNewSession, type Session, type SessionRules, type StoredEvent } from './sessionize.js';

/**
 * Folding new events into a user's open sessions without reading anything back: the sessionizer's
 * common case. The caller drops the rows it has read before (the overlap of two runs re-reads a
 * few seconds; see rowKey) before asking. What cannot be folded in order is answered with the reason, and the caller
 * recomputes that user from the stored events instead: an event older than the watermark, one
 * that sorts at or before the user's last event, or a second copy of an event already folded (an
 * open session keeps a 48-bit hash of each event id it holds: a copy may carry another timestamp).
 */
export type OpenSession = Session & { ids: number[] };

/** 48 bits of an event id (its last 12 hex digits: random in a v4 id, hashed in a v5 one). */
export const idHash = (eventId: string): number => parseInt(eventId.slice(24), 16);

export type Placement =
  | { kind: 'folded'; open: OpenSession[]; changed: OpenSession[]; folded: StoredEvent[] }
  | { kind: 'recompute'; reason: 'late' | 'order' | 'copy' };

/** Every open session is made here, as one literal: spread copies each had a shape of their own, and the fold's reads went megamorphic. */
export const openOf = (s: Session, ids: number[], typeCounts = s.typeCounts): OpenSession => ({
  session_id: s.session_id, user_id: s.user_id, user_tier: s.user_tier, startMs: s.startMs, endMs: s.endMs, count: s.count,
  typeCounts, revenueCents: s.revenueCents, entryPage: s.entryPage, exitPage: s.exitPage, endedByLogout: s.endedByLogout,
  funnelStep: s.funnelStep, funnelAtMs: s.funnelAtMs, lastId: s.lastId, ids,
});
const copyOf = (s: OpenSession): OpenSession => openOf(s, s.ids.slice(), copyCounts(s.typeCounts));
const holds = (list: readonly OpenSession[], h: number) => {
  for (const x of list) if (x.ids.includes(h)) return true;
  return false;
};

/**
 * `open`: the user's open sessions in order; `rows`: the user's rows new to this run (any order).
 * Never changes `open`: on 'folded' the answer holds the user's new open sessions.
 */
export function placeEvents(open: readonly OpenSession[], rows: readonly StoredEvent[], watermarkMs: number, rules: SessionRules): Placement {
  let next: OpenSession[] | undefined;
  const changed: OpenSession[] = [];
  const folded: StoredEvent[] = [];
  for (const e of rows.length > 1 ? [...rows].sort(byEventTime) : rows) {
    const h = idHash(e.event_id);
    if (holds(next ?? open, h)) return { kind: 'recompute', reason: 'copy' };
    if (e.timestampMs < watermarkMs) return { kind: 'recompute', reason: 'late' };
    if (!next) {
      next = [];
      for (const x of open) next.push(copyOf(x));
    }
    let last = next[next.length - 1];
    if (last && byEventTime(e, { timestampMs: last.endMs, event_id: last.lastId } as StoredEvent) <= 0) return { kind: 'recompute', reason: 'order' };
    if (!last || startsNewSession(last, e, rules)) {
      last = openOf(openSession(e), []);
      next.push(last);
    }
    foldEvent(last, e);
    last.ids.push(h);
    if (!changed.includes(last)) changed.push(last);
    folded.push(e);
  }
  return { kind: 'folded', open: next ?? [...open], changed, folded };
}

/** The key of one stored row: the same row read again has the same key, another copy does not. */
export const rowKey = (e: Pick<StoredEvent, 'event_id' | 'storedMs'>) => `${e.event_id}@${e.storedMs ?? 0}`;

/** A recomputed user's sessions as open sessions, with the ids of the events each holds. */
export function withIds(sessions: readonly Session[], events: readonly StoredEvent[], assign: Map<StoredEvent, Session>): OpenSession[] {
  const ids = new Map<Session, number[]>(sessions.map((s) => [s, []]));
  for (const e of events) ids.get(assign.get(e)!)?.push(idHash(e.event_id));
  return sessions.map((s) => openOf(s, ids.get(s)!));
}

/**
 * The compact form of a user's open sessions: sessionizer_open.state, and every user's sessions in
 * the sessionizer's memory between runs (one string instead of ~9 objects). A JSON array per
 * session: type counts as an array in EVENT_TYPES order and the 48-bit id hashes in base 36 keep it
 * near 250 characters for a visit of ten events; decodeOpen also reads the earlier form (counts as
 * an object, ids as numbers). Every touched user is decoded and encoded again once a run, so both
 * build their arrays and objects directly, without a closure per field (11.4 -> 7.3 µs a user:
 * bench/open-codec.ts); the text is what it always was.
 */
export function encodeOpen(list: readonly OpenSession[]): string {
  const out: unknown[] = new Array(list.length);
  for (let k = 0; k < list.length; k++) {
    const s = list[k]!;
    const c = s.typeCounts;
    let ids = '';
    for (let i = 0; i < s.ids.length; i++) ids += `${i ? ',' : ''}${s.ids[i]!.toString(36)}`;
    out[k] = [s.startMs, s.endMs, s.count, [c.page_view, c.product_view, c.search, c.add_to_cart, c.purchase, c.remove_from_cart, c.checkout_start, c.login, c.logout],
      s.revenueCents, s.entryPage, s.exitPage, s.user_tier, s.endedByLogout ? 1 : 0, s.funnelStep, s.funnelAtMs, s.lastId, s.session_id, ids];
  }
  return JSON.stringify(out);
}

export function decodeOpen(userId: string, state: string): OpenSession[] {
  const list = JSON.parse(state) as unknown[][];
  const out: OpenSession[] = new Array(list.length);
  for (let k = 0; k < list.length; k++) {
    const a = list[k]!;
    const counts = Array.isArray(a[3]) ? countsOf(a[3] as (number | null)[]) : copyCounts(a[3] as Session['typeCounts']);
    const ids = typeof a[13] === 'string' ? parseIds(a[13]) : (a[13] as number[]);
    out[k] = openOf({
      session_id: a[12] as string, user_id: userId, startMs: a[0] as number, endMs: a[1] as number, count: a[2] as number,
      typeCounts: counts, revenueCents: a[4] as number, entryPage: a[5] as string, exitPage: a[6] as string,
      user_tier: a[7] as string, endedByLogout: a[8] === 1, funnelStep: a[9] as number, funnelAtMs: a[10] as number, lastId: a[11] as string,
    }, ids);
  }
  return out;
}

/** Type counts from their array in EVENT_TYPES order (a test holds the two orders together). */
export const countsOf = (c: readonly (number | null | undefined)[]): Session['typeCounts'] => ({
  page_view: c[0] ?? 0, product_view: c[1] ?? 0, search: c[2] ?? 0, add_to_cart: c[3] ?? 0, purchase: c[4] ?? 0,
  remove_from_cart: c[5] ?? 0, checkout_start: c[6] ?? 0, login: c[7] ?? 0, logout: c[8] ?? 0,
});

/** "a1,b2,…": comma-separated base-36 hashes (below 2^48, exact as doubles), read without a substring each. */
export function parseIds(text: string): number[] {
  const ids: number[] = [];
  let v = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 44) {
      ids.push(v);
      v = 0;
    } else v = v * 36 + (ch <= 57 ? ch - 48 : ch - 87);
  }
  if (text.length) ids.push(v);
  return ids;
}
