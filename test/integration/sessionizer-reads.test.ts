import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createClickHouse } from '../../functions/adapters/clickhouse.js';
import { migrate } from '../../functions/adapters/migrations.js';
import { loadConfig } from '../../functions/core/config.js';
import { createLogger } from '../../functions/core/log.js';
import { createMetrics } from '../../functions/core/metrics.js';
import { createSessionizer } from '../../functions/sessionizer/sessionizer.js';
import { createRandom } from '../../generator/random.js';
import { startClickHouseServer } from '../helpers/clickhouse-server.js';

/**
 * Closed sessions are never read again: with history stored (200,000 closed sessions and their
 * 1,000,000 events), a sessionizer run reads what ClickHouse itself reports (X-ClickHouse-Summary
 * read_rows of every query) as a few rows per new event, not history; a late event costs a read of
 * its own user, not of the table.
 */
const HISTORY_USERS = 100_000;
const HISTORY_SESSIONS = 200_000;
const HISTORY_EVENTS = 1_000_000;
const userOf = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

let server: Awaited<ReturnType<typeof startClickHouseServer>>;
let ch: ClickHouseClient;
let readRows = 0;
const config = loadConfig({ CLICKHOUSE_DATABASE: 'sessionizer_reads', ALLOWED_LATENESS_MS: '60000', LOG_LEVEL: 'warn' });

beforeAll(async () => {
  server = await startClickHouseServer();
  ch = await createClickHouse({ ...config, CLICKHOUSE_URL: server.url });
  await migrate(ch, config.CLICKHOUSE_DATABASE);
  const db = config.CLICKHOUSE_DATABASE;
  // History: users' events over the last 30 days, stored then (so not in the inbox), and their sessions, closed.
  await ch.command({ query: `
    INSERT INTO ${db}.user_events_realtime (event_id, event_type, user_id, user_tier, timestamp, page_url, product_id, category, price, quantity, search_query, order_id, device_type, referrer, sign, received_at, stored_at)
    SELECT generateUUIDv4(number), 'page_view', toUUID(concat('00000000-0000-4000-8000-', leftPad(toString(number % ${HISTORY_USERS}), 12, '0'))), 'Gold',
           now64(3) - toIntervalSecond(86400 * 2 + (number % 2_500_000)), '/', '', '', 0, 0, '', toUUID('00000000-0000-0000-0000-000000000000'), 'desktop', '', 1,
           now64(3) - toIntervalDay(31), now64(3) - toIntervalDay(31)
    FROM numbers(${HISTORY_EVENTS})` });
  await ch.command({ query: `
    INSERT INTO ${db}.user_sessions_realtime (session_id, user_id, user_tier, start_time, end_time, duration_ms, event_count, event_type_counts, page_views, purchases, revenue, converted, entry_page, exit_page, is_closed, closed_by, is_deleted, version)
    SELECT generateUUIDv4(number), toUUID(concat('00000000-0000-4000-8000-', leftPad(toString(number % ${HISTORY_USERS}), 12, '0'))), 'Gold',
           now64(3) - toIntervalSecond(86400 * 3 + number * 10), now64(3) - toIntervalSecond(86400 * 3 + number * 10 - 60), 60000, 5, map('page_view', 5), 5, 0, 0, 0, '/', '/', 1, 'timeout', 0, 1
    FROM numbers(${HISTORY_SESSIONS})` });
  // Every read's rows, as the server counts them.
  const query = ch.query.bind(ch);
  ch.query = (async (params: Parameters<ClickHouseClient['query']>[0]) => {
    const rs = await query(params);
    readRows += Number(JSON.parse(String(rs.response_headers['x-clickhouse-summary'] ?? '{}')).read_rows ?? 0);
    return rs;
  }) as ClickHouseClient['query'];
}, 300_000);

afterAll(async () => {
  await ch?.close();
  await server?.stop();
});

/** Rows stored in the last second are left for the next run (an insert may still be landing). */
const settle = () => new Promise((r) => setTimeout(r, 1_200));

async function measured<T>(work: () => Promise<T>) {
  readRows = 0;
  const result = await work();
  return { result, rows: readRows };
}

describe('a sessionizer run reads the new events and the sessions they touch, not history', () => {
  const sessionizer = () => createSessionizer(config, { ch, metrics: createMetrics(), log: createLogger('test', 'warn') });
  const rnd = createRandom(5);
  const events = (users: number[], at: number) => users.map((u) => ({
    event_id: rnd.uuid(), event_type: 'page_view', user_id: userOf(u), user_tier: 'Gold', timestamp: new Date(at).toISOString(), page_url: '/',
    product_id: '', category: '', price: '0', quantity: 0, search_query: '', order_id: '00000000-0000-0000-0000-000000000000', device_type: 'desktop', referrer: '',
    received_at: new Date(at).toISOString(),
  }));

  test('no new events, new events of 400 users, then a late event into a closed session', async () => {
    const s = sessionizer();
    const idle = await measured(() => s.runOnce(Date.now()));
    expect(idle.rows).toBeLessThan(1_000);

    // 300 history users come back and 100 new users arrive, two events each.
    const now = Date.now();
    const users = [...Array.from({ length: 300 }, (_, i) => i * 7), ...Array.from({ length: 100 }, (_, i) => HISTORY_USERS + i)];
    await ch.insert({ table: `${config.CLICKHOUSE_DATABASE}.user_events_realtime`, values: [...events(users, now - 5_000), ...events(users, now - 4_000)], format: 'JSONEachRow' });
    await settle();
    const live = await measured(() => s.runOnce());
    expect(live.result).toMatchObject({ users: 400, recomputed: 0 });
    expect(live.rows).toBeLessThan(5 * 800 + 1_000);
    expect(live.rows).toBeLessThan((HISTORY_EVENTS + HISTORY_SESSIONS) / 100);
    const [open] = await (await ch.query({ query: `SELECT count() AS n, sum(event_count) AS events FROM ${config.CLICKHOUSE_DATABASE}.user_sessions_realtime FINAL WHERE is_closed = 0`, format: 'JSONEachRow' })).json<{ n: string; events: string }>();
    expect(open).toEqual({ n: '400', events: '800' });

    // A late event, ten days back, for one history user: only that user is read again.
    await ch.insert({ table: `${config.CLICKHOUSE_DATABASE}.user_events_realtime`, values: events([42], Date.now() - 10 * 86400_000), format: 'JSONEachRow' });
    await settle();
    const late = await measured(() => s.runOnce());
    expect(late.result).toMatchObject({ recomputed: 1, late: 1 });
    expect(late.rows).toBeLessThan((HISTORY_EVENTS + HISTORY_SESSIONS) / 10);
  }, 120_000);
});
