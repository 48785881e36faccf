import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createClickHouse } from '../../functions/adapters/clickhouse.js';
import { migrate } from '../../functions/adapters/migrations.js';
import { createLogger } from '../../functions/core/log.js';
import { createMetrics } from '../../functions/core/metrics.js';
import type { EventType, UserEvent } from '../../functions/schemas/events.js';
import { createSessionizer } from '../../functions/sessionizer/sessionizer.js';
import { eventRow } from '../../functions/steps/to-row.js';
import { createRandom } from '../../generator/random.js';
import { referenceSessions } from '../../generator/reference-sessions.js';

/**
 * Between runs every user's open sessions are kept encoded (encodeOpen), not as objects. A user who
 * comes back within the gap continues the same session (same id, folded without reading anything
 * back), and once the watermark passes it, it is written closed, also by a sessionizer that started
 * from a snapshot. Snapshots are chains: a full generation, then the users changed since (a user
 * whose sessions all closed as an empty state), full again once the chain would hold more than twice
 * the open users; a snapshot that fails leaves its users to the next one. Sessions equal the reference's.
 */
const MIN = 60_000;
const T0 = Date.now() - 6 * 3600_000; // event time
const W0 = Date.now() - 10 * MIN; // stored_at, advanced by each insert
const iso = (ms: number) => new Date(ms).toISOString();
const rnd = createRandom(97);
let dir: string;
let ch: ClickHouseClient;
let storedMs = W0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sessionizer-encoded-'));
  ch = await createClickHouse({ CLICKHOUSE_URL: '', CLICKHOUSE_USER: 'default', CLICKHOUSE_PASSWORD: '', CLICKHOUSE_DATA_DIR: dir });
});
afterAll(async () => {
  await ch?.close();
  rmSync(dir, { recursive: true, force: true });
});

const sessionizer = (db: string) => createSessionizer(
  { CLICKHOUSE_DATABASE: db, SESSION_GAP_MS: 30 * MIN, ALLOWED_LATENESS_MS: MIN, IDLE_TIMEOUT_MS: 3600_000 },
  { ch, metrics: createMetrics(), log: createLogger('test', 'warn') },
);

/** Stores events (user, minutes after T0, type) as one ingest flush; a run at `storedMs + 2 s` reads them. */
async function store(db: string, all: UserEvent[], events: [string, number, EventType?][]) {
  storedMs += 5_000;
  const list = events.map(([user_id, m, type]) => ({ event_id: rnd.uuid(), user_id, event_type: type ?? 'page_view', timestamp: iso(T0 + m * MIN), page_url: `/p/${m}` } as UserEvent));
  all.push(...list);
  await ch.insert({ table: `${db}.user_events_realtime`, values: list.map((e) => ({ ...eventRow(e, 'Gold', storedMs), stored_at: iso(storedMs) })), format: 'JSONEachRow' });
  return storedMs + 2_000;
}

async function sessions(db: string) {
  const rows = await (await ch.query({
    query: `SELECT toString(session_id) AS session_id, toUnixTimestamp64Milli(start_time) AS start_ms, toUnixTimestamp64Milli(end_time) AS end_ms, event_count, is_closed, closed_by
      FROM ${db}.user_sessions_realtime FINAL WHERE is_deleted = 0 ORDER BY session_id`, format: 'JSONEachRow',
  })).json<{ session_id: string; start_ms: string; end_ms: string; event_count: number; is_closed: number; closed_by: string }>();
  return rows.map((r) => ({ ...r, start_ms: Number(r.start_ms), end_ms: Number(r.end_ms), event_count: Number(r.event_count), is_closed: Number(r.is_closed) }));
}

/** The reference's sessions, closed where the watermark (`minute` after T0) has passed them. */
const reference = (all: UserEvent[], minute: number) => referenceSessions(all).sort((a, b) => (a.session_id < b.session_id ? -1 : 1)).map((x) => {
  const closed = x.closed_by === 'logout' ? x.end_ms < T0 + minute * MIN : x.end_ms + 30 * MIN < T0 + minute * MIN;
  return { session_id: x.session_id, start_ms: x.start_ms, end_ms: x.end_ms, event_count: x.event_count, is_closed: closed ? 1 : 0, closed_by: closed ? x.closed_by : '' };
});

