import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createClickHouse } from '../../functions/adapters/clickhouse.js';
import { migrate } from '../../functions/adapters/migrations.js';
import { createLogger } from '../../functions/core/log.js';
import { createMetrics } from '../../functions/core/metrics.js';
import { createSessionizer } from '../../functions/sessionizer/sessionizer.js';
import { eventRow } from '../../functions/steps/to-row.js';
import { createRandom } from '../../generator/random.js';

/**
 * A snapshot is written between runs, one insert at a time: no insert of it starts while a run is
 * going, however the runs follow one another, and the snapshot still completes (a restarted
 * sessionizer loads every open user from it).
 */
const MIN = 60_000;
const T0 = Date.now() - 3 * 3600_000;
const USERS = 16_000; // four inserts of a full snapshot
const rnd = createRandom(41);
const config = (dir: string) => ({ CLICKHOUSE_URL: '', CLICKHOUSE_USER: 'default', CLICKHOUSE_PASSWORD: '', CLICKHOUSE_DATA_DIR: dir });
let dir: string;
let ch: ClickHouseClient;
let own: ClickHouseClient;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'snapshot-pace-'));
  ch = await createClickHouse(config(dir));
  own = await createClickHouse(config(dir));
});
afterAll(async () => {
  await ch?.close();
  await own?.close();
  rmSync(dir, { recursive: true, force: true });
});

const user = (i: number) => `5a5a5a5a-0000-4000-8000-${String(i).padStart(12, '0')}`;

describe('a snapshot between runs', () => {
  test('no insert of a snapshot starts while a run is going, and the snapshot completes', async () => {
    const db = 'snapshot_pace';
    await migrate(ch, db);
    let storedMs = Date.now() - 10 * MIN;
    const store = async (from: number, count: number, minute: number) => {
      storedMs += 5_000;
      const rows = Array.from({ length: count }, (_, i) => ({
        ...eventRow({ event_id: rnd.uuid(), user_id: user(from + i), event_type: 'page_view', timestamp: new Date(T0 + minute * MIN).toISOString(), page_url: `/p/${i % 50}` }, 'Gold', storedMs),
        stored_at: new Date(storedMs).toISOString(),
      }));
      await ch.insert({ table: `${db}.user_events_realtime`, values: rows, format: 'JSONEachRow' });
      return storedMs + 2_000;
    };

    let running = false;
    const snapshotInserts: { duringRun: boolean }[] = [];
    const paced = Object.create(own) as ClickHouseClient;
    paced.insert = ((p: Parameters<ClickHouseClient['insert']>[0]) => {
      if (p.table.endsWith('.sessionizer_open')) snapshotInserts.push({ duringRun: running });
      return own.insert(p);
    }) as ClickHouseClient['insert'];
    const options = { CLICKHOUSE_DATABASE: db, SESSION_GAP_MS: 30 * MIN, ALLOWED_LATENESS_MS: MIN, IDLE_TIMEOUT_MS: 3600_000, SESSIONIZER_SNAPSHOT_MS: 0 };
    const deps = { ch, snapshotCh: paced, metrics: createMetrics(), log: createLogger('test', 'warn') };
    const s = createSessionizer(options, deps);
    const run = async (at: number) => {
      running = true;
      try {
        return await s.runOnce(at);
      } finally {
        running = false;
      }
    };

    // The first run opens every user's session and starts a full snapshot; the next runs follow at
    // once, each with new events (as runs do when they fall behind), while it is written.
    const first = await run(await store(0, USERS, 0));
    expect(first.open).toBe(USERS);
    for (let k = 1; k <= 6; k++) await run(await store(k * 100, 100, k));
    await s.stop();

    expect(snapshotInserts.length).toBeGreaterThanOrEqual(4);
    expect(snapshotInserts.filter((x) => x.duringRun)).toEqual([]);

    const [chain] = await (await ch.query({ query: `SELECT chain_users FROM ${db}.sessionizer_state FINAL WHERE name = 'snapshot'`, format: 'JSONEachRow' })).json<{ chain_users: string[] }>();
    expect(Number(chain!.chain_users[0])).toBeGreaterThanOrEqual(USERS + 1); // every open user, and the row of rows read
    const next = createSessionizer(options, deps);
    const r = await next.runOnce(await store(USERS, 1, 7));
    expect(r.open).toBe(USERS + 1);
    await next.stop();
  }, 120_000);
});
