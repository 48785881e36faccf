// Folding new rows into open sessions (functions/steps/open-sessions.ts), streamed in batches with a
// watermark as the sessionizer does, against the offline reference: same sessions, ordered funnel,
// max duration and closing trigger, whatever the arrival order; rows read twice are skipped, and a
// late row, one out of order or a second copy asks for a recompute instead of being folded wrong.
import { describe, expect, test } from 'vitest';
import { fromCents } from '../../functions/core/money.js';
import { EVENT_TYPES, type EventType, type UserEvent } from '../../functions/schemas/events.js';
import { countsOf, decodeOpen, encodeOpen, parseIds, placeEvents, rowKey, withIds, type OpenSession } from '../../functions/steps/open-sessions.js';
import { isClosed, sessionRow, splitSessions, type Session, type SessionRules, type StoredEvent } from '../../functions/steps/sessionize.js';
import { createRandom, type Random } from '../../generator/random.js';
import { referenceSessions } from '../../generator/reference-sessions.js';

const MIN = 60_000;
const RULES: SessionRules = { gapMs: 30 * MIN, maxDurationMs: 3 * 3600_000 };
const T0 = Date.parse('2024-05-01T10:00:00.000Z');

/** Users whose visits walk the funnel (sometimes out of step), gaps around 30 minutes, some visits longer than the max duration. */
function log(rnd: Random, users: number): UserEvent[] {
  const out: UserEvent[] = [];
  const types: EventType[] = ['page_view', 'product_view', 'search', 'add_to_cart', 'checkout_start', 'purchase', 'remove_from_cart', 'login', 'logout'];
  for (let u = 0; u < users; u++) {
    const user = rnd.uuid();
    let t = T0 + rnd.int(0, 3600_000);
    const n = rnd.int(3, 40);
    for (let i = 0; i < n; i++) {
      const k = rnd.next();
      t += k < 0.6 ? rnd.int(1_000, 10 * MIN) : k < 0.75 ? RULES.gapMs + rnd.int(-1_000, 1_000) : k < 0.8 ? RULES.gapMs : k < 0.9 ? rnd.int(15 * MIN, 29 * MIN) : rnd.int(RULES.gapMs, 5 * 3600_000);
      // Mostly the funnel's next step, so sessions reach deep steps; sometimes any type.
      const type = rnd.chance(0.6) ? (['page_view', 'product_view', 'add_to_cart', 'checkout_start', 'purchase'] as const)[i % 5]! : types[rnd.int(0, types.length - 1)]!;
      const base = { event_id: rnd.uuid(), user_id: user, timestamp: new Date(t).toISOString(), page_url: `/p/${rnd.int(1, 9)}` };
      const price = fromCents(rnd.int(100, 9_000));
      out.push(
        type === 'purchase' ? { ...base, event_type: type, order_id: rnd.uuid(), product_id: 'P00001', price, quantity: rnd.int(1, 3) }
        : type === 'add_to_cart' ? { ...base, event_type: type, product_id: 'P00001', price, quantity: 1 }
        : type === 'product_view' ? { ...base, event_type: type, product_id: 'P00001', category: 'books' }
        : type === 'remove_from_cart' ? { ...base, event_type: type, product_id: 'P00001', quantity: 1 }
        : type === 'search' ? { ...base, event_type: type, search_query: 'lamp' }
        : { ...base, event_type: type } as UserEvent,
      );
    }
  }
  return out;
}

const stored = (e: UserEvent, storedMs: number): StoredEvent => {
  const x = e as Partial<Record<string, unknown>>;
  return { event_id: e.event_id, user_id: e.user_id, user_tier: 'Gold', event_type: e.event_type, timestampMs: Date.parse(e.timestamp), page_url: e.page_url ?? '', price: (x.price as string) ?? '0', quantity: (x.quantity as number) ?? 0, storedMs };
};

/**
 * The sessionizer's loop in miniature: batches of rows in arrival order (each batch also re-reads
 * the previous one, as the overlap does), folded where they can be, the user recomputed from every
 * stored row otherwise (first copy wins), sessions closed as the watermark passes them.
 */
