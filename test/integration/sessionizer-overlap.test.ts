import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createClickHouse } from '../../functions/adapters/clickhouse.js';
import { migrate, migrationStatements } from '../../functions/adapters/migrations.js';
import { createLogger } from '../../functions/core/log.js';
import { createMetrics } from '../../functions/core/metrics.js';
import type { EventType, UserEvent } from '../../functions/schemas/events.js';
import { createSessionizer } from '../../functions/sessionizer/sessionizer.js';
import { createSessionStore, normalize } from '../../functions/sessionizer/store.js';
import { foldEvent, openSession, sessionRow, type SessionRow } from '../../functions/steps/sessionize.js';
import { eventRow } from '../../functions/steps/to-row.js';
import { createRandom } from '../../generator/random.js';
import { referenceSessions } from '../../generator/reference-sessions.js';

/**
 * The overlap each run reads again (a slow insert can become visible late) is left out inside
 * ClickHouse by block: a run parses only rows it has not read, also after the inbox's parts merged,
 * and a block that becomes visible late inside the overlap is still read. Without block numbers
 * kept through merges (an inbox made before sql/079), nothing is left out by block.
 */
const T0 = Date.now() - 10 * 60_000;
const iso = (ms: number) => new Date(ms).toISOString();
let dir: string;
let ch: ClickHouseClient;
const rnd = createRandom(79);
const TYPES: EventType[] = ['page_view', 'product_view', 'search', 'add_to_cart'];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sessionizer-overlap-'));
  ch = await createClickHouse({ CLICKHOUSE_URL: '', CLICKHOUSE_USER: 'default', CLICKHOUSE_PASSWORD: '', CLICKHOUSE_DATA_DIR: dir });
});
afterAll(async () => {
  await ch?.close();
  rmSync(dir, { recursive: true, force: true });
});

const config = (db: string) => ({ CLICKHOUSE_DATABASE: db, SESSION_GAP_MS: 30 * 60_000, ALLOWED_LATENESS_MS: 60 * 60_000, IDLE_TIMEOUT_MS: 3600_000 });
const sessionizer = (db: string) => createSessionizer(config(db), { ch, metrics: createMetrics(), log: createLogger('test', 'warn') });

/** `n` events of `users`, each one insert with its own stored_at (as an ingest flush). */
async function insert(db: string, users: string[], n: number, storedMs: number, eventMs: number, all: UserEvent[]) {
  const events: UserEvent[] = Array.from({ length: n }, (_, i) => ({
    event_id: rnd.uuid(), user_id: users[i % users.length]!, event_type: TYPES[i % TYPES.length]!, timestamp: iso(eventMs + i), page_url: `/p/${i % 7}`,
  } as UserEvent));
  all.push(...events);
  await ch.insert({ table: `${db}.user_events_realtime`, values: events.map((e) => ({ ...eventRow(e, 'Gold', storedMs), stored_at: iso(storedMs) })), format: 'JSONEachRow' });
}

async function sessionsEqualReference(db: string, all: UserEvent[]) {
  const rows = await (await ch.query({ query: `SELECT toString(session_id) AS session_id, toUnixTimestamp64Milli(start_time) AS start_ms, toUnixTimestamp64Milli(end_time) AS end_ms, event_count
    FROM ${db}.user_sessions_realtime FINAL WHERE is_deleted = 0 ORDER BY session_id`, format: 'JSONEachRow' })).json<{ session_id: string; start_ms: string; end_ms: string; event_count: number }>();
  const want = referenceSessions(all).sort((a, b) => (a.session_id < b.session_id ? -1 : 1));
  expect(rows.map((r) => ({ ...r, start_ms: Number(r.start_ms), end_ms: Number(r.end_ms), event_count: Number(r.event_count) })))
    .toEqual(want.map((x) => ({ session_id: x.session_id, start_ms: x.start_ms, end_ms: x.end_ms, event_count: x.event_count })));
}

const users = (k: number, from: number) => Array.from({ length: k }, (_, i) => `5c0ffee0-0000-4000-8000-${String(from + i).padStart(12, '0')}`);

