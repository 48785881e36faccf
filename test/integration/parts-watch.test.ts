import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createClickHouse } from '../../functions/adapters/clickhouse.js';
import { migrate } from '../../functions/adapters/migrations.js';
import { countParts } from '../../functions/adapters/parts-watch.js';
import { createMetrics } from '../../functions/core/metrics.js';

/** The parts gauges count what system.parts holds: every active part of a table, and of its fullest partition. */
let dir: string;
let ch: ClickHouseClient;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'parts-watch-'));
  ch = await createClickHouse({ CLICKHOUSE_URL: '', CLICKHOUSE_USER: 'default', CLICKHOUSE_PASSWORD: '', CLICKHOUSE_DATA_DIR: dir });
});
afterAll(async () => {
  await ch?.close();
  rmSync(dir, { recursive: true, force: true });
});

const gauge = async (metrics: ReturnType<typeof createMetrics>, name: string, table: string) =>
  (await metrics.registry.getSingleMetric(name)!.get()).values.find((v) => v.labels.table === table)?.value;

describe('ClickHouse parts gauges', () => {
  test('active parts of a table and of its fullest partition, as inserts add them', async () => {
    const db = 'parts_watch';
    await migrate(ch, db);
    await ch.command({ query: `SYSTEM STOP MERGES ${db}.late_events` });
    const insert = (month: string, i: number) => ch.insert({
      table: `${db}.late_events`, format: 'JSONEachRow',
      values: [{ event_id: `00000000-0000-4000-8000-00000000000${i}`, user_id: '00000000-0000-4000-8000-000000000001', timestamp: `${month}-02 10:00:00.000`, watermark: `${month}-02 10:01:00.000`, lateness_ms: 60_000, seen_at: `${month}-02 10:01:00.000` }],
    });
    const metrics = createMetrics();
    for (let i = 1; i <= 3; i++) await insert('2026-11', i); // three parts in one partition
    await countParts(ch, db, metrics);
    expect(await gauge(metrics, 'speed_layer_clickhouse_active_parts', 'late_events')).toBe(3);
    expect(await gauge(metrics, 'speed_layer_clickhouse_partition_parts_max', 'late_events')).toBe(3);

    await insert('2026-12', 4); // a fourth, in another partition
    await countParts(ch, db, metrics);
    expect(await gauge(metrics, 'speed_layer_clickhouse_active_parts', 'late_events')).toBe(4);
    expect(await gauge(metrics, 'speed_layer_clickhouse_partition_parts_max', 'late_events')).toBe(3);
    // A table with no part has no series.
    expect(await gauge(metrics, 'speed_layer_clickhouse_active_parts', 'dead_letter_events')).toBeUndefined();
  }, 60_000);
});