function stream(arrivals: StoredEvent[], batch: number, latenessMs: number) {
  const open = new Map<string, OpenSession[]>();
  const storedByUser = new Map<string, Map<string, StoredEvent>>();
  const out = new Map<string, ReturnType<typeof sessionRow>>();
  let maxEvent = 0, watermark = 0, recomputes = 0, previous: StoredEvent[] = [];
  const seen = new Set<string>();
  const closeUpTo = (w: number) => {
    for (const [u, list] of open) {
      const keep = list.filter((s) => !isClosed(s, w, RULES.gapMs, RULES.maxDurationMs) || (out.set(s.session_id, sessionRow(s, true, 1, RULES)), false));
      if (keep.length) open.set(u, keep); else open.delete(u);
    }
  };
  for (let i = 0; i < arrivals.length; i += batch) {
    const fresh = arrivals.slice(i, i + batch);
    const byUser = new Map<string, StoredEvent[]>();
    // The overlap: the previous batch read again, its rows dropped by key as the sessionizer does.
    for (const e of [...previous, ...fresh]) if (!seen.has(rowKey(e))) byUser.set(e.user_id, [...(byUser.get(e.user_id) ?? []), e]);
    for (const e of fresh) {
      const m = storedByUser.get(e.user_id) ?? storedByUser.set(e.user_id, new Map()).get(e.user_id)!;
      if (!m.has(e.event_id)) m.set(e.event_id, e);
    }
    for (const [user, rows] of byUser) {
      const r = placeEvents(open.get(user) ?? [], rows, watermark, RULES);
      if (r.kind === 'folded') { open.set(user, r.open); continue; }
      recomputes++;
      const evs = [...storedByUser.get(user)!.values()];
      const assign = new Map<StoredEvent, Session>();
      const all = withIds(splitSessions(evs, RULES.gapMs, RULES.maxDurationMs, (x, e) => assign.set(e, x)), evs, assign);
      for (const [id, row] of out) if (row.user_id === user) out.delete(id);
      const still = all.filter((s) => !isClosed(s, watermark, RULES.gapMs, RULES.maxDurationMs));
      for (const s of all) if (!still.includes(s)) out.set(s.session_id, sessionRow(s, true, 1, RULES));
      open.set(user, still);
    }
    for (const e of fresh) maxEvent = Math.max(maxEvent, e.timestampMs);
    watermark = Math.max(watermark, maxEvent - latenessMs);
    closeUpTo(watermark);
    seen.clear(); // the next batch re-reads this one's rows, no older ones
    for (const e of fresh) seen.add(rowKey(e));
    previous = fresh;
  }
  closeUpTo(Infinity);
  return { rows: [...out.values()].sort((a, b) => a.session_id.localeCompare(b.session_id)), recomputes };
}

function expected(events: UserEvent[]) {
  return referenceSessions(events, RULES.gapMs, RULES.maxDurationMs).sort((a, b) => a.session_id.localeCompare(b.session_id)).map((r) => ({
    session_id: r.session_id, start_time: new Date(r.start_ms).toISOString(), end_time: new Date(r.end_ms).toISOString(), event_count: r.event_count,
    revenue: fromCents(r.revenue_cents), entry_page: r.entry_page, exit_page: r.exit_page, closed_by: r.closed_by, funnel_step: r.funnel_step, funnel_ms: r.funnel_ms,
  }));
}
const comparable = (rows: ReturnType<typeof stream>['rows']) => rows.map((r) => ({
  session_id: r.session_id, start_time: r.start_time, end_time: r.end_time, event_count: r.event_count, revenue: r.revenue,
  entry_page: r.entry_page, exit_page: r.exit_page, closed_by: r.closed_by, funnel_step: r.funnel_step, funnel_ms: r.funnel_ms,
}));

describe('open sessions fold like the reference', () => {
  test('in event-time order: every row is folded, none recomputed, sessions equal the reference', () => {
    const events = log(createRandom(1), 150);
    const arrivals = [...events].sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp) || (a.event_id < b.event_id ? -1 : 1)).map((e, i) => stored(e, T0 + i));
    const r = stream(arrivals, 50, MIN);
    expect(r.recomputes).toBe(0);
    expect(comparable(r.rows)).toEqual(expected(events));
    const kinds = new Set(r.rows.map((x) => x.closed_by));
    expect([...kinds].sort()).toEqual(['logout', 'max_duration', 'timeout']);
    expect(r.rows.some((x) => x.funnel_step === 5)).toBe(true);
  });

  test.each([1, 2, 3])('shuffled within the lateness, 2 %% far beyond it, 5 %% delivered twice (seed %i)', (seed) => {
    const rnd = createRandom(seed + 10);
    const events = log(rnd, 120);
    const L = 20 * MIN;
    const keyed: { e: UserEvent; key: number }[] = [];
    for (const e of events) {
      const t = Date.parse(e.timestamp);
      keyed.push({ e, key: t + (rnd.chance(0.02) ? L * rnd.int(3, 6) : rnd.int(0, L - MIN)) });
      if (rnd.chance(0.05)) keyed.push({ e, key: t + rnd.int(0, 2 * L) });
    }
    const arrivals = keyed.sort((a, b) => a.key - b.key).map((x, i) => stored(x.e, T0 + i));
    const r = stream(arrivals, 40, L);
    expect(r.recomputes).toBeGreaterThan(0);
    expect(comparable(r.rows)).toEqual(expected(events));
  });
});

