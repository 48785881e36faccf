// The sessionization steps against the offline reference (generator/reference-sessions.ts): any
// arrival order of a user's stored events must give exactly the reference's sessions; then the
// parts the reference has no say in (closing by watermark, diffs and tombstones, duplicates).
import { describe, expect, test } from 'vitest';
import { sessionId } from '../../functions/core/ids.js';
import { fromCents } from '../../functions/core/money.js';
import { EVENT_TYPES, type EventType, type UserEvent } from '../../functions/schemas/events.js';
import {
  diffSessions, isClosed, nextWatermark, sessionRow, splitSessions, type SessionRow, type StoredEvent,
} from '../../functions/steps/sessionize.js';
import { createRandom } from '../../generator/random.js';
import { referenceSessions, type RefSession } from '../../generator/reference-sessions.js';
import { generate } from '../../generator/simulate.js';
import { eventAt, OTHER_USER, USER } from './builders.js';

const MIN = 60_000;
const GAP = 30 * MIN;
const T0 = Date.parse('2024-05-01T10:00:00.000Z');

const stored = (e: UserEvent): StoredEvent => {
  const x = e as Partial<Record<string, unknown>>;
  return {
    event_id: e.event_id, user_id: e.user_id, user_tier: 'Gold', event_type: e.event_type, timestampMs: Date.parse(e.timestamp),
    page_url: e.page_url ?? '', price: (x.price as string) ?? '0', quantity: (x.quantity as number) ?? 0,
  };
};

/** Every user's sessions from their events, fed in a shuffled order (seeded), all closed. */
function stream(events: readonly UserEvent[], shuffleSeed = 0): SessionRow[] {
  const rnd = createRandom(shuffleSeed + 1);
  const list = events.map(stored);
  for (let i = list.length - 1; i > 0; i--) {
    const j = rnd.int(0, i);
    [list[i], list[j]] = [list[j]!, list[i]!];
  }
  const byUser = new Map<string, StoredEvent[]>();
  for (const e of list) byUser.set(e.user_id, [...(byUser.get(e.user_id) ?? []), e]);
  return [...byUser.values()].flatMap((evs) => splitSessions(evs, GAP).map((s) => sessionRow(s, true, 1)));
}

type Comparable = {
  session_id: string; user_id: string; start_time: string; end_time: string; duration_ms: number; event_count: number;
  event_type_counts: Record<string, number>; page_views: number; purchases: number; revenue: string; converted: number;
  entry_page: string; exit_page: string; closed_by: string;
};

const fromRow = (r: SessionRow): Comparable => ({
  session_id: r.session_id, user_id: r.user_id, start_time: r.start_time, end_time: r.end_time, duration_ms: r.duration_ms,
  event_count: r.event_count, event_type_counts: r.event_type_counts, page_views: r.page_views, purchases: r.purchases,
  revenue: r.revenue, converted: r.converted, entry_page: r.entry_page, exit_page: r.exit_page, closed_by: r.closed_by,
});

const fromRef = (r: RefSession): Comparable => ({
  session_id: r.session_id, user_id: r.user_id, start_time: new Date(r.start_ms).toISOString(), end_time: new Date(r.end_ms).toISOString(),
  duration_ms: r.end_ms - r.start_ms, event_count: r.event_count, event_type_counts: r.type_counts, page_views: r.page_views,
  purchases: r.purchases, revenue: fromCents(r.revenue_cents), converted: r.converted ? 1 : 0,
  entry_page: r.entry_page, exit_page: r.exit_page, closed_by: r.closed_by,
});

const bySessionId = (a: Comparable, b: Comparable) => a.session_id.localeCompare(b.session_id);
const closedRows = (rows: SessionRow[]) => rows.filter((r) => r.is_closed === 1 && r.is_deleted === 0);

/** The computed sessions and the reference's, in comparable form. */
function compare(events: readonly UserEvent[], shuffleSeed = 0) {
  const rows = stream(events, shuffleSeed);
  return {
    rows,
    actual: closedRows(rows).map(fromRow).sort(bySessionId),
    expected: referenceSessions(events, GAP).map(fromRef).sort(bySessionId),
  };
}

/** One user's events from a list of gaps (ms after the previous event) and types. */
function userEvents(user: string, startMs: number, steps: [gapMs: number, type?: EventType, price?: string][], firstId = 1): UserEvent[] {
  let t = startMs;
  return steps.map(([gap, type, price], i) => {
    t += gap;
    return eventAt(t, { user, id: firstId + i, ...(type ? { type } : {}), ...(price ? { price } : {}), page: `/${user.slice(0, 4)}/${i}` });
  });
}

