// createSessionizer against the offline reference (generator/reference-sessions.ts): in-order
// streams must give exactly the reference's sessions; then the parts the reference has no say in
// (out-of-order starts and tombstones, sessionIdFor, the watermark, late events).
import { describe, expect, test } from 'vitest';
import { sessionId } from '../../functions/core/ids.js';
import { fromCents } from '../../functions/core/money.js';
import { EVENT_TYPES, type EventType, type UserEvent } from '../../functions/schemas/events.js';
import { createSessionizer, type SessionizerOptions, type SessionRow } from '../../functions/steps/sessionize.js';
import { createRandom } from '../../generator/random.js';
import { referenceSessions, type RefSession } from '../../generator/reference-sessions.js';
import { generate } from '../../generator/simulate.js';
import { eventAt, OTHER_USER, USER } from './builders.js';

const MIN = 60_000;
const GAP = 30 * MIN;
const T0 = Date.parse('2024-05-01T10:00:00.000Z');
const FAR = Date.parse('2030-01-01T00:00:00.000Z');
// A small idle timeout, so once the stream stops the watermark follows the wall clock.
const OPTS: SessionizerOptions = { gapMs: GAP, allowedLatenessMs: MIN, idleTimeoutMs: 1_000 };

const byTimeThenId = (a: UserEvent, b: UserEvent) =>
  Date.parse(a.timestamp) - Date.parse(b.timestamp) || (a.event_id < b.event_id ? -1 : a.event_id > b.event_id ? 1 : 0);

/**
 * Feeds events in event-time order as a live stream (the wall clock is the event time), draining a
 * checkpoint every `drainEvery` events, then lets the wall clock run far ahead and drains the rest.
 */
