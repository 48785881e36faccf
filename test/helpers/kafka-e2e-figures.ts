import { expect, test } from 'vitest';
import { fromCents } from '../../functions/core/money.js';
import { FUNNEL_STEPS } from '../../functions/schemas/events.js';
import { DEAD_LETTER_TOPIC, TOPICS, type duplicateFigures, type KafkaE2e } from './kafka-e2e.js';
import { readWholeTopicRaw } from './dead-letter-records.js';
import { checkDelivery, formatReport, STORED_ROWS_SQL, type Sent, type StoredRow } from './fault-checker.js';
import { expectedOrderedFunnel } from './ordered-funnel.js';

/**
 * The checks shared by the Kafka end-to-end tests: after the faults, every table, every view and
 * every API figure must equal the generator's ground truth (the style of
 * test/e2e/ingest-to-analytics.test.ts), the invalid records must be in the dead-letter table and
 * topic with their reason, and nothing may be lost.
 */
/** The faults must have caused redeliveries, each stored again by another replica and then cancelled. */
export function redeliveryTest(figures: () => Awaited<ReturnType<typeof duplicateFigures>>): void {
  test('the faults caused redeliveries; each was stored again by another replica and then cancelled', () => {
    const f = figures();
    expect(f.redeliveries).toBeGreaterThan(0);
    expect(f.redeliveredElsewhere).toBeGreaterThan(0);
    expect(f.cancelledEventCopies + f.cancelledTransactionCopies).toBeGreaterThan(0);
    // Every stored copy beyond the first has exactly one cancelling row.
    expect(f.storedEventRows - f.cancelledEventCopies).toBe(f.events);
    expect(f.storedTransactionRows - f.cancelledTransactionCopies).toBe(f.transactions);
  });
}

/** What a test produced besides the generator's records (produceRaw) that the figures must account for. */
export interface FigureExtras {
  /** Records the ingest dead-letters itself (answered 2xx): their reason and raw payload. */
  readonly ingestDeadLetters: readonly { reason: string; payload: string }[];
}