/** Random users whose gaps are short, around the 30-minute boundary (± 1 s, and exactly on it), or long, with logouts and purchases. */
function randomEvents(seed: number, users: number, eventsPerUser: number): UserEvent[] {
  const rnd = createRandom(seed);
  const out: UserEvent[] = [];
  let id = 1;
  for (let u = 0; u < users; u++) {
    const user = rnd.uuid();
    let t = T0 + rnd.int(0, 2 * 3_600_000);
    for (let i = 0; i < eventsPerUser; i++) {
      const kind = rnd.next();
      t += kind < 0.5 ? rnd.int(1, 5 * MIN)
        : kind < 0.75 ? GAP + rnd.int(-1_000, 1_000)
        : kind < 0.8 ? GAP
        : kind < 0.85 ? GAP + 1
        : rnd.int(GAP, 4 * 3_600_000);
      const type = rnd.weighted({ page_view: 40, product_view: 20, search: 10, add_to_cart: 8, purchase: 8, remove_from_cart: 4, checkout_start: 4, login: 3, logout: 3 } as const);
      const price = fromCents(rnd.int(1, 50_000));
      out.push(eventAt(t, { user, id: id++, type, price, quantity: rnd.int(1, 3), page: `/page/${rnd.int(1, 50)}` }));
    }
  }
  return out;
}

describe('any arrival order agrees exactly with the reference', () => {
  const A = USER;
  const CASES: [what: string, events: UserEvent[], sessions: number][] = [
    ['one event', userEvents(A, T0, [[0]]), 1],
    ['a gap of exactly 30:00.000 stays one session', userEvents(A, T0, [[0], [GAP]]), 1],
    ['a gap of 30:00.001 splits', userEvents(A, T0, [[0], [GAP + 1]]), 2],
    ['a gap of 29:59.999 stays one session', userEvents(A, T0, [[0], [GAP - 1], [GAP - 1]]), 1],
    ['30:00.000 then 30:00.001', userEvents(A, T0, [[0], [GAP], [GAP + 1], [GAP]]), 2],
    ['a logout ends the session', userEvents(A, T0, [[0], [1_000, 'logout'], [1_000], [1_000]]), 2],
    ['a logout as the only event', userEvents(A, T0, [[0, 'logout']]), 1],
    ['logout after logout', userEvents(A, T0, [[0, 'logout'], [5, 'logout'], [5]]), 3],
    ['a logout and a long gap', userEvents(A, T0, [[0], [10, 'logout'], [3 * GAP, 'login'], [10]]), 2],
    ['purchases add up their revenue', userEvents(A, T0, [[0, 'purchase', '19.99'], [5_000, 'purchase', '0.01'], [5_000, 'purchase', '100.00']]), 1],
    ['two users interleaved', [...userEvents(A, T0, [[0], [GAP], [GAP + 1]]), ...userEvents(OTHER_USER, T0 + 1, [[0], [GAP + 1], [GAP]], 100)], 4],
  ];

  test.each(CASES)('%s', (_what, events, sessions) => {
    const { rows, actual, expected } = compare(events);
    expect(expected).toHaveLength(sessions);
    expect(actual).toEqual(expected);
    expect(rows.filter((r) => r.is_deleted === 1)).toEqual([]);
  });

  test('entry and exit pages and closed_by in detail', () => {
    const events = userEvents(USER, T0, [[0, 'login'], [1_000, 'page_view'], [1_000, 'purchase', '2.50'], [1_000, 'logout'], [GAP * 2, 'page_view'], [2_000, 'search']]);
    const { actual } = compare(events);
    const [first, second] = [...actual].sort((a, b) => a.start_time.localeCompare(b.start_time));
    expect(first).toMatchObject({
      session_id: sessionId(USER, T0), start_time: '2024-05-01T10:00:00.000Z', end_time: '2024-05-01T10:00:03.000Z', duration_ms: 3_000,
      event_count: 4, page_views: 1, purchases: 1, revenue: '2.50', converted: 1, entry_page: events[0]!.page_url, exit_page: events[3]!.page_url, closed_by: 'logout',
    });
    expect(second).toMatchObject({ event_count: 2, purchases: 0, revenue: '0.00', converted: 0, entry_page: events[4]!.page_url, exit_page: events[5]!.page_url, closed_by: 'timeout' });
  });

  test.each([
    [1, 40, 25, 0], [2, 40, 25, 7], [3, 100, 12, 1], [4, 5, 200, 3], [5, 60, 30, 50],
  ])('random users (seed %d, %d users × %d events, shuffled with seed %d)', (seed, users, perUser, shuffleSeed) => {
    const events = randomEvents(seed, users, perUser);
    const { actual, expected } = compare(events, shuffleSeed);
    expect(expected.length).toBeGreaterThan(users);
    expect(actual).toEqual(expected);
    expect(new Set(actual.map((r) => r.session_id)).size).toBe(actual.length);
    // The boundary cases really occurred.
    const gaps = new Set<number>();
    const byUser = new Map<string, UserEvent[]>();
    for (const e of events) byUser.set(e.user_id, [...(byUser.get(e.user_id) ?? []), e]);
    for (const list of byUser.values()) for (let i = 1; i < list.length; i++) gaps.add(Date.parse(list[i]!.timestamp) - Date.parse(list[i - 1]!.timestamp));
    expect(gaps.has(GAP)).toBe(true);
    expect(gaps.has(GAP + 1)).toBe(true);
  });

  test("the generator's own traffic (seed 11, 80 users, 6 h)", () => {
    const { records } = generate({ seed: 11, users: 80, startMs: T0, durationMs: 6 * 3_600_000, invalidShare: 0 });
    const events = records.flatMap((r) => (r.kind === 'event' ? [r.event] : []));
    const { actual, expected } = compare(events, 100);
    expect(expected.length).toBeGreaterThan(80);
    expect(actual).toEqual(expected);
  });

  test('every row carries the tier it was observed with and the fixed event-type keys', () => {
    const rows = stream(userEvents(USER, T0, [[0], [1]]));
    expect(rows).toHaveLength(1);
    expect(rows[0]!.user_tier).toBe('Gold');
    expect(Object.keys(rows[0]!.event_type_counts).sort()).toEqual([...EVENT_TYPES].sort());
  });
});

