import { randomBytes, randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createAnalytics } from '../../functions/analytics/app.js';
import { loadConfig, type Config } from '../../functions/core/config.js';
import { createLogger } from '../../functions/core/log.js';
import { createMetrics } from '../../functions/core/metrics.js';
import { openClickHouse } from '../../functions/core/runtime.js';
import { FUNNEL_STEPS } from '../../functions/schemas/events.js';

/**
 * The ordered funnel API against the real embedded ClickHouse: session rows are written straight
 * into user_sessions_realtime as the sessionizer writes them (a session rewritten as it grows, a
 * tombstone for a session merged away, each version its own insert so that only FINAL can tell
 * them apart), the view fills session_funnel, and the API must count each session once, at its
 * current step, never the tombstoned one, with every step at most the one before.
 */
const T0 = Date.parse('2026-03-02T10:00:00.000Z');
const MIN = 60_000;
const chTime = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

let config: Config;
let ch: ClickHouseClient;
let server: Server;
let base: string;

type Step = { step: string; sessions: number; users: number; conversion_from_previous: number; conversion_from_start: number };
const api = async <T>(path: string): Promise<T> => {
  const res = await fetch(`${base}${path}`);
  expect(res.status, path).toBe(200);
  return ((await res.json()) as { data: T }).data;
};
const range = `from=${new Date(T0).toISOString()}&to=${new Date(T0 + 60 * MIN).toISOString()}`;
const counts = (steps: Step[]) => steps.map((s) => s.sessions);

