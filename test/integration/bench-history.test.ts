import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../functions/core/config.js';
import { sessionId } from '../../functions/core/ids.js';
import { createLogger } from '../../functions/core/log.js';
import { openClickHouse } from '../../functions/core/runtime.js';
import { HISTORY_DAYS, HISTORY_GAP_MS, loadHistory } from '../../bench/history.js';
import { populationUser } from '../../bench/population.js';

const db = `t_hist_${randomBytes(4).toString('hex')}`;
const config = loadConfig(process.env, {
  CLICKHOUSE_DATABASE: db, LOG_LEVEL: 'warn',
  CLICKHOUSE_DATA_DIR: process.env.CLICKHOUSE_URL ? '' : `${tmpdir()}/speed-layer-test-ch-${process.pid}`,
});
const ch = await openClickHouse(config, createLogger('test', 'warn'));
const q = async <T>(sql: string) => (await ch.query({ query: sql.replaceAll('{db}', db), format: 'JSONEachRow' })).json<T>();
const NOW = Date.parse('2026-12-01T12:00:00Z');
const o = { sessions: 3_000, seed: 11, population: 5_000, nowMs: NOW };

describe('bench --history: closed sessions of the last 30 days, generated in ClickHouse', () => {
  let result: Awaited<ReturnType<typeof loadHistory>>;
  beforeAll(async () => { result = await loadHistory(ch, db, o); });
  afterAll(async () => { await ch.command({ query: `DROP DATABASE IF EXISTS ${db}` }); await ch.close(); });

  it('stores N closed sessions with valid, deterministic ids of the bench population', async () => {
    const rows = await q<{ session_id: string; user_id: string; user_tier: string; start: string; is_closed: number; closed_by: string; is_deleted: number }>(
      `SELECT session_id, user_id, user_tier, toString(toUnixTimestamp64Milli(start_time)) AS start, is_closed, closed_by, is_deleted FROM {db}.user_sessions_realtime FINAL`);
    expect(rows).toHaveLength(o.sessions);
    const users = new Map(Array.from({ length: o.population }, (_, i) => populationUser(o.seed, i)).map((u) => [u.user_id, u.tier]));
    for (const r of rows) {
      expect(r.is_closed).toBe(1);
      expect(r.closed_by).toBe('timeout');
      expect(r.is_deleted).toBe(0);
      expect(users.get(r.user_id)).toBe(r.user_tier);
      expect(r.session_id).toBe(sessionId(r.user_id, Number(r.start)));
    }
    expect(new Set(rows.map((r) => r.session_id)).size).toBe(o.sessions);
    expect(result.sessions).toBe(o.sessions);
  });

  it('spreads them over the last 30 days, every one ended well before now', async () => {
    const [r] = await q<{ first: string; last_end: string; days: string }>(
      `SELECT toString(toUnixTimestamp64Milli(min(start_time))) AS first, toString(toUnixTimestamp64Milli(max(end_time))) AS last_end, uniqExact(toDate(start_time)) AS days FROM {db}.user_sessions_realtime`);
    expect(Number(r!.first)).toBeGreaterThanOrEqual(NOW - HISTORY_DAYS * 86_400_000);
    expect(Number(r!.last_end)).toBeLessThanOrEqual(NOW - HISTORY_GAP_MS);
    expect(Number(r!.days)).toBeGreaterThanOrEqual(28);
  });

  it('stores each session\'s events (~10 a session) inside its span, agreeing with its counts and funnel', async () => {
    const [t] = await q<{ events: string; counted: string }>(`SELECT (SELECT count() FROM {db}.user_events_realtime) AS events, (SELECT sum(event_count) FROM {db}.user_sessions_realtime) AS counted`);
    expect(Number(t!.events)).toBe(Number(t!.counted));
    expect(Number(t!.events) / o.sessions).toBeGreaterThan(8);
    expect(Number(t!.events) / o.sessions).toBeLessThan(12);
    expect(result.events).toBe(Number(t!.events));
    // Every event falls in its session (the latest start of its user at or before it), and the counts agree.
    const [bad] = await q<{ n: string }>(`
      SELECT count() AS n FROM (
        SELECT s.session_id, s.event_count, s.end_time, s.purchases, s.funnel_step, count() AS c, max(e.timestamp) AS last, countIf(e.event_type = 'purchase') AS p
        FROM {db}.user_events_realtime AS e ASOF JOIN (SELECT * FROM {db}.user_sessions_realtime FINAL) AS s ON e.user_id = s.user_id AND e.timestamp >= s.start_time
        GROUP BY s.session_id, s.event_count, s.end_time, s.purchases, s.funnel_step)
      WHERE c != event_count OR last != end_time OR p != purchases OR (p = 1) != (funnel_step = 5)`);
    expect(Number(bad!.n)).toBe(0);
  });

  it('leaves the sessionizer\'s inbox empty and its view attached again', async () => {
    expect(result.inbox_views_detached).toContain('sessionizer_inbox_mv');
    const [r] = await q<{ inbox: string; views: string }>(`SELECT (SELECT count() FROM {db}.sessionizer_inbox) AS inbox,
      (SELECT count() FROM system.tables WHERE database = '${db}' AND name = 'sessionizer_inbox_mv') AS views`);
    expect(Number(r!.inbox)).toBe(0);
    expect(Number(r!.views)).toBe(1);
  });
});