/** The newest snapshot's chain: its generations' row counts (each with the row of rows read), and the generations stored. */
async function chainOf(db: string) {
  const [row] = await (await ch.query({ query: `SELECT chain, chain_users FROM ${db}.sessionizer_state FINAL WHERE name = 'snapshot'`, format: 'JSONEachRow' })).json<{ chain: string[]; chain_users: string[] }>();
  const stored = await (await ch.query({ query: `SELECT DISTINCT toString(generation) AS g FROM ${db}.sessionizer_open`, format: 'JSONEachRow' })).json<{ g: string }>();
  return { rows: (row?.chain_users ?? []).map(Number), last: row?.chain.at(-1) ?? '', stored: stored.length };
}
/** A generation's users and whether each holds open sessions (false: none left). */
async function generationUsers(db: string, generation: string) {
  const rows = await (await ch.query({ query: `SELECT toString(user_id) AS u, state != '' AS open FROM ${db}.sessionizer_open WHERE generation = ${generation} AND user_id != toUUID('00000000-0000-0000-0000-000000000000') ORDER BY u`, format: 'JSONEachRow' })).json<{ u: string; open: number }>();
  return Object.fromEntries(rows.map((r) => [r.u, Number(r.open) === 1]));
}

const users = (k: number, from: number) => Array.from({ length: k }, (_, i) => `e1c7e1c7-0000-4000-8000-${String(from + i).padStart(12, '0')}`);

describe('open sessions kept encoded between runs continue and close as the reference says', () => {
  test('a user back after 20 idle minutes continues their session, and it closes by timeout as the reference says', async () => {
    const db = 'encoded_continue';
    await migrate(ch, db);
    const all: UserEvent[] = [];
    const s = sessionizer(db);
    const [a, b, c, clock] = users(4, 0);
    // c logs out: closed once the watermark passes the logout.
    await s.runOnce(await store(db, all, [[a!, 0], [a!, 1], [b!, 0], [c!, 0], [c!, 1, 'logout']]));
    const r = await s.runOnce(await store(db, all, [[clock!, 10]]));
    expect(r.open).toBe(3); // a, b and the clock's (c's logout closed it)

    // a comes back within the gap: the session continues (one session, 3 events, same id), folded from its encoded form.
    const back = await s.runOnce(await store(db, all, [[a!, 20], [clock!, 21]]));
    expect(back.recomputed).toBe(0);
    expect(back.open).toBe(3); // a, b and the clock's (10 and 21 are one visit)
    const aRows = (await sessions(db)).filter((x) => x.start_ms === T0 && x.event_count === 3);
    expect(aRows).toHaveLength(1);

    // The watermark passes every session's end plus the gap: each is closed, as the reference has it.
    const closing = await s.runOnce(await store(db, all, [[clock!, 120]]));
    expect(closing.open).toBe(1); // the clock's own last visit
    await s.runOnce(await store(db, all, [[users(1, 9)[0]!, 300]]));
    expect(await sessions(db)).toEqual(reference(all, 299));
  }, 60_000);

  test('a sessionizer started from a snapshot continues and closes the sessions it holds', async () => {
    const db = 'encoded_snapshot';
    await migrate(ch, db);
    const all: UserEvent[] = [];
    const first = sessionizer(db);
    const list = users(30, 100);
    const [clock] = users(1, 200);
    await first.runOnce(await store(db, all, list.map((u, i) => [u, i % 3] as [string, number])));
    expect((await first.runOnce(await store(db, all, [[clock!, 15]]))).open).toBe(31);
    await first.stop({ snapshot: true });

    const next = sessionizer(db);
    // Two of them come back after the restart, one within the gap, one past it.
    const r = await next.runOnce(await store(db, all, [[list[0]!, 25], [list[1]!, 45], [clock!, 46]]));
    expect(r.recomputed).toBe(0);
    // The watermark (45) passes the 28 who did not come back (their end plus the gap): closed from the
    // snapshot's sessions.
    expect(r.open).toBe(4); // those two, and the clock's two visits (15 is not yet past its gap)
    await next.runOnce(await store(db, all, [[clock!, 200]]));
    await next.runOnce(await store(db, all, [[users(1, 300)[0]!, 400]]));
    const got = await sessions(db);
    expect(got).toEqual(reference(all, 399));
    expect(got.filter((x) => x.is_closed === 1)).toHaveLength(34); // 30 users (one twice), the clock's three visits (15, 46, 200)
  }, 60_000);

  test('a run whose session write fails closes the same sessions at the next run', async () => {
    const db = 'encoded_failed_write';
    await migrate(ch, db);
    const all: UserEvent[] = [];
    const s = sessionizer(db);
    const list = users(5, 500);
    const [clock] = users(1, 600);
    await s.runOnce(await store(db, all, list.map((u, i) => [u, i] as [string, number])));
    // The watermark passes every one of them by the gap, while the sessions table cannot be written.
    const at = await store(db, all, [[clock!, 40]]);
    await ch.command({ query: `DETACH TABLE ${db}.user_sessions_realtime` });
    await expect(s.runOnce(at)).rejects.toThrow();
    await ch.command({ query: `ATTACH TABLE ${db}.user_sessions_realtime` });
    const r = await s.runOnce(at + 1_000);
    expect(r.open).toBe(1); // the clock's
    const got = await sessions(db);
    expect(got).toEqual(reference(all, 39));
    expect(got.filter((x) => x.is_closed === 1)).toHaveLength(5);
  }, 60_000);
});

