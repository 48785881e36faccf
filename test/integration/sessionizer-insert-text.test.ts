import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createClickHouse } from '../../functions/adapters/clickhouse.js';
import { migrate } from '../../functions/adapters/migrations.js';
import { createLogger } from '../../functions/core/log.js';
import { createMetrics } from '../../functions/core/metrics.js';
import { createSessionStore } from '../../functions/sessionizer/store.js';
import { foldEvent, openSession, sessionRow } from '../../functions/steps/sessionize.js';
import { createRandom } from '../../generator/random.js';
import { startClickHouseServer } from '../helpers/clickhouse-server.js';

/**
 * The sessionizer's rows as TabSeparated text: megabytes of it in one insert (far past ClickHouse's
 * max_query_size, which the embedded connection's inline body must not trip), on the embedded
 * engine and on a server over HTTP, with the deduplication token honoured.
 */
const ROWS = 20_000;
const rnd = createRandom(4711);
const T0 = Date.now() - 3600_000;

function rows(version: number) {
  return Array.from({ length: ROWS }, (_, i) => {
    const user = rnd.uuid();
    const page = i % 1000 === 0 ? "/search?q=a\tb\nc\\d'e\"f\u00e9" : `/product/P${String(i % 5000).padStart(5, '0')}`;
    const s = openSession({ event_id: rnd.uuid(), user_id: user, user_tier: 'Gold', event_type: 'page_view', timestampMs: T0 + i, page_url: page, price: '0', quantity: 0 });
    foldEvent(s, { event_id: rnd.uuid(), user_id: user, user_tier: 'Gold', event_type: 'purchase', timestampMs: T0 + i + 1000, page_url: page, price: '12.34', quantity: 2 });
    return sessionRow(s, false, version);
  });
}

describe.each([
  ['the embedded engine', async () => ({ url: '', stop: async () => undefined })],
  ['a server over HTTP', async () => startClickHouseServer()],
])('session rows as TabSeparated text, on %s', (_, start) => {
  let server: { url: string; stop: () => Promise<void> };
  let dir: string;
  let ch: ClickHouseClient;
  beforeAll(async () => {
    server = await start();
    dir = mkdtempSync(join(tmpdir(), 'sessionizer-insert-text-'));
    ch = await createClickHouse({ CLICKHOUSE_URL: server.url, CLICKHOUSE_USER: 'default', CLICKHOUSE_PASSWORD: '', CLICKHOUSE_DATA_DIR: dir });
  }, 90_000);
  afterAll(async () => {
    await ch?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test(`${ROWS} rows in one insert, each stored once, a retry with the same token dropped`, async () => {
    const db = `insert_text_${server.url ? 'server' : 'embedded'}`;
    await migrate(ch, db);
    const store = createSessionStore(db, { ch, metrics: createMetrics(), log: createLogger('test', 'warn') });
    const written = rows(1);
    await store.insertSessions(written, 'text-1');
    await store.insertSessions(written, 'text-1');
    const [r] = await (await ch.query({
      query: `SELECT count() AS n, countIf(position(entry_page, '\t') > 0) AS weird, sum(revenue) AS revenue FROM ${db}.user_sessions_realtime`, format: 'JSONEachRow',
    })).json<{ n: string; weird: string; revenue: string }>();
    expect(r).toEqual({ n: String(ROWS), weird: String(ROWS / 1000), revenue: (ROWS * 24.68).toFixed(2) });
  }, 120_000);
});
