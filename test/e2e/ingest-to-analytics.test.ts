import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fromCents } from '../../functions/core/money.js';
import { FUNNEL_STEPS } from '../../functions/schemas/events.js';
import { sendAll, type Mode } from '../../generator/cloudevents.js';
import { groundTruth, type GroundTruth } from '../../generator/ground-truth.js';
import { generate, type Generated } from '../../generator/simulate.js';
import { expectedOrderedFunnel } from '../helpers/ordered-funnel.js';
import { startStack, waitFor, type Stack } from '../helpers/stack.js';

/**
 * The walking skeleton end to end: a few thousand generated events go through the ingest function
 * in all three CloudEvents modes (plus a resent slice, to show duplicates change nothing), and every
 * number the analytics API answers must equal the generator's ground truth.
 */
let stack: Stack;
let gen: Generated;
let truth: GroundTruth;
let range: string;

beforeAll(async () => {
  // Replaying four hours in seconds with 64 requests in flight reorders events by minutes of event
  // time; the allowed lateness covers that, as it would cover a slow partition in production.
  stack = await startStack({ BATCH_MAX_AGE_MS: 200, IDLE_TIMEOUT_MS: 3_000, ALLOWED_LATENESS_MS: 30 * 60_000 });
  gen = generate({ seed: 7, users: 120, startMs: Date.parse('2026-03-02T08:00:00.000Z'), durationMs: 4 * 3600_000 });
  truth = groundTruth(gen);
  await stack.seedUsers(gen.users);
  range = `from=${new Date(truth.range.fromMs - 60_000).toISOString()}&to=${new Date(truth.range.toMs + 3600_000).toISOString()}`;

  // Three consecutive slices of the log, one per mode, so each user's events still arrive in order.
  const third = Math.ceil(gen.records.length / 3);
  const modes: Mode[] = ['batch', 'structured', 'binary'];
  for (const [i, mode] of modes.entries()) {
    const answers = await sendAll(stack.ingestUrl, mode, gen.records.slice(i * third, (i + 1) * third), mode === 'batch' ? { concurrency: 2, batchSize: 200 } : {});
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
  }
  // Redeliveries: a slice sent again in another mode must not change any figure.
  const again = await sendAll(stack.ingestUrl, 'binary', gen.records.slice(0, 300));
  expect(again.every((a) => a.status === 200 && (a.body as { stored: number }).stored === 0)).toBe(true);

  // Once the stream is idle the watermark follows the wall clock and every session closes.
  await stack.sessionsCaughtUp();
  await waitFor(async () => {
    const [r] = await stack.query<{ open: string; closed: string }>('SELECT countIf(is_closed = 0) AS open, countIf(is_closed = 1) AS closed FROM {db}.user_sessions_realtime FINAL');
    return r && Number(r.open) === 0 && Number(r.closed) > 0 ? r : undefined;
  }, 'all sessions closed', 60_000);
}, 240_000);

afterAll(async () => {
  await stack?.stop();
});

