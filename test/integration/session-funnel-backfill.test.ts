import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createClickHouse } from '../../functions/adapters/clickhouse.js';
import { migrate, migrationStatements } from '../../functions/adapters/migrations.js';

/**
 * session_funnel holds every column the session summary and the recent-sessions list read
 * (sql/081-083), so both read a start-time range. A database made before that gets its current
 * sessions filled once at the next start; later starts insert nothing; new versions arrive filled.
 */
let dir: string;
let ch: ClickHouseClient;
const db = 'funnel_backfill';
const iso = (ms: number) => new Date(ms).toISOString();
const T0 = Date.parse('2026-11-30T10:00:00.000Z');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'session-funnel-backfill-'));
  ch = await createClickHouse({ CLICKHOUSE_URL: '', CLICKHOUSE_USER: 'default', CLICKHOUSE_PASSWORD: '', CLICKHOUSE_DATA_DIR: dir });
});
afterAll(async () => {
  await ch?.close();
  rmSync(dir, { recursive: true, force: true });
});

const session = (n: number, version: number, events: number, closed: boolean) => ({
  session_id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, user_id: `10000000-0000-4000-8000-${String(n).padStart(12, '0')}`, user_tier: 'Gold',
  start_time: iso(T0 + n * 60_000), end_time: iso(T0 + n * 60_000 + events * 20_000), duration_ms: events * 20_000, event_count: events,
  event_type_counts: { page_view: events }, page_views: events, purchases: n % 2, revenue: (n % 2) * 12.5, converted: n % 2, entry_page: `/in/${n}`,
  exit_page: `/out/${n}\ttab`, is_closed: closed ? 1 : 0, closed_by: closed ? 'timeout' : '', is_deleted: 0, version, funnel_step: 1, funnel_ms: 0,
});
const write = (rows: ReturnType<typeof session>[]) => ch.insert({ table: `${db}.user_sessions_realtime`, values: rows, format: 'JSONEachRow' });
const q = async <T>(sql: string) => (await ch.query({ query: sql.replaceAll('{db}', db), format: 'JSONEachRow' })).json<T>();
const COLUMNS = `toString(session_id) AS id, toString(end_time) AS end_time, duration_ms, event_count, page_views, purchases, toString(revenue) AS revenue,
                 converted, entry_page, exit_page, is_closed, closed_by`;

describe('session_funnel: the sessions by start time, with the columns the summary and the recent list read', () => {
  test('a database made before them is filled once; later starts insert nothing; new versions arrive filled', async () => {
    for (const { file, sql } of migrationStatements(db)) if (file < '081') await ch.command({ query: sql });
    await write([session(1, 1, 3, false), session(2, 1, 1, false)]);
    await write([session(1, 2, 5, true), session(3, 1, 2, false)]);
    const [before] = await q<{ n: string }>(`SELECT count() AS n FROM {db}.session_funnel`);
    expect(Number(before!.n)).toBe(4); // the old view's rows, without the new columns

    await migrate(ch, db);
    const want = await q<Record<string, unknown>>(`SELECT ${COLUMNS} FROM {db}.user_sessions_realtime FINAL ORDER BY id`);
    const got = () => q<Record<string, unknown>>(`SELECT ${COLUMNS} FROM {db}.session_funnel FINAL ORDER BY id`);
    expect(await got()).toEqual(want);
    expect(want.map((r) => Number(r.event_count))).toEqual([5, 1, 2]);

    const rows = async () => Number((await q<{ n: string }>('SELECT count() AS n FROM {db}.session_funnel'))[0]!.n);
    const after = await rows();
    await migrate(ch, db);
    expect(await rows()).toBe(after);

    await write([session(2, 2, 4, true)]);
    const [two] = await q<{ event_count: number; filled: number }>(`SELECT event_count, filled FROM {db}.session_funnel FINAL WHERE session_id = toUUID('00000000-0000-4000-8000-000000000002')`);
    expect({ event_count: Number(two!.event_count), filled: Number(two!.filled) }).toEqual({ event_count: 4, filled: 1 });
    expect(await got()).toEqual(await q<Record<string, unknown>>(`SELECT ${COLUMNS} FROM {db}.user_sessions_realtime FINAL ORDER BY id`));
  }, 60_000);
});