describe('the overlap is left out by block inside ClickHouse', () => {
  test('a run parses only new rows, after a merge too, and a block visible late inside the overlap is read', async () => {
    const db = 'overlap_blocks';
    await migrate(ch, db);
    const all: UserEvent[] = [];
    const s = sessionizer(db);
    const a = users(20, 0), b = users(20, 100);
    for (let k = 0; k < 3; k++) await insert(db, a, 100, T0 + 100 * (k + 1), T0 - 60_000 + k * 1_000, all);
    expect((await s.runOnce(T0 + 2_000)).read).toBe(300);

    // The next run's window starts 10 s before its cursor: the 300 rows are in it, and stay in ClickHouse.
    await insert(db, a, 50, T0 + 1_500, T0 - 50_000, all);
    await insert(db, b, 50, T0 + 1_600, T0 - 50_000, all);
    expect((await s.runOnce(T0 + 3_000)).read).toBe(100);

    // Every part merged into one: each row keeps its block's number.
    await ch.command({ query: `OPTIMIZE TABLE ${db}.sessionizer_inbox FINAL` });
    const [parts] = await (await ch.query({ query: `SELECT count() AS n, uniqExact(_block_number) AS blocks FROM ${db}.sessionizer_inbox`, format: 'JSONEachRow' })).json<{ n: string; blocks: string }>();
    expect(Number(parts!.blocks)).toBe(5);
    // A slow insert visible only now, stored before the cursor (inside the overlap), and a new one.
    await insert(db, users(10, 200), 30, T0 + 500, T0 - 40_000, all);
    await insert(db, b, 20, T0 + 3_500, T0 - 30_000, all);
    expect((await s.runOnce(T0 + 5_000)).read).toBe(50);
    await ch.command({ query: `OPTIMIZE TABLE ${db}.sessionizer_inbox FINAL` });
    expect((await s.runOnce(T0 + 6_000)).read).toBe(0);
    await sessionsEqualReference(db, all);

    // A second sessionizer with no snapshot to start from replays the inbox: the same sessions.
    const again = sessionizer(db);
    await again.runOnce(T0 + 7_000);
    await sessionsEqualReference(db, all);
  }, 120_000);

  test('an inbox made before sql/079 gets block numbers at the next start; without them nothing is left out by block', async () => {
    const db = 'overlap_old_inbox';
    // Every migration but sql/079: the inbox as it was made before it.
    for (const { file, sql } of migrationStatements(db)) if (!file.startsWith('079_')) await ch.command({ query: sql });
    const setting = async () => (await (await ch.query({ query: `SELECT engine_full FROM system.tables WHERE database = '${db}' AND name = 'sessionizer_inbox'`, format: 'JSONEachRow' })).json<{ engine_full: string }>())[0]!.engine_full;
    expect(await setting()).not.toContain('enable_block_number_column');

    const all: UserEvent[] = [];
    const s = sessionizer(db);
    for (let k = 0; k < 3; k++) await insert(db, users(10, 300), 40, T0 + 100 * (k + 1), T0 - 60_000 + k * 1_000, all);
    expect((await s.runOnce(T0 + 2_000)).read).toBe(120);
    // Merged without block numbers, the three inserts would report one: a slow insert of the same
    // stored_at, merged in with them, would be left out were blocks trusted. They are not: the whole overlap is read.
    await ch.command({ query: `OPTIMIZE TABLE ${db}.sessionizer_inbox FINAL` });
    await insert(db, users(10, 400), 30, T0 + 100, T0 - 45_000, all);
    await ch.command({ query: `OPTIMIZE TABLE ${db}.sessionizer_inbox FINAL` });
    expect((await s.runOnce(T0 + 3_000)).read).toBe(150);
    await sessionsEqualReference(db, all);

    await migrate(ch, db);
    expect(await setting()).toContain('enable_block_number_column = 1');
    await insert(db, users(10, 500), 10, T0 + 2_500, T0 - 20_000, all);
    const next = sessionizer(db);
    await next.runOnce(T0 + 4_000);
    await insert(db, users(10, 500), 10, T0 + 4_500, T0 - 10_000, all);
    // The new sessionizer read the overlap once in full; from now on only new rows.
    expect((await next.runOnce(T0 + 6_000)).read).toBe(10);
    await sessionsEqualReference(db, all);
  }, 120_000);
});

describe('a run takes at most maxRowsPerRun rows, ending between two milliseconds of stored_at', () => {
  test('a backlog is worked off over several runs, and one millisecond holding more rows than a run takes is read whole', async () => {
    const db = 'overlap_limit';
    await migrate(ch, db);
    const all: UserEvent[] = [];
    const s = createSessionizer({ ...config(db), maxRowsPerRun: 10 }, { ch, metrics: createMetrics(), log: createLogger('test', 'warn') });
    const list = users(7, 900);
    const at = T0 + 60_000;
    await insert(db, list, 6, at, T0, all); // six rows in one millisecond,
    await insert(db, list, 25, at + 1, T0 + 100, all); // then 25 in the next: more than a run takes,
    const first = await s.runOnce(at + 5_000);
    expect(first.users).toBeGreaterThan(0);
    // ... and the first run stopped before the 25: a millisecond is never split between runs.
    expect(first.read).toBe(10);
    const second = await s.runOnce(at + 5_000);
    expect(second.read).toBe(25);
    await sessionsEqualReference(db, all);
  }, 60_000);
});

describe('session rows are written as TabSeparated text', () => {
  test('pages with tabs, newlines, backslashes and quotes are stored as sent; every column as the JSON rows were', async () => {
    const db = 'sessions_tsv';
    await migrate(ch, db);
    const store = createSessionStore(db, { ch, metrics: createMetrics(), log: createLogger('test', 'warn') });
    const weird = "/search?q=a\tb\nc\\d'e\"f\u00e9\u{1F600}";
    const start = T0 - 120_000;
    const s = { ...openSession({ event_id: rnd.uuid(), user_id: users(1, 900)[0]!, user_tier: 'Go\tld', event_type: 'purchase', timestampMs: start, page_url: weird, price: '12.34', quantity: 2 }) };
    foldEvent(s, { event_id: rnd.uuid(), user_id: s.user_id, user_tier: 'Go\tld', event_type: 'purchase', timestampMs: start + 5_000, page_url: '\\', price: '12.34', quantity: 2 });
    const row = sessionRow(s, true, 7, { gapMs: 30 * 60_000, maxDurationMs: 24 * 3600_000 });
    await store.insertSessions([row], 'tsv-test');
    const [back] = await store.query<SessionRow>('chunkSessions', { users: [s.user_id], froms: [start], gap: 30 * 60_000 });
    expect(normalize(back!)).toEqual(row);
  });
});