beforeAll(async () => {
  config = loadConfig(process.env, {
    PORT: 0,
    CLICKHOUSE_DATABASE: `t_${randomBytes(4).toString('hex')}`,
    CLICKHOUSE_DATA_DIR: process.env.CLICKHOUSE_URL ? '' : `${tmpdir()}/speed-layer-test-ch-${process.pid}`,
    LOG_LEVEL: 'warn',
  });
  ch = await openClickHouse(config, createLogger('test', 'warn'));
  const [u1, u2, u3, u4, u5] = Array.from({ length: 5 }, () => randomUUID());
  const session = (user: string, tier: string, startMs: number) => ({ session_id: randomUUID(), user_id: user, user_tier: tier, start_time: chTime(startMs), end_time: chTime(startMs + 5 * MIN) });
  const a = session(u1!, 'Gold', T0 + MIN);
  const b = session(u2!, 'Gold', T0 + 2 * MIN);
  const c = session(u3!, 'Silver', T0 + 3 * MIN);
  const d = session(u3!, 'Silver', T0 + 40 * MIN);
  const e = session(u4!, 'Bronze', T0 + 4 * MIN);
  const g = session(u5!, 'unknown', T0 + 5 * MIN);
  const outside = session(u1!, 'Gold', T0 + 61 * MIN);
  const versions = [
    // a grows to a purchase over three versions: only the last counts.
    { ...a, funnel_step: 2, funnel_ms: 10_000, version: 1 },
    { ...a, funnel_step: 4, funnel_ms: 40_000, version: 2 },
    { ...a, funnel_step: 5, funnel_ms: 60_000, is_closed: 1, closed_by: 'logout', version: 3 },
    // b reached checkout, then a late event merged it into another session: its tombstone.
    { ...b, funnel_step: 4, funnel_ms: 20_000, version: 1 },
    { ...b, funnel_step: 4, funnel_ms: 20_000, is_deleted: 1, version: 2 },
    { ...c, funnel_step: 5, funnel_ms: 120_000, is_closed: 1, closed_by: 'timeout', version: 1 },
    { ...d, funnel_step: 1, funnel_ms: 0, version: 1 },
    { ...e, funnel_step: 0, funnel_ms: 0, version: 1 },
    { ...g, funnel_step: 2, funnel_ms: 5_000, version: 1 },
    { ...outside, funnel_step: 5, funnel_ms: 1_000, version: 1 },
  ];
  // One insert per version: separate parts, which only FINAL reconciles.
  for (const row of versions) await ch.insert({ table: `${config.CLICKHOUSE_DATABASE}.user_sessions_realtime`, values: [row], format: 'JSONEachRow' });
  await ch.insert({
    table: `${config.CLICKHOUSE_DATABASE}.sessionizer_state`, format: 'JSONEachRow',
    values: [{ name: 'main', cursor: chTime(T0 + 50 * MIN), max_event: chTime(T0 + 49 * MIN), watermark: chTime(T0 + 48 * MIN), updated_at: chTime(T0 + 50 * MIN + 100) }],
  });
  const { app } = createAnalytics(config, { ch, metrics: createMetrics(), log: createLogger('test', 'silent'), now: () => T0 + 61 * MIN });
  server = await new Promise<Server>((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  if (!ch) return;
  await ch.command({ query: `DROP DATABASE IF EXISTS ${config.CLICKHOUSE_DATABASE}` });
  await ch.close();
});

describe('the ordered funnel, from sessions', () => {
  test('overall: current versions count, the tombstoned session does not, each step at most the previous', async () => {
    const steps = await api<Step[]>(`/api/funnel?${range}`);
    expect(steps.map((s) => s.step)).toEqual([...FUNNEL_STEPS]);
    // a (5), c (5), d (1), g (2) reached page_view; e reached nothing; b is deleted; `outside` started after `to`.
    expect(counts(steps)).toEqual([4, 3, 2, 2, 2]);
    expect(steps.map((s) => s.users)).toEqual([3, 3, 2, 2, 2]);
    for (let i = 1; i < steps.length; i++) expect(steps[i]!.sessions).toBeLessThanOrEqual(steps[i - 1]!.sessions);
    expect(steps.map((s) => s.conversion_from_previous)).toEqual([1, 0.75, 0.6667, 1, 1]);
    expect(steps.map((s) => s.conversion_from_start)).toEqual([1, 0.75, 0.5, 0.5, 0.5]);
  });

  test('by tier, and filtered to one tier', async () => {
    const byTier = await api<Record<string, Step[]>>(`/api/funnel/by-tier?${range}`);
    expect(Object.fromEntries(Object.entries(byTier).map(([t, s]) => [t, counts(s)]))).toEqual({
      Bronze: [0, 0, 0, 0, 0], Gold: [1, 1, 1, 1, 1], Silver: [2, 1, 1, 1, 1], unknown: [1, 1, 0, 0, 0],
    });
    expect(counts(await api<Step[]>(`/api/funnel?${range}&tier=Gold`))).toEqual([1, 1, 1, 1, 1]);
    expect(byTier.Silver!.map((s) => s.users)).toEqual([1, 1, 1, 1, 1]);
  });

  test('time to convert: median and p90 from session start to purchase, of the sessions that purchased', async () => {
    const t = await api<{ converted: number; median_ms: number | null; p90_ms: number | null; by_tier: Record<string, { converted: number; median_ms: number | null }> }>(`/api/funnel/time-to-convert?${range}`);
    // a at 60 s and c at 120 s (the tombstoned and out-of-range sessions left out), interpolated.
    expect({ converted: t.converted, median_ms: t.median_ms, p90_ms: t.p90_ms }).toEqual({ converted: 2, median_ms: 90_000, p90_ms: 114_000 });
    expect(t.by_tier.Gold).toEqual({ converted: 1, median_ms: 60_000, p90_ms: 60_000 });
    expect(t.by_tier.Bronze).toEqual({ converted: 0, median_ms: null, p90_ms: null });
  });

  test('a range with no sessions answers zeros, not an error', async () => {
    const empty = `from=${new Date(T0 - 120 * MIN).toISOString()}&to=${new Date(T0 - 60 * MIN).toISOString()}`;
    expect(counts(await api<Step[]>(`/api/funnel?${empty}`))).toEqual([0, 0, 0, 0, 0]);
    expect(await api<Record<string, Step[]>>(`/api/funnel/by-tier?${empty}`)).toEqual({});
  });

  test('freshness says how far sessions are complete: the sessionizer\'s cursor and watermark', async () => {
    const f = await api<{ complete_up_to: string; sessions_complete_until: string; sessionizer_updated_at: string }>(`/api/freshness?${range}`);
    expect(f).toMatchObject({
      complete_up_to: chTime(T0 + 48 * MIN), sessions_complete_until: chTime(T0 + 50 * MIN), sessionizer_updated_at: chTime(T0 + 50 * MIN + 100),
    });
  });
});