export function figureTests(ctx: () => KafkaE2e, extras: () => FigureExtras = () => ({ ingestDeadLetters: [] })): void {
  const key = (x: { reason: string; payload: string }) => `${x.reason} ${x.payload}`;
  // Through Kafka the CloudEvent id is `partition:P/offset:O`, so records are matched by their raw payload.
  const expectedDeadLetters = () => [
    ...ctx().gen.records.flatMap((r) => (r.kind === 'invalid' ? [key({ reason: r.reason, payload: r.raw })] : [])),
    ...extras().ingestDeadLetters.map(key),
  ].sort();

  test('the generated data has the shape the checks rely on', () => {
    const { truth } = ctx();
    expect(truth.totals.events).toBeGreaterThan(1_000);
    expect(truth.totals.transactions).toBeGreaterThan(20);
    expect(truth.totals.invalid).toBeGreaterThan(20);
    expect(Object.keys(truth.deadLetters).length).toBeGreaterThanOrEqual(5);
    expect(truth.tiers.map((t) => t.tier)).toContain('unknown');
  });

  test('nothing is lost: every produced record was answered 2xx (or dead-lettered by the dispatcher) and every offset is committed to the end', async () => {
    const e2e = ctx();
    const total = e2e.gen.records.length + e2e.producedRaw;
    expect(e2e.produced.user_events + e2e.produced.transactions).toBe(total);
    for (const topic of TOPICS) expect(e2e.router.answeredOf(topic) + e2e.dispatcherDeadLetteredOf(topic), topic).toBe(e2e.produced[topic]);
    const offsets = await e2e.committed();
    // A partition that never got a record has nothing to commit (-1, end 0).
    expect(offsets.filter((o) => o.committed !== o.end && !(o.end === 0 && o.committed === -1))).toEqual([]);
    expect(offsets.reduce((s, o) => s + o.end, 0)).toBe(total);
    // Every record is still in the log: none was deleted before it could be (re)delivered.
    expect(offsets.filter((o) => o.start !== 0)).toEqual([]);
  });

  test('stored rows: each event and transaction exactly once (copies cancelled by sign = -1)', async () => {
    const { stack, truth } = ctx();
    const [r] = await stack.query<{ e: string; ue: string; bad_e: string; t: string; ut: string; bad_t: string }>(
      `SELECT (SELECT sum(sign) FROM {db}.user_events_realtime) AS e, (SELECT uniqExact(event_id) FROM {db}.user_events_realtime) AS ue,
              (SELECT count() FROM (SELECT event_id FROM {db}.user_events_realtime GROUP BY event_id HAVING sum(sign) != 1)) AS bad_e,
              (SELECT sum(sign) FROM {db}.transactions_realtime) AS t, (SELECT uniqExact(transaction_id) FROM {db}.transactions_realtime) AS ut,
              (SELECT count() FROM (SELECT transaction_id FROM {db}.transactions_realtime GROUP BY transaction_id HAVING sum(sign) != 1)) AS bad_t`);
    expect(Number(r!.bad_e)).toBe(0);
    expect(Number(r!.bad_t)).toBe(0);
    expect(Number(r!.e)).toBe(truth.totals.events);
    expect(Number(r!.ue)).toBe(truth.totals.events);
    expect(Number(r!.t)).toBe(truth.totals.transactions);
    expect(Number(r!.ut)).toBe(truth.totals.transactions);
    // The stored ids are exactly the generated ones.
    const ids = await stack.query<{ id: string }>('SELECT toString(event_id) AS id FROM {db}.user_events_realtime GROUP BY event_id');
    const expected = new Set(ctx().gen.records.flatMap((rec) => (rec.kind === 'event' ? [rec.id] : [])));
    expect(ids.filter((x) => !expected.has(x.id))).toEqual([]);
  });

  test('fault harness: per user, in producer sequence, no event missing, duplicated or unexpected', async () => {
    const { stack, gen } = ctx();
    const seqs = new Map<string, number>();
    const sent: Sent[] = gen.records.flatMap((rec) => {
      if (rec.kind !== 'event') return [];
      const seq = (seqs.get(rec.event.user_id) ?? 0) + 1;
      seqs.set(rec.event.user_id, seq);
      return [{ event_id: rec.id, user_id: rec.event.user_id, seq }];
    });
    const report = checkDelivery(sent, await stack.query<StoredRow>(STORED_ROWS_SQL));
    console.log(formatReport(report));
    expect(report).toMatchObject({ sent: sent.length, stored: sent.length, missing: [], duplicated: [], unexpected: [] });
  });

  test('the three materialized views count each event and transaction once', async () => {
    const { stack, truth } = ctx();
    const [r] = await stack.query<Record<string, string>>(
      `SELECT (SELECT sum(events) FROM {db}.conversion_funnel) AS funnel_events,
              (SELECT sum(events) FROM {db}.user_tier_performance) AS tier_events,
              (SELECT sum(purchases) FROM {db}.user_tier_performance) AS tier_purchases,
              (SELECT sum(orders) FROM {db}.user_tier_performance) AS tier_orders,
              (SELECT toString(sum(revenue)) FROM {db}.user_tier_performance) AS tier_revenue,
              (SELECT sum(views) FROM {db}.product_performance) AS views,
              (SELECT sum(add_to_carts) FROM {db}.product_performance) AS carts,
              (SELECT sum(purchases) FROM {db}.product_performance) AS purchases,
              (SELECT sum(units) FROM {db}.product_performance) AS units,
              (SELECT toString(sum(revenue)) FROM {db}.product_performance) AS product_revenue`);
    const orders = truth.tiers.reduce((s, t) => s + t.orders, 0);
    const revenue = truth.tiers.reduce((s, t) => s + t.revenue_cents, 0);
    const p = truth.products;
    expect({
      funnel_events: Number(r!.funnel_events), tier_events: Number(r!.tier_events), tier_purchases: Number(r!.tier_purchases),
      tier_orders: Number(r!.tier_orders), tier_revenue_cents: Math.round(Number(r!.tier_revenue) * 100),
      views: Number(r!.views), carts: Number(r!.carts), purchases: Number(r!.purchases), units: Number(r!.units),
      product_revenue_cents: Math.round(Number(r!.product_revenue) * 100),
    }).toEqual({
      funnel_events: truth.totals.events, tier_events: truth.totals.events, tier_purchases: truth.eventsByType.purchase,
      tier_orders: orders, tier_revenue_cents: revenue,
      views: p.reduce((s, x) => s + x.views, 0), carts: p.reduce((s, x) => s + x.add_to_carts, 0), purchases: p.reduce((s, x) => s + x.purchases, 0),
      units: p.reduce((s, x) => s + x.units, 0), product_revenue_cents: p.reduce((s, x) => s + x.revenue_cents, 0),
    });
  });

  test('API: events by type', async () => {
    const { stack, truth, range } = ctx();
    const data = await stack.api<{ event_type: string; events: number }[]>(`/api/event-types?${range}`);
    expect(Object.fromEntries(data.map((d) => [d.event_type, d.events]))).toEqual(truth.eventsByType);
  });

  test('API: events by type of the funnel steps, overall and by tier (any order: per-type counts)', async () => {
    type Row = { event_type: string; events: number; users: number };
    const ofSteps = (rows: Row[]) => FUNNEL_STEPS.map((step) => {
      const r = rows.find((x) => x.event_type === step);
      return { step, events: r?.events, users: r?.users };
    });
    const { stack, truth, range } = ctx();
    expect(ofSteps(await stack.api<Row[]>(`/api/event-types?${range}`))).toEqual(truth.funnel);
    const byTier = await stack.api<Record<string, Row[]>>(`/api/event-types/by-tier?${range}`);
    expect(Object.fromEntries(Object.entries(byTier).map(([t, rows]) => [t, ofSteps(rows)]))).toEqual(truth.funnelByTier);
  });

  test('API: the ordered funnel, overall and by tier: as the reference sessions reached it', async () => {
    const { stack, truth, range, gen } = ctx();
    type Step = { step: string; sessions: number; users: number };
    const tierOf = new Map(gen.users.map((u) => [u.user_id, u.inPostgres ? u.tier : 'unknown']));
    const want = expectedOrderedFunnel(truth.sessions, (u) => tierOf.get(u) ?? 'unknown');
    const overall = await stack.api<Step[]>(`/api/funnel?${range}`);
    expect(overall.map(({ step, sessions, users }) => ({ step, sessions, users }))).toEqual(want.overall);
    const byTier = await stack.api<Record<string, Step[]>>(`/api/funnel/by-tier?${range}`);
    expect(Object.fromEntries(Object.entries(byTier).map(([t, steps]) => [t, steps.map(({ step, sessions, users }) => ({ step, sessions, users }))]))).toEqual(want.byTier);
  });

  test('API: tier performance', async () => {
    const { stack, truth, range } = ctx();
    const data = await stack.api<{ tier: string; events: number; users: number; purchases: number; orders: number; revenue: string; avg_order_value: string }[]>(`/api/tiers?${range}`);
    expect(data.map(({ tier, events, users, purchases, orders, revenue }) => ({ tier, events, users, purchases, orders, revenue }))).toEqual(
      truth.tiers.map((t) => ({ tier: t.tier, events: t.events, users: t.users, purchases: t.purchases, orders: t.orders, revenue: fromCents(t.revenue_cents) })),
    );
    for (const t of truth.tiers) {
      const got = data.find((d) => d.tier === t.tier)!;
      expect(Math.abs(Number(got.avg_order_value) * 100 - t.avg_order_value_cents)).toBeLessThan(1);
    }
  });

  test('API: product performance', async () => {
    const { stack, truth, range } = ctx();
    const data = await stack.api<{ product_id: string; views: number; add_to_carts: number; purchases: number; units: number; revenue: string }[]>(`/api/products?${range}&limit=1000`);
    const byId = (a: { product_id: string }, b: { product_id: string }) => (a.product_id < b.product_id ? -1 : 1);
    expect(data.map(({ product_id, views, add_to_carts, purchases, units, revenue }) => ({ product_id, views, add_to_carts, purchases, units, revenue })).sort(byId)).toEqual(
      truth.products.map(({ revenue_cents, ...p }) => ({ ...p, revenue: fromCents(revenue_cents) })).sort(byId),
    );
  });

  test('sessions: the same ids, boundaries and metrics as the reference sessionizer', async () => {
    const { stack, truth, range } = ctx();
    const rows = await stack.query<Record<string, string>>(
      `SELECT session_id, user_id, toUnixTimestamp64Milli(start_time) AS start_ms, toUnixTimestamp64Milli(end_time) AS end_ms, event_count,
              page_views, purchases, revenue, converted, entry_page, exit_page, closed_by
       FROM {db}.user_sessions_realtime FINAL WHERE is_deleted = 0 ORDER BY toString(session_id)`);
    const expected = [...truth.sessions].sort((a, b) => (a.session_id < b.session_id ? -1 : 1)).map((s) => ({
      session_id: s.session_id, user_id: s.user_id, start_ms: String(s.start_ms), end_ms: String(s.end_ms), event_count: s.event_count,
      page_views: s.page_views, purchases: s.purchases, revenue: fromCents(s.revenue_cents), converted: s.converted ? 1 : 0,
      entry_page: s.entry_page, exit_page: s.exit_page, closed_by: s.closed_by,
    }));
    expect(rows.map((r) => ({ ...r, event_count: Number(r.event_count), page_views: Number(r.page_views), purchases: Number(r.purchases), converted: Number(r.converted) }))).toEqual(expected);
    const summary = await stack.api<{ sessions: number; open: number; converted: number }>(`/api/sessions/summary?${range}`);
    expect(summary.sessions).toBe(truth.sessions.length);
    expect(summary.open).toBe(0);
    expect(summary.converted).toBe(truth.sessions.filter((s) => s.converted).length);
    const [attributed] = await stack.query<{ events: string; unattributed: string }>(
      `SELECT count() AS events, countIf(NOT (e.timestamp BETWEEN s.start_time AND s.end_time)) AS unattributed
       FROM {db}.user_events_sessionized AS e
       LEFT JOIN (SELECT * FROM {db}.user_sessions_realtime FINAL) AS s ON e.session_id = s.session_id`);
    expect(Number(attributed!.events)).toBe(truth.totals.events);
    expect(Number(attributed!.unattributed)).toBe(0);
  });

  test('dead letters: each invalid record once in dead_letter_events, with its reason and raw payload', async () => {
    const { stack, truth } = ctx();
    const data = await stack.api<{ counts: { reason: string; count: number }[] }>('/api/dead-letters?from=2000-01-01T00:00:00Z');
    const byReason: Record<string, number> = {};
    for (const c of data.counts) byReason[c.reason] = (byReason[c.reason] ?? 0) + c.count;
    const expectedByReason: Record<string, number> = { ...truth.deadLetters };
    for (const d of extras().ingestDeadLetters) expectedByReason[d.reason] = (expectedByReason[d.reason] ?? 0) + 1;
    expect(byReason).toEqual(expectedByReason);
    const rows = await stack.query<{ ce_source: string; ce_id: string; reason: string; payload: string }>('SELECT ce_source, ce_id, reason, payload FROM {db}.dead_letter_events FINAL');
    expect(rows.map(key).sort()).toEqual(expectedDeadLetters());
    expect(new Set(rows.map((r) => `${r.ce_source} ${r.ce_id}`)).size).toBe(rows.length);
    expect(rows.every((r) => /#(user_events|transactions)$/.test(r.ce_source) && /^partition:\d+\/offset:\d+$/.test(r.ce_id))).toBe(true);
  });

  test(`dead letters: each invalid record in the ${DEAD_LETTER_TOPIC} Kafka topic as the original CloudEvent (Kafka binary mode) with its reason`, async () => {
    const { broker } = ctx();
    const records = await readWholeTopicRaw(broker.brokers, DEAD_LETTER_TOPIC);
    // A retry after a crash may produce a copy to the topic; distinct records (source + id) must be exactly the invalid ones.
    const distinct = new Map<string, { reason: string; payload: string }>();
    for (const r of records) {
      const h = r.headers;
      // KafkaSource's event, as it reached the ingest, plus the ingest's reason extensions.
      expect(h).toMatchObject({ ce_specversion: '1.0', ce_type: 'dev.knative.kafka.event', 'content-type': 'application/json' });
      expect(h.ce_source).toMatch(/#(user_events|transactions)$/);
      expect(h.ce_id).toMatch(/^partition:\d+\/offset:\d+$/);
      expect(h.ce_subject).toBe(h.ce_id!.replace(/^partition:(\d+)\/offset:(\d+)$/, 'partition:$1#$2'));
      expect(h.ce_deadletterreason).toBeTruthy();
      expect(h.ce_deadletterdetail).toBeTruthy();
      // Keyed as the original record (the user), as KafkaSink keys by the partitionkey extension.
      expect(r.key).toBe(h.ce_partitionkey ?? h.ce_id);
      expect(h.ce_key).toBe(h.ce_partitionkey);
      distinct.set(`${h.ce_source} ${h.ce_id}`, { reason: h.ce_deadletterreason!, payload: r.value?.toString('utf8') ?? '' });
    }
    const expected = expectedDeadLetters();
    expect([...distinct.values()].map(key).sort()).toEqual(expected);
    console.log(`${DEAD_LETTER_TOPIC} topic: ${records.length} records, ${distinct.size} distinct events, ${expected.length} expected`);
  });
}