describe('placeEvents', () => {
  const rnd = createRandom(7);
  const user = rnd.uuid();
  const ev = (t: number, type: EventType, storedMs = t): StoredEvent => ({ event_id: rnd.uuid(), user_id: user, user_tier: 'Gold', event_type: type, timestampMs: T0 + t, page_url: '/', price: '1.00', quantity: 1, storedMs });

  test('a second copy (same id, stored later, even with another timestamp) asks for a recompute', () => {
    const a = ev(0, 'page_view');
    const first = placeEvents([], [a], 0, RULES);
    if (first.kind !== 'folded') throw new Error('expected a fold');
    expect(first.open[0]!.count).toBe(1);
    expect(rowKey({ ...a, storedMs: a.storedMs! + 5 })).not.toBe(rowKey(a)); // the caller tells a re-read from a copy by this key
    expect(placeEvents(first.open, [{ ...a, storedMs: a.storedMs! + 5 }], 0, RULES)).toEqual({ kind: 'recompute', reason: 'copy' });
    // A copy with another payload, even a later timestamp, is still a copy.
    expect(placeEvents(first.open, [{ ...a, timestampMs: a.timestampMs + 90_000, storedMs: a.storedMs! + 5 }], 0, RULES)).toEqual({ kind: 'recompute', reason: 'copy' });
    expect(placeEvents([], [a, { ...a, storedMs: a.storedMs! + 5 }], 0, RULES)).toEqual({ kind: 'recompute', reason: 'copy' });
  });

  test('an event older than the watermark, or sorting before the last one, is not folded', () => {
    const a = ev(10 * MIN, 'page_view');
    const first = placeEvents([], [a], 0, RULES);
    if (first.kind !== 'folded') throw new Error('expected a fold');
    expect(placeEvents(first.open, [ev(MIN, 'product_view')], T0 + 5 * MIN, RULES)).toEqual({ kind: 'recompute', reason: 'late' });
    expect(placeEvents(first.open, [ev(5 * MIN, 'product_view')], 0, RULES)).toEqual({ kind: 'recompute', reason: 'order' });
  });

  test('the input is never changed, and the durable form round-trips', () => {
    const first = placeEvents([], [ev(0, 'page_view'), ev(MIN, 'product_view')], 0, RULES);
    if (first.kind !== 'folded') throw new Error('expected a fold');
    const before = JSON.stringify(first.open);
    const next = placeEvents(first.open, [ev(2 * MIN, 'add_to_cart')], 0, RULES);
    expect(JSON.stringify(first.open)).toBe(before);
    if (next.kind !== 'folded') throw new Error('expected a fold');
    expect(next.open[0]).toMatchObject({ count: 3, funnelStep: 3, funnelAtMs: T0 + 2 * MIN });
    expect(decodeOpen(user, encodeOpen(next.open))).toEqual(next.open);
    // The earlier durable form (counts as an object, ids as numbers), as older snapshots hold it.
    const x = next.open[0]!;
    const earlier = JSON.stringify([[x.startMs, x.endMs, x.count, x.typeCounts, x.revenueCents, x.entryPage, x.exitPage, x.user_tier, 0, x.funnelStep, x.funnelAtMs, x.lastId, x.session_id, x.ids]]);
    expect(decodeOpen(user, earlier)).toEqual(next.open);
    expect(encodeOpen(next.open).length).toBeLessThan(earlier.length);
  });

  test('the durable form is the text it always was: the JSON of one array per session', () => {
    const first = placeEvents([], [ev(0, 'page_view'), ev(MIN, 'purchase'), ev(2 * MIN, 'logout')], 0, RULES);
    if (first.kind !== 'folded') throw new Error('expected a fold');
    const odd = { ...first.open[0]!, entryPage: 'https://shop.example.com/p?q="a\\b"\tü\u2028', exitPage: '', ids: [0, 1, 2 ** 48 - 1, 35, 36] };
    const later = { ...odd, startMs: odd.startMs + 3 * MIN, ids: [] };
    for (const list of [[], first.open, [odd, later]]) {
      const reference = JSON.stringify(list.map((s) => [s.startMs, s.endMs, s.count, EVENT_TYPES.map((t) => s.typeCounts[t]), s.revenueCents, s.entryPage, s.exitPage,
        s.user_tier, s.endedByLogout ? 1 : 0, s.funnelStep, s.funnelAtMs, s.lastId, s.session_id, s.ids.map((h) => h.toString(36)).join(',')]));
      expect(encodeOpen(list)).toBe(reference);
      expect(decodeOpen(user, reference)).toEqual(list);
    }
  });

  test('type counts and id hashes are read back in their written order', () => {
    const array = EVENT_TYPES.map((_, i) => i + 1);
    expect(Object.keys(countsOf(array))).toEqual([...EVENT_TYPES]);
    expect(EVENT_TYPES.map((t) => countsOf(array)[t])).toEqual(array);
    expect(countsOf([null, 2])).toMatchObject({ page_view: 0, product_view: 2, logout: 0 });
    const hashes = [0, 9, 10, 35, 36, 1295, 2 ** 48 - 1, 123_456_789_012];
    expect(parseIds(hashes.map((h) => h.toString(36)).join(','))).toEqual(hashes);
    expect(parseIds('')).toEqual([]);
  });
});