function stream(events: readonly UserEvent[], drainEvery = 0, opts = OPTS): SessionRow[] {
  const s = createSessionizer(opts);
  const rows: SessionRow[] = [];
  const ordered = [...events].sort(byTimeThenId);
  let late = 0;
  ordered.forEach((e, i) => {
    const wall = Date.parse(e.timestamp);
    if (s.observe(e, 'Gold', wall).late) late++;
    if (drainEvery && (i + 1) % drainEvery === 0) {
      s.advance(wall);
      rows.push(...s.drain(wall));
    }
  });
  expect(late, 'late events in an in-order stream').toBe(0);
  s.advance(FAR);
  rows.push(...s.drain(FAR));
  expect(s.openCount).toBe(0);
  expect(s.pending).toBe(false);
  return rows;
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

/** The streamed sessions and the reference's, in comparable form. */
function compare(events: readonly UserEvent[], drainEvery = 0) {
  const rows = stream(events, drainEvery);
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

describe('in-order streams agree exactly with the reference', () => {
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
  ])('random users (seed %d, %d users × %d events, a checkpoint every %d events)', (seed, users, perUser, drainEvery) => {
    const events = randomEvents(seed, users, perUser);
    const { rows, actual, expected } = compare(events, drainEvery);
    expect(expected.length).toBeGreaterThan(users);
    expect(actual).toEqual(expected);
    // In order, no start ever moves: no tombstones, and each session is closed exactly once.
    expect(rows.filter((r) => r.is_deleted === 1)).toEqual([]);
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

describe('checkpoints, out-of-order events and tombstones', () => {
  test('an open session is checkpointed as not closed, with its id; an unchanged one is not written again', () => {
    const s = createSessionizer(OPTS);
    s.observe(eventAt(T0), 'Gold', T0);
    expect(s.pending).toBe(true);
    const rows = s.drain(T0);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ session_id: sessionId(USER, T0), is_closed: 0, closed_by: '', is_deleted: 0, event_count: 1 });
    expect(s.pending).toBe(false);
    expect(s.drain(T0 + 1)).toEqual([]);
  });

  test('an out-of-order event within the gap moves the start; the old id gets a tombstone once it was written', () => {
    const s = createSessionizer(OPTS);
    const e1 = eventAt(T0, { id: 1, page: '/one' });
    const e0 = eventAt(T0 - 10 * MIN, { id: 2, page: '/zero' });
    s.observe(e1, 'Gold', T0);
    expect(s.drain(T0).map((r) => [r.session_id, r.is_deleted])).toEqual([[sessionId(USER, T0), 0]]);

    expect(s.observe(e0, 'Gold', T0 + 1).late).toBe(false);
    const rows = s.drain(T0 + 1);
    expect(rows.map((r) => [r.session_id, r.is_deleted, r.is_closed])).toEqual([
      [sessionId(USER, T0), 1, 0],
      [sessionId(USER, T0 - 10 * MIN), 0, 0],
    ]);
    expect(rows[1]).toMatchObject({ start_time: e0.timestamp, end_time: e1.timestamp, event_count: 2, entry_page: '/zero', exit_page: '/one' });
    // The tombstone outranks the checkpoint it deletes.
    expect(rows[0]!.version).toBeGreaterThan(0);

    s.advance(FAR);
    const final = s.drain(FAR);
    expect(final.map((r) => [r.session_id, r.is_deleted, r.is_closed])).toEqual([[sessionId(USER, T0 - 10 * MIN), 0, 1]]);
    expect(closedRows(final).map(fromRow)).toEqual(referenceSessions([e1, e0], GAP).map(fromRef));
  });

  test('the start moving twice between checkpoints writes one tombstone, for the id last written', () => {
    const s = createSessionizer(OPTS);
    s.observe(eventAt(T0, { id: 1 }), 'Gold', T0);
    s.drain(T0);
    s.observe(eventAt(T0 - MIN, { id: 2 }), 'Gold', T0);
    s.observe(eventAt(T0 - 2 * MIN, { id: 3 }), 'Gold', T0);
    expect(s.drain(T0 + 1).map((r) => [r.session_id, r.is_deleted])).toEqual([
      [sessionId(USER, T0), 1],
      [sessionId(USER, T0 - 2 * MIN), 0],
    ]);
  });

  test('no tombstone when the old id was never written', () => {
    const s = createSessionizer(OPTS);
    s.observe(eventAt(T0, { id: 1 }), 'Gold', T0);
    s.observe(eventAt(T0 - 10 * MIN, { id: 2 }), 'Gold', T0);
    expect(s.drain(T0).map((r) => [r.session_id, r.is_deleted])).toEqual([[sessionId(USER, T0 - 10 * MIN), 0]]);
  });

  test('an out-of-order event only extends the end: the id stays, no tombstone', () => {
    const s = createSessionizer(OPTS);
    s.observe(eventAt(T0, { id: 1 }), 'Gold', T0);
    s.observe(eventAt(T0 + 10 * MIN, { id: 2 }), 'Gold', T0);
    s.drain(T0);
    s.observe(eventAt(T0 + 5 * MIN, { id: 3 }), 'Gold', T0 + 1);
    expect(s.drain(T0 + 1).map((r) => [r.session_id, r.is_deleted, r.event_count])).toEqual([[sessionId(USER, T0), 0, 3]]);
  });

  test('versions increase from row to row and drain to drain', () => {
    const s = createSessionizer(OPTS);
    const versions: number[] = [];
    for (let i = 0; i < 5; i++) {
      s.observe(eventAt(T0 + i * 1_000, { id: i + 1 }), 'Gold', T0 + i * 1_000);
      s.observe(eventAt(T0 + i * 1_000, { id: 100 + i, user: OTHER_USER }), 'Gold', T0 + i * 1_000);
      versions.push(...s.drain(T0 + i * 1_000).map((r) => r.version));
    }
    expect(versions).toHaveLength(10);
    for (let i = 1; i < versions.length; i++) expect(versions[i]!).toBeGreaterThan(versions[i - 1]!);
  });
});

describe('sessionIdFor', () => {
  test('finds the open session of an event, and nothing outside it or for another user', () => {
    const s = createSessionizer(OPTS);
    s.observe(eventAt(T0), 'Gold', T0);
    s.observe(eventAt(T0 + MIN), 'Gold', T0);
    const id = sessionId(USER, T0);
    expect([s.sessionIdFor(USER, T0), s.sessionIdFor(USER, T0 + 30_000), s.sessionIdFor(USER, T0 + MIN)]).toEqual([id, id, id]);
    expect(s.sessionIdFor(USER, T0 - 1)).toBeUndefined();
    expect(s.sessionIdFor(USER, T0 + MIN + 1)).toBeUndefined();
    expect(s.sessionIdFor(OTHER_USER, T0)).toBeUndefined();
  });

  test('follows a moved start', () => {
    const s = createSessionizer(OPTS);
    s.observe(eventAt(T0, { id: 1 }), 'Gold', T0);
    s.observe(eventAt(T0 - MIN, { id: 2 }), 'Gold', T0);
    expect(s.sessionIdFor(USER, T0)).toBe(sessionId(USER, T0 - MIN));
  });

  test('finds events of sessions closed but not yet drained, just drained, and not after the retention', () => {
    const s = createSessionizer(OPTS);
    const times = [T0, T0 + MIN, T0 + MIN + GAP + 1, T0 + 2 * MIN + GAP + 1];
    times.forEach((t, i) => s.observe(eventAt(t, { id: i + 1 }), 'Gold', t));
    const first = sessionId(USER, T0);
    const second = sessionId(USER, times[2]!);
    // The first session was closed by the gap, before any drain.
    expect(s.sessionIdFor(USER, T0 + MIN)).toBe(first);
    expect(s.sessionIdFor(USER, times[3]!)).toBe(second);

    const wall = times[3]! + 10_000;
    s.advance(wall);
    s.drain(wall);
    expect(s.sessionIdFor(USER, T0)).toBe(first);
    s.advance(FAR);
    s.drain(wall + 1_000);
    // Both are closed and drained now; a batch sealed just after still finds them.
    expect(s.sessionIdFor(USER, T0)).toBe(first);
    expect(s.sessionIdFor(USER, times[3]!)).toBe(second);
    // A gap between the sessions belongs to neither.
    expect(s.sessionIdFor(USER, T0 + 2 * MIN)).toBeUndefined();

    s.drain(wall + 1_000 + 120_001);
    expect(s.sessionIdFor(USER, T0)).toBeUndefined();
    expect(s.sessionIdFor(USER, times[3]!)).toBeUndefined();
  });
});

describe('the watermark', () => {
  test('starts at 0 and is the max event time minus the allowed lateness', () => {
    const s = createSessionizer(OPTS);
    expect(s.watermarkMs).toBe(0);
    s.observe(eventAt(T0 + 5_000, { id: 1 }), 'Gold', T0);
    s.observe(eventAt(T0, { id: 2, user: OTHER_USER }), 'Gold', T0);
    expect(s.advance(T0)).toBe(T0 + 5_000 - MIN);
    expect(s.watermarkMs).toBe(T0 + 5_000 - MIN);
  });

  test.each([
    ['busy: the wall clock is ignored', 999, T0 - MIN],
    ['idle for exactly the idle timeout: it follows the wall clock', 1_000, T0 + 10 * MIN - MIN + 1_000],
    ['idle for longer', 60_000, T0 + 10 * MIN - MIN + 60_000],
  ])('%s', (_what, idleMs, watermark) => {
    const s = createSessionizer(OPTS);
    const wall = T0 + 10 * MIN; // the wall clock runs ahead of event time
    s.observe(eventAt(T0), 'Gold', wall);
    expect(s.advance(wall + idleMs)).toBe(watermark);
  });

  test('never moves back', () => {
    const s = createSessionizer(OPTS);
    s.observe(eventAt(T0), 'Gold', T0);
    const high = s.advance(T0 + 3_600_000);
    expect(high).toBe(T0 + 3_600_000 - MIN);
    s.observe(eventAt(T0 + 1_000, { id: 2 }), 'Gold', T0 + 3_600_001);
    expect(s.advance(T0 + 3_600_001)).toBe(high);
  });

  test('does not follow the wall clock before any event arrived', () => {
    const s = createSessionizer(OPTS);
    expect(s.advance(T0)).toBe(0);
  });

  test('closes a session only once it passes the end plus the gap', () => {
    const s = createSessionizer({ ...OPTS, allowedLatenessMs: 0 });
    s.observe(eventAt(T0), 'Gold', T0);
    s.observe(eventAt(T0 + GAP, { id: 2, user: OTHER_USER }), 'Gold', T0);
    s.advance(T0);
    expect(s.openCount).toBe(2);
    s.observe(eventAt(T0 + GAP + 1, { id: 3, user: OTHER_USER }), 'Gold', T0);
    s.advance(T0);
    expect(s.openCount).toBe(1);
    expect(s.drain(T0).filter((r) => r.is_closed).map((r) => r.user_id)).toEqual([USER]);
  });

  test('closes a logged-out session as soon as it passes its end', () => {
    const s = createSessionizer({ ...OPTS, allowedLatenessMs: 0 });
    s.observe(eventAt(T0, { type: 'logout' }), 'Gold', T0);
    s.observe(eventAt(T0, { id: 2, user: OTHER_USER }), 'Gold', T0);
    s.advance(T0);
    expect(s.openCount).toBe(2);
    s.observe(eventAt(T0 + 1, { id: 3, user: OTHER_USER }), 'Gold', T0);
    s.advance(T0);
    expect(s.openCount).toBe(1);
    expect(s.drain(T0).filter((r) => r.is_closed)).toMatchObject([{ user_id: USER, closed_by: 'logout' }]);
  });
});

describe('late events', () => {
  test.each([
    ['one millisecond behind the watermark', -1, true],
    ['exactly at the watermark', 0, false],
    ['ahead of the watermark', 1, false],
  ])('an event %s is late: %s', (_what, offset, late) => {
    const s = createSessionizer(OPTS);
    s.observe(eventAt(T0), 'Gold', T0);
    const w = s.advance(T0);
    expect(s.observe(eventAt(w + offset, { id: 2, user: OTHER_USER }), 'Gold', T0).late).toBe(late);
  });

  test('nothing is late before the first advance', () => {
    const s = createSessionizer(OPTS);
    s.observe(eventAt(T0), 'Gold', T0);
    expect(s.observe(eventAt(T0 - 3_600_000, { id: 2, user: OTHER_USER }), 'Gold', T0).late).toBe(false);
  });

  test('a late event further behind the open session than the gap is a closed session of its own, still counted', () => {
    const s = createSessionizer(OPTS);
    s.observe(eventAt(T0, { id: 1 }), 'Gold', T0);
    s.advance(T0);
    const early = T0 - 2 * GAP;
    expect(s.observe(eventAt(early, { id: 2 }), 'Gold', T0).late).toBe(true);
    expect(s.sessionIdFor(USER, early)).toBe(sessionId(USER, early));
    const rows = s.drain(T0);
    expect(rows.map((r) => [r.session_id, r.is_closed, r.event_count])).toEqual([
      [sessionId(USER, early), 1, 1],
      [sessionId(USER, T0), 0, 1],
    ]);
  });
});
