import type { EventType } from '../schemas/events.js';
import type { StoredCopy } from '../steps/copies.js';
import { withIds, type OpenSession } from '../steps/open-sessions.js';
import { diffSessions, isClosed, sessionRow, splitSessions, type Session, type SessionRow, type SessionRules, type StoredEvent } from '../steps/sessionize.js';
import { chMs, normalize, type Row, type SessionStore } from './store.js';

/**
 * The bounded recompute: a user whose new rows cannot be folded in order (a late event, a second
 * copy, an event out of order) has their sessions recomputed from the stored events, from the start
 * of the earliest session the run could touch (so a late event that bridges two sessions merges
 * them), and only the difference is written. Reads by user, the events table's primary key.
 */
export async function recomputeUsers(
  store: SessionStore,
  users: Map<string, number>,
  p: { rules: SessionRules; watermarkMs: number; chunkUsers: number; version: number },
) {
  const writes: SessionRow[] = [];
  const open = new Map<string, OpenSession[]>();
  let cancelled = 0;
  const list = [...users];
  for (let i = 0; i < list.length; i += p.chunkUsers) {
    const chunk = list.slice(i, i + p.chunkUsers);
    const r = await recomputeChunk(store, chunk, p);
    writes.push(...r.writes);
    for (const [u, s] of r.open) open.set(u, s);
    cancelled += r.cancelled;
  }
  return { writes, open, cancelled };
}

type Ev = [id: string, type: EventType, ts: string, page: string, price: string, qty: number, tier: string, net: string, positives: string, stored: string];

async function recomputeChunk(store: SessionStore, chunk: [string, number][], p: { rules: SessionRules; watermarkMs: number; version: number }) {
  const params = { users: chunk.map(([u]) => u), froms: chunk.map(([, f]) => f), gap: p.rules.gapMs };
  const [users, stored] = await Promise.all([
    store.query<{ user_id: string; events: Ev[] }>('chunkEvents', params),
    store.query<SessionRow>('chunkSessions', params),
  ]);

  // Exactly-once counts, the first stored copy winning: an id stored more than once (rare) is read
  // in full, each uncancelled copy beyond the first stored is cancelled with its own contents, and
  // the session is computed from the first stored copy's values, as the views will count it.
  const multi = new Map<string, string>(); // `${user}/${id}` -> user, for ids with more than one positive copy
  for (const u of users) for (const e of u.events) if (Number(e[8]) > 1) multi.set(`${u.user_id}/${e[0]}`, u.user_id);
  const winners = new Map<string, Row>();
  let cancelled = 0;
  if (multi.size) {
    const rows = await store.query<StoredCopy>('eventCopies', { users: [...new Set(multi.values())], ids: [...new Set([...multi.keys()].map((k) => k.slice(k.indexOf('/') + 1)))] });
    const r = await store.cancelCopies('user_events_realtime', 'cancel', rows, (row) => `${String(row.user_id)}/${String(row.event_id)}`, (key) => multi.has(key));
    for (const [key, winner] of r.winners) winners.set(key, winner);
    cancelled = r.cancelled;
  }

  const storedByUser = new Map<string, SessionRow[]>();
  for (const s of stored) storedByUser.set(s.user_id, [...(storedByUser.get(s.user_id) ?? []), normalize(s)]);
  const writes: SessionRow[] = [];
  const open = new Map<string, OpenSession[]>(chunk.map(([u]) => [u, []]));
  const { rules, watermarkMs, version } = p;
  for (const u of users) {
    const events: StoredEvent[] = [];
    for (const [id, type, ts, page, price, qty, tier, net, , storedAt] of u.events) {
      if (Number(net) <= 0) continue;
      const w = winners.get(`${u.user_id}/${id}`);
      events.push(w
        ? { event_id: id, user_id: u.user_id, user_tier: String(w.user_tier), event_type: w.event_type as EventType, timestampMs: chMs(String(w.timestamp)), page_url: String(w.page_url), price: String(w.price), quantity: Number(w.quantity), storedMs: chMs(String(w.stored_at)) }
        : { event_id: id, user_id: u.user_id, user_tier: tier, event_type: type, timestampMs: Number(ts), page_url: page, price, quantity: Number(qty), storedMs: Number(storedAt) });
    }
    const assign = new Map<StoredEvent, Session>();
    const sessions = withIds(splitSessions(events, rules.gapMs, rules.maxDurationMs, (s, e) => assign.set(e, s)), events, assign);
    const next = sessions.map((s) => sessionRow(s, isClosed(s, watermarkMs, rules.gapMs, rules.maxDurationMs), version, rules));
    writes.push(...diffSessions(next, storedByUser.get(u.user_id) ?? [], version));
    open.set(u.user_id, sessions.filter((s, i) => !next[i]!.is_closed));
  }
  return { writes, open, cancelled };
}