describe('every analytics figure equals the ground truth', () => {
  test('the generated data has the shape the tests rely on', () => {
    expect(truth.totals.events).toBeGreaterThan(2_000);
    expect(truth.totals.invalid).toBeGreaterThan(20);
    expect(Object.keys(truth.deadLetters).length).toBeGreaterThanOrEqual(5);
    expect(truth.tiers.map((t) => t.tier)).toContain('unknown');
  });

  test('freshness: all events in, none late (sent in order within the lateness), the rejects counted', async () => {
    const f = await stack.api<{ events: number; late: number; rejected: number; complete_up_to: string }>(`/api/freshness?${range}`);
    expect(f.events).toBe(truth.totals.events);
    expect(f.late).toBe(0);
    expect(Date.parse(`${f.complete_up_to.replace(' ', 'T')}Z`)).toBeGreaterThan(truth.range.toMs);
  });

  test('events by type', async () => {
    const data = await stack.api<{ event_type: string; events: number }[]>(`/api/event-types?${range}`);
    expect(Object.fromEntries(data.map((d) => [d.event_type, d.events]))).toEqual(truth.eventsByType);
  });

  test('events by type of the funnel steps, overall and by tier (any order: per-type counts)', async () => {
    type Row = { event_type: string; events: number; users: number };
    const ofSteps = (rows: Row[]) => FUNNEL_STEPS.map((step) => {
      const r = rows.find((x) => x.event_type === step);
      return { step, events: r?.events, users: r?.users };
    });
    expect(ofSteps(await stack.api<Row[]>(`/api/event-types?${range}`))).toEqual(truth.funnel);
    const byTier = await stack.api<Record<string, Row[]>>(`/api/event-types/by-tier?${range}`);
    expect(Object.fromEntries(Object.entries(byTier).map(([t, rows]) => [t, ofSteps(rows)]))).toEqual(truth.funnelByTier);
    const gold = await stack.api<Row[]>(`/api/event-types?${range}&tier=Gold`);
    expect(ofSteps(gold).map((s) => s.users)).toEqual(truth.funnelByTier.Gold!.map((s) => s.users));
  });

  test('the ordered funnel, overall and by tier, and the time to purchase: as the reference sessions reached them', async () => {
    type Step = { step: string; sessions: number; users: number };
    const tierOf = new Map(gen.users.map((u) => [u.user_id, u.inPostgres ? u.tier : 'unknown']));
    const want = expectedOrderedFunnel(truth.sessions, (u) => tierOf.get(u) ?? 'unknown');
    // Not vacuous: some sessions got all the way, some stopped on the way.
    expect(want.timeToConvert.converted).toBeGreaterThan(0);
    expect(want.overall[4]!.sessions).toBeLessThan(want.overall[0]!.sessions);
    const overall = await stack.api<Step[]>(`/api/funnel?${range}`);
    expect(overall.map(({ step, sessions, users }) => ({ step, sessions, users }))).toEqual(want.overall);
    for (let i = 1; i < overall.length; i++) expect(overall[i]!.sessions).toBeLessThanOrEqual(overall[i - 1]!.sessions);
    const byTier = await stack.api<Record<string, Step[]>>(`/api/funnel/by-tier?${range}`);
    expect(Object.fromEntries(Object.entries(byTier).map(([t, steps]) => [t, steps.map(({ step, sessions, users }) => ({ step, sessions, users }))]))).toEqual(want.byTier);
    const gold = await stack.api<Step[]>(`/api/funnel?${range}&tier=Gold`);
    expect(gold.map((s) => s.sessions)).toEqual(want.byTier.Gold!.map((s) => s.sessions));
    const convert = await stack.api<{ converted: number; median_ms: number | null; p90_ms: number | null; by_tier: Record<string, unknown> }>(`/api/funnel/time-to-convert?${range}`);
    expect({ converted: convert.converted, median_ms: convert.median_ms, p90_ms: convert.p90_ms }).toEqual(want.timeToConvert);
    expect(convert.by_tier).toEqual(want.timeToConvertByTier);
  });

  test('tier performance', async () => {
    const data = await stack.api<{ tier: string; events: number; users: number; purchases: number; orders: number; revenue: string; avg_order_value: string }[]>(`/api/tiers?${range}`);
    expect(data.map(({ tier, events, users, purchases, orders, revenue }) => ({ tier, events, users, purchases, orders, revenue }))).toEqual(
      truth.tiers.map((t) => ({ tier: t.tier, events: t.events, users: t.users, purchases: t.purchases, orders: t.orders, revenue: fromCents(t.revenue_cents) })),
    );
    for (const t of truth.tiers) {
      const got = data.find((d) => d.tier === t.tier)!;
      expect(Math.abs(Number(got.avg_order_value) * 100 - t.avg_order_value_cents)).toBeLessThan(1);
    }
  });

  test('product performance', async () => {
    const data = await stack.api<{ product_id: string; views: number; add_to_carts: number; purchases: number; units: number; revenue: string; view_to_purchase_rate: number }[]>(`/api/products?${range}&limit=1000`);
    const byId = (a: { product_id: string }, b: { product_id: string }) => (a.product_id < b.product_id ? -1 : 1);
    expect(data.map(({ product_id, views, add_to_carts, purchases, units, revenue }) => ({ product_id, views, add_to_carts, purchases, units, revenue })).sort(byId)).toEqual(
      truth.products.map(({ revenue_cents, ...p }) => ({ ...p, revenue: fromCents(revenue_cents) })).sort(byId),
    );
    const top = await stack.api<{ product_id: string }[]>(`/api/products?${range}&limit=3`);
    expect(top.map((p) => p.product_id)).toEqual(truth.products.slice(0, 3).map((p) => p.product_id));
  });

  test('sessions: the same ids, boundaries and metrics as the reference sessionizer', async () => {
    const rows = await stack.query<Record<string, string>>(
      `SELECT session_id, user_id, toUnixTimestamp64Milli(start_time) AS start_ms, toUnixTimestamp64Milli(end_time) AS end_ms, event_count,
              page_views, purchases, revenue, converted, entry_page, exit_page, closed_by
       FROM {db}.user_sessions_realtime FINAL ORDER BY toString(session_id)`);
    const expected = [...truth.sessions].sort((a, b) => (a.session_id < b.session_id ? -1 : 1)).map((s) => ({
      session_id: s.session_id, user_id: s.user_id, start_ms: String(s.start_ms), end_ms: String(s.end_ms), event_count: s.event_count,
      page_views: s.page_views, purchases: s.purchases, revenue: fromCents(s.revenue_cents), converted: s.converted ? 1 : 0,
      entry_page: s.entry_page, exit_page: s.exit_page, closed_by: s.closed_by,
    }));
    expect(rows.map((r) => ({ ...r, event_count: Number(r.event_count), page_views: Number(r.page_views), purchases: Number(r.purchases), converted: Number(r.converted) }))).toEqual(expected);
    const summary = await stack.api<{ sessions: number; open: number; converted: number }>(`/api/sessions/summary?${range}`);
    expect(summary.sessions).toBe(truth.sessions.length);
    expect(summary.converted).toBe(truth.sessions.filter((s) => s.converted).length);
  });

  test('every event is attributed to the session that holds it', async () => {
    const [r] = await stack.query<{ events: string; unattributed: string }>(
      `SELECT count() AS events, countIf(NOT (e.timestamp BETWEEN s.start_time AND s.end_time)) AS unattributed
       FROM {db}.user_events_sessionized AS e
       LEFT JOIN (SELECT * FROM {db}.user_sessions_realtime FINAL) AS s ON e.session_id = s.session_id`);
    expect(Number(r!.events)).toBe(truth.totals.events);
    expect(Number(r!.unattributed)).toBe(0);
  });

  test('each invalid event is dead-lettered with its reason and raw payload', async () => {
    const data = await stack.api<{ counts: { reason: string; count: number }[] }>(`/api/dead-letters?from=2000-01-01T00:00:00Z`);
    const byReason: Record<string, number> = {};
    for (const c of data.counts) byReason[c.reason] = (byReason[c.reason] ?? 0) + c.count;
    expect(byReason).toEqual(truth.deadLetters);
    const rows = await stack.query<{ ce_id: string; reason: string; payload: string }>('SELECT ce_id, reason, payload FROM {db}.dead_letter_events FINAL');
    const got = new Map(rows.map((r) => [r.ce_id, r]));
    for (const rec of gen.records) {
      if (rec.kind !== 'invalid') continue;
      expect(got.get(rec.id)?.reason, `dead letter ${rec.id}`).toBe(rec.reason);
      expect(got.get(rec.id)?.payload).toBe(rec.raw);
    }
  });

  test('stored rows: each event and transaction exactly once', async () => {
    const [r] = await stack.query<{ e: string; ue: string; bad: string; t: string }>(
      `SELECT (SELECT sum(sign) FROM {db}.user_events_realtime) AS e, (SELECT uniqExact(event_id) FROM {db}.user_events_realtime) AS ue,
              (SELECT count() FROM (SELECT event_id FROM {db}.user_events_realtime GROUP BY event_id HAVING sum(sign) != 1)) AS bad,
              (SELECT sum(sign) FROM {db}.transactions_realtime) AS t`);
    expect(Number(r!.e)).toBe(truth.totals.events);
    expect(Number(r!.ue)).toBe(truth.totals.events);
    expect(Number(r!.bad)).toBe(0);
    expect(Number(r!.t)).toBe(truth.totals.transactions);
  });
});
