import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fromCents } from '../../functions/core/money.js';
import { createLogger } from '../../functions/core/log.js';
import { createMetrics } from '../../functions/core/metrics.js';
import { createSessionizer } from '../../functions/sessionizer/sessionizer.js';
import { sendAll } from '../../generator/cloudevents.js';
import { groundTruth, type GroundTruth } from '../../generator/ground-truth.js';
import { generate } from '../../generator/simulate.js';
import { startStack, waitFor, type Stack } from '../helpers/stack.js';

/**
 * A rollout, as Knative runs one (charts: min-scale 1, a new revision's pod starts while the old
 * one still runs): the old sessionizer has been running; a new one starts from what ClickHouse
 * holds, and for the rest of the stream both run, each on every new event. The stored sessions
 * must be exactly the reference sessionizer's, as with one sessionizer (deterministic ids,
 * versioned rows), and then the old one stops and the new one goes on alone.
 */
let stack: Stack;
let truth: GroundTruth;
const sessionizer = () => createSessionizer(stack.config, { ch: stack.ch, metrics: createMetrics(), log: createLogger('test', 'warn') });

beforeAll(async () => {
  // The stack's own sessionizer stays idle (an hour's interval): the two below are the only ones.
  stack = await startStack({ BATCH_MAX_AGE_MS: 50, IDLE_TIMEOUT_MS: 2_000, ALLOWED_LATENESS_MS: 30 * 60_000, SESSIONIZER_INTERVAL_MS: 3_600_000 });
  const gen = generate({ seed: 31, users: 40, startMs: Date.parse('2026-03-02T08:00:00.000Z'), durationMs: 3 * 3600_000 });
  truth = groundTruth(gen);
  await stack.seedUsers(gen.users);
  const send = async (from: number, to: number) => {
    const answers = await sendAll(stack.ingestUrl, 'batch', gen.records.slice(from, to), { concurrency: 1, batchSize: 200 });
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
  };
  const n = gen.records.length;
  const old = sessionizer();
  await send(0, Math.floor(n / 3));
  await old.runOnce(Date.now() + 2_000);
  // The new revision's pod starts: it loads what the old one left in ClickHouse.
  const next = sessionizer();
  for (const [i, [from, to]] of [[Math.floor(n / 3), Math.floor(n / 2)], [Math.floor(n / 2), n]].entries()) {
    await send(from!, to!);
    // Both run on the same new events, in either order.
    const pair = i === 0 ? [old, next] : [next, old];
    for (const z of pair) await z.runOnce(Date.now() + 2_000);
    await Promise.all(pair.map((z) => z.runOnce(Date.now() + 2_000)));
  }
  // Idle: the watermark follows the wall clock and every session closes; the old pod then stops.
  await waitFor(async () => {
    await Promise.all([old.runOnce(), next.runOnce()]);
    const [r] = await stack.query<{ open: string }>('SELECT countIf(is_closed = 0) AS open FROM {db}.user_sessions_realtime FINAL');
    return Number(r!.open) === 0 ? true : undefined;
  }, 'all sessions closed', 60_000, 500);
  await old.stop();
  await next.runOnce();
  await next.stop();
}, 240_000);

afterAll(async () => {
  await stack?.stop();
});

describe('two sessionizers at once, as during a rollout', () => {
  test('the stored sessions are exactly the reference sessionizer\'s', async () => {
    expect(truth.sessions.length).toBeGreaterThan(40);
    const rows = await stack.query<Record<string, string>>(
      `SELECT session_id, user_id, toUnixTimestamp64Milli(start_time) AS start_ms, toUnixTimestamp64Milli(end_time) AS end_ms, event_count,
              purchases, revenue, closed_by, funnel_step, funnel_ms
       FROM {db}.user_sessions_realtime FINAL ORDER BY toString(session_id)`);
    const expected = [...truth.sessions].sort((a, b) => (a.session_id < b.session_id ? -1 : 1)).map((s) => ({
      session_id: s.session_id, user_id: s.user_id, start_ms: String(s.start_ms), end_ms: String(s.end_ms), event_count: s.event_count,
      purchases: s.purchases, revenue: fromCents(s.revenue_cents), closed_by: s.closed_by, funnel_step: s.funnel_step, funnel_ms: String(s.funnel_ms),
    }));
    expect(rows.map((r) => ({ ...r, event_count: Number(r.event_count), purchases: Number(r.purchases), funnel_step: Number(r.funnel_step) }))).toEqual(expected);
  });

  test('each session has one current row: no id stored twice alive, whatever both wrote', async () => {
    const [r] = await stack.query<{ ids: string; rows: string }>('SELECT uniqExact(session_id) AS ids, count() AS rows FROM {db}.user_sessions_realtime FINAL');
    expect(Number(r!.rows)).toBe(Number(r!.ids));
    expect(Number(r!.ids)).toBe(truth.sessions.length);
  });
});