describe('snapshots: a full generation, then the users changed since', () => {
  test('a chain of a full snapshot and a delta restores the open sessions, users with none left included; a full one again drops the older generations', async () => {
    const db = 'snapshot_chain';
    await migrate(ch, db);
    const all: UserEvent[] = [];
    const list = users(30, 700);
    const [clock] = users(1, 800);
    const a = sessionizer(db);
    await a.runOnce(await store(db, all, list.map((u, i) => [u, i % 3] as [string, number])));
    expect((await a.runOnce(await store(db, all, [[clock!, 15]]))).open).toBe(31);
    await a.stop({ snapshot: true });
    expect(await chainOf(db)).toMatchObject({ rows: [32], stored: 1 }); // 31 users and the rows read

    // One comes back, three log out (closed once the watermark, 24, passes the logout).
    const b = sessionizer(db);
    const back = await b.runOnce(await store(db, all, [[list[0]!, 20], [list[1]!, 20, 'logout'], [list[2]!, 20, 'logout'], [list[3]!, 20, 'logout'], [clock!, 25]]));
    expect(back.open).toBe(28);
    await b.stop({ snapshot: true });
    const delta = await chainOf(db);
    expect(delta).toMatchObject({ rows: [32, 6], stored: 2 }); // the 5 changed users
    expect(await generationUsers(db, delta.last)).toEqual({ [list[0]!]: true, [list[1]!]: false, [list[2]!]: false, [list[3]!]: false, [clock!]: true });

    // Loaded in order: the three who logged out have nothing open.
    const c = sessionizer(db);
    const r = await c.runOnce(await store(db, all, [[clock!, 26]]));
    expect(r).toMatchObject({ recomputed: 0, open: 28 });
    // 26 come back: a delta would make the chain 32 + 6 + 27 rows, more than twice 28; the snapshot is full.
    expect((await c.runOnce(await store(db, all, list.slice(4).map((u) => [u, 27] as [string, number])))).open).toBe(28);
    await c.stop({ snapshot: true });
    expect(await chainOf(db)).toMatchObject({ rows: [29], stored: 1 });

    const d = sessionizer(db);
    expect((await d.runOnce(await store(db, all, [[clock!, 28]]))).open).toBe(28);
    await d.runOnce(await store(db, all, [[users(1, 900)[0]!, 400]]));
    expect(await sessions(db)).toEqual(reference(all, 399));
  }, 60_000);

  test('a snapshot that fails leaves its users to the next one', async () => {
    const db = 'snapshot_failed';
    await migrate(ch, db);
    const all: UserEvent[] = [];
    const list = users(10, 1000);
    const s = sessionizer(db);
    await s.runOnce(await store(db, all, list.map((u) => [u, 0] as [string, number])));
    await s.stop({ snapshot: true });
    await s.runOnce(await store(db, all, [[list[0]!, 5]]));
    await ch.command({ query: `DETACH TABLE ${db}.sessionizer_open` });
    await s.stop({ snapshot: true }); // fails: logged, not thrown
    await ch.command({ query: `ATTACH TABLE ${db}.sessionizer_open` });
    expect(await chainOf(db)).toMatchObject({ rows: [11] });
    await s.runOnce(await store(db, all, [[list[1]!, 6]]));
    await s.stop({ snapshot: true });
    const chain = await chainOf(db);
    expect(chain.rows).toEqual([11, 3]);
    expect(await generationUsers(db, chain.last)).toEqual({ [list[0]!]: true, [list[1]!]: true });

    // A sessionizer from that chain has list[0]'s event of minute 5, which it does not replay (the cursor is past it).
    const next = sessionizer(db);
    await next.runOnce(await store(db, all, [[users(1, 1100)[0]!, 400]]));
    expect(await sessions(db)).toEqual(reference(all, 399));
  }, 60_000);
});