describe('closing, diffs and tombstones', () => {
  const one = (steps: [number, EventType?][]) => splitSessions(userEvents(USER, T0, steps).map(stored), GAP);

  test('a session closes once the watermark passes its end plus the gap; a logged-out one once it passes its end', () => {
    const [s] = one([[0], [MIN]]);
    expect(isClosed(s!, s!.endMs + GAP, GAP)).toBe(false);
    expect(isClosed(s!, s!.endMs + GAP + 1, GAP)).toBe(true);
    const [l] = one([[0], [MIN, 'logout']]);
    expect(isClosed(l!, l!.endMs, GAP)).toBe(false);
    expect(isClosed(l!, l!.endMs + 1, GAP)).toBe(true);
  });

  test('an unchanged session is not written again; a changed one is, with the new version', () => {
    const [s] = one([[0], [MIN]]);
    const row = sessionRow(s!, false, 1);
    expect(diffSessions([row], [row], 2)).toEqual([]);
    const closed = sessionRow(s!, true, 1);
    expect(diffSessions([closed], [row], 2)).toEqual([{ ...closed, version: 2 }]);
  });

  test('a late event that moves the start gives a new id and a tombstone for the old one', () => {
    const before = one([[0], [MIN]]).map((s) => sessionRow(s, true, 1));
    const after = splitSessions([...userEvents(USER, T0, [[0], [MIN]]), ...userEvents(USER, T0 - 10 * MIN, [[0]], 50)].map(stored), GAP).map((s) => sessionRow(s, true, 2));
    const writes = diffSessions(after, before, 3);
    expect(writes.map((r) => [r.session_id, r.is_deleted, r.event_count])).toEqual([
      [sessionId(USER, T0 - 10 * MIN), 0, 3],
      [sessionId(USER, T0), 1, 2],
    ]);
  });

  test('a late event that bridges two sessions merges them: one survives, one gets a tombstone', () => {
    const evs = userEvents(USER, T0, [[0], [GAP + 20 * MIN]]);
    const before = splitSessions(evs.map(stored), GAP).map((s) => sessionRow(s, true, 1));
    expect(before).toHaveLength(2);
    const bridged = splitSessions([...evs, ...userEvents(USER, T0 + 25 * MIN, [[0]], 60)].map(stored), GAP).map((s) => sessionRow(s, true, 2));
    const writes = diffSessions(bridged, before, 3);
    expect(writes.filter((w) => w.is_deleted === 0).map((w) => [w.session_id, w.event_count])).toEqual([[sessionId(USER, T0), 3]]);
    expect(writes.filter((w) => w.is_deleted === 1).map((w) => w.session_id)).toEqual([sessionId(USER, T0 + GAP + 20 * MIN)]);
  });

  test('the watermark is the max event time minus the lateness, follows the wall clock when idle, and never moves back', () => {
    const p = { previousMs: 0, maxEventMs: T0, lastNewDataWallMs: T0 + 5_000, nowWallMs: T0 + 6_000, allowedLatenessMs: MIN, idleTimeoutMs: 10_000 };
    expect(nextWatermark(p)).toBe(T0 - MIN);
    expect(nextWatermark({ ...p, nowWallMs: T0 + 15_000 })).toBe(T0 + 15_000 - MIN);
    expect(nextWatermark({ ...p, previousMs: T0 + 1 })).toBe(T0 + 1);
  });
});
