/**
 * What a sessionizer snapshot does to the runs beside it: a full snapshot of `--users` open users
 * (a ten-event visit each, as encoded in memory) is written while a probe asks a small read every
 * 50 ms, as a run's reads come, once on the snapshot's own connection and once on the runs' one.
 * Reports the snapshot's time and CPU, the probe's latency and the event loop's longest blocks.
 *
 *   npx tsx bench/snapshot-stall.ts [--users 208000]
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { createClickHouse } from '../functions/adapters/clickhouse.js';
import { migrate } from '../functions/adapters/migrations.js';
import { createMetrics } from '../functions/core/metrics.js';
import { encodeOpen, openOf, type OpenSession } from '../functions/steps/open-sessions.js';
import { writeSnapshot } from '../functions/sessionizer/snapshot.js';
import { createSessionStore } from '../functions/sessionizer/store.js';
import { createSeenRows } from '../functions/sessionizer/seen-rows.js';
import { EVENT_TYPES } from '../functions/schemas/events.js';
import { percentiles } from './stats.js';

const { values: o } = parseArgs({ options: { users: { type: 'string', default: '208000' } } });
const users = Number(o.users);
const dataDir = join(tmpdir(), `snapshot-stall-${randomBytes(4).toString('hex')}`);
mkdirSync(dataDir, { recursive: true });
process.on('exit', () => rmSync(dataDir, { recursive: true, force: true }));
const config = { CLICKHOUSE_URL: '', CLICKHOUSE_USER: 'default', CLICKHOUSE_PASSWORD: '', CLICKHOUSE_DATA_DIR: dataDir };
const runs = await createClickHouse(config);
const own = await createClickHouse(config);
const deps = { metrics: createMetrics(), log: pino({ level: 'warn' }) };

const now = Date.now();
const user = (i: number) => `10000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const visit = (i: number): OpenSession => openOf({
  session_id: `20000000-0000-4000-8000-${String(i).padStart(12, '0')}`, user_id: user(i), user_tier: 'Gold', startMs: now - 180_000, endMs: now,
  count: 10, typeCounts: Object.fromEntries(EVENT_TYPES.map((t, k) => [t, k < 4 ? 2 : 0])), revenueCents: 0,
  entryPage: `https://shop.example.com/products/P${i % 5000}`, exitPage: 'https://shop.example.com/cart', endedByLogout: false,
  funnelStep: 3, funnelAtMs: now - 20_000, lastId: '7d3c0b2a-6f1e-4c55-9a0b-3e2f1d4c5b6a',
} as Parameters<typeof openOf>[0], Array.from({ length: 10 }, (_, k) => ((i * 31 + k) * 2_654_435_761) % 2 ** 48));
const entries: [string, string][] = Array.from({ length: users }, (_, i) => [user(i), encodeOpen([visit(i)])]);

for (const mode of ['runs-connection', 'own-connection'] as const) {
  const db = mode.replace('-connection', '');
  await migrate(runs, db);
  const probeStore = createSessionStore(db, { ch: runs, ...deps });
  const snapshotStore = createSessionStore(db, { ch: mode === 'own-connection' ? own : runs, ...deps });
  const probes: number[] = [];
  const blocks: number[] = [];
  let stop = false;
  let last = performance.now();
  const lag = setInterval(() => { const t = performance.now(); blocks.push(t - last - 20); last = t; }, 20);
  const probe = (async () => {
    while (!stop) {
      const t = performance.now();
      await probeStore.query('snapshotGenerations', {});
      probes.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await writeSnapshot(snapshotStore, { users: entries, full: true, seen: createSeenRows().toJSON(), progress: { cursorMs: now, maxEventMs: now, watermarkMs: now } }, 1, { generations: [], rows: [] }, new Set());
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  stop = true;
  await probe;
  clearInterval(lag);
  const p = (xs: number[]) => { const r = percentiles(xs); return { p50: Math.round(r.p50), p99: Math.round(r.p99), max: Math.round(r.max) }; };
  console.log(JSON.stringify({
    mode, users, state_bytes_per_user: entries[0]![1].length, snapshot_ms: Math.round(ms), cpu_s: Math.round((cpu.user + cpu.system) / 1e4) / 100,
    probe_ms: { n: probes.length, ...p(probes) }, event_loop_block_ms: p(blocks),
  }));
}
process.exit(0);
