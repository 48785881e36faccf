import { randomBytes, randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createAnalytics } from '../../functions/analytics/app.js';
import { MINUTE_QUERIES, QUERIES, normaliseParams, type QueryName, type QueryParams } from '../../functions/analytics/queries.js';
import { loadConfig, type Config } from '../../functions/core/config.js';
import { createLogger } from '../../functions/core/log.js';
import { createMetrics, type Metrics } from '../../functions/core/metrics.js';
import { openClickHouse } from '../../functions/core/runtime.js';

/**
 * The analytics answer cache against the real embedded ClickHouse (as test/helpers/stack.ts opens
 * it: one data directory per test process, a random database), with events on the edges of minutes:
 *
 * - rounding a per-minute query's range to whole minutes never changes its answer;
 * - N identical requests at once cost one ClickHouse query, and the answer is reused until the TTL
 *   has passed (a fake clock, so nothing depends on how fast this machine is);
 * - a failed query is not reused.
 *
 * Only the analytics function runs (no ingest, sessionizer or PostgreSQL): rows are inserted
 * straight into the tables, and the materialized views fill the per-minute tables from them.
 */
const MIN = 60_000;
const T0 = Date.parse('2026-03-02T10:00:00.000Z');
/** Every event and transaction falls on one of these offsets into a minute: its very edges, and the middle. */
const EDGES = [0, 1, 29_999, 30_000, 59_999];
const TIERS = ['Gold', 'Silver', 'Bronze', 'unknown'];
const TYPES = ['page_view', 'product_view', 'add_to_cart', 'checkout_start', 'purchase', 'search', 'login'];

let config: Config;
let ch: ClickHouseClient;
const chTime = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

beforeAll(async () => {
  config = loadConfig(process.env, {
    PORT: 0,
    CLICKHOUSE_DATABASE: `t_${randomBytes(4).toString('hex')}`,
    CLICKHOUSE_DATA_DIR: process.env.CLICKHOUSE_URL ? '' : `${tmpdir()}/speed-layer-test-ch-${process.pid}`,
    LOG_LEVEL: 'warn',
  });
  ch = await openClickHouse(config, createLogger('test', 'warn'));
  const users = Array.from({ length: 9 }, () => randomUUID());
  const events: Record<string, unknown>[] = [];
  const transactions: Record<string, unknown>[] = [];
  let i = 0;
  for (let minute = 0; minute < 6; minute++) {
    for (const edge of EDGES) {
      for (let k = 0; k < 3; k++, i++) {
        const type = TYPES[i % TYPES.length]!;
        const t = chTime(T0 + minute * MIN + edge);
        const user = users[(i * 7) % users.length]!;
        const tier = TIERS[i % TIERS.length]!;
        const product = `P${String(i % 5).padStart(5, '0')}`;
        const order = randomUUID();
        events.push({
          event_id: randomUUID(), event_type: type, user_id: user, user_tier: tier, timestamp: t, page_url: '/p',
          product_id: ['product_view', 'add_to_cart', 'purchase'].includes(type) ? product : '', category: 'books',
          price: `${(i % 13) + 1}.25`, quantity: (i % 3) + 1, order_id: type === 'purchase' ? order : '00000000-0000-0000-0000-000000000000',
          received_at: t,
        });
        if (type === 'purchase') {
          transactions.push({
            transaction_id: randomUUID(), order_id: order, user_id: user, user_tier: tier, timestamp: t, items: [],
            subtotal: `${i}.50`, discount: '0.00', tax: '0.00', total_amount: `${i}.50`, currency: 'EUR', payment_method: 'card',
            status: 'completed', received_at: t,
          });
        }
      }
    }
  }
  await ch.insert({ table: `${config.CLICKHOUSE_DATABASE}.user_events_realtime`, values: events, format: 'JSONEachRow' });
  await ch.insert({ table: `${config.CLICKHOUSE_DATABASE}.transactions_realtime`, values: transactions, format: 'JSONEachRow' });
  // Sessions for the ordered funnel (session_funnel is filled from them by its view).
  await ch.insert({
    table: `${config.CLICKHOUSE_DATABASE}.user_sessions_realtime`, format: 'JSONEachRow',
    values: users.map((user, k) => ({ session_id: randomUUID(), user_id: user, user_tier: TIERS[k % TIERS.length], start_time: chTime(T0 + k * 1_000), end_time: chTime(T0 + k * 1_000), funnel_step: (k % 5) + 1, funnel_ms: k * 1_000, version: 1 })),
  });
}, 60_000);

afterAll(async () => {
  if (!ch) return;
  await ch.command({ query: `DROP DATABASE IF EXISTS ${config.CLICKHOUSE_DATABASE}` });
  await ch.close();
});

async function runQuery(name: QueryName, params: QueryParams) {
  const r = await ch.query({ query: QUERIES[name].replaceAll('{db}', config.CLICKHOUSE_DATABASE), query_params: params, format: 'JSONEachRow' });
  // Some queries leave their row order to ClickHouse (GROUP BY without ORDER BY): compare as sets.
  return (await r.json<Record<string, unknown>>()).map((row) => JSON.stringify(row)).sort();
}

describe('rounding a per-minute query to whole minutes never changes its answer', () => {
  const at = (minute: number, ms: number) => chTime(T0 + minute * MIN + ms);
  // Around the edges of the minutes 10:01 (from) and 10:04 (to), where the data has events.
  const froms = [at(0, 59_999), at(1, 0), at(1, 1), at(1, 29_999), at(1, 59_999)];
  const tos = [at(3, 59_999), at(4, 0), at(4, 1), at(4, 30_000), at(4, 59_999), at(5, 0), at(5, 1)];
  const extra: Record<string, QueryParams[]> = {
    eventTypes: [{ tier: '' }, { tier: 'Gold' }],
    products: [{ sort: 'revenue', limit: 100 }, { sort: 'views', limit: 2 }],
  };

  test.each([...MINUTE_QUERIES])('%s: the same rows for every from/to around the minutes\' edges', async (name) => {
    const answers = new Set<string>();
    let rounded = 0;
    for (const more of extra[name] ?? [{}]) {
      for (const from of froms) {
        for (const to of tos) {
          const raw = { from, to, ...more };
          const normal = normaliseParams(name, raw);
          if (normal.from !== from || normal.to !== to) rounded += 1;
          const [a, b] = await Promise.all([runQuery(name, raw), runQuery(name, normal)]);
          expect(b, `${name} ${JSON.stringify(raw)} → ${JSON.stringify(normal)}`).toEqual(a);
          answers.add(JSON.stringify(a));
        }
      }
    }
    // Not vacuous: most ranges were rounded, and the answers do depend on the minutes taken in
    // (from taking in 10:00 or not; to taking in up to 10:03, 10:04 or 10:05: 2 × 3 answers per
    // variant) — but on nothing finer.
    expect(rounded).toBeGreaterThan(froms.length * tos.length / 2);
    expect(answers.size).toBeGreaterThanOrEqual(6);
  });

  test('the raw-time queries would change: which is why they are never rounded', async () => {
    const count = async (from: string) => Number(JSON.parse((await runQuery('freshness', { from, to: at(4, 0) }))[0]!).events);
    expect(await count(at(1, 1))).toBeLessThan(await count(at(1, 0)));
    expect(MINUTE_QUERIES.has('freshness')).toBe(false);
  });
});

describe('the API asks ClickHouse once for everyone asking the same', () => {
  let server: Server;
  let base: string;
  let metrics: Metrics;
  let now = T0 + 30 * MIN + 250; // 10:30:00.250, so the last 24 h hold the data
  const calls: QueryName[] = [];
  /** The next query of this name fails, once `fail()` is called (so that others can join it first). */
  let failing: { name: QueryName; gate: Promise<void> } | undefined;
  let fail = () => {};
  const calledFor = (name: QueryName) => calls.filter((c) => c === name).length;
  const get = async (path: string) => {
    const res = await fetch(`${base}${path}`);
    return { status: res.status, body: (await res.json()) as { range: unknown; data: unknown } };
  };
  const all = (n: number, path: (i: number) => string) => Promise.all(Array.from({ length: n }, (_, i) => get(path(i))));
  const cacheCount = async (result: string) => (await metrics.analyticsCache.get()).values.find((v) => v.labels.result === result)?.value ?? 0;

  beforeAll(async () => {
    // The real client, with its query method wrapped to count (and, on request, fail) what reaches ClickHouse.
    const byText = new Map(Object.entries(QUERIES).map(([name, sql]) => [sql.replaceAll('{db}', config.CLICKHOUSE_DATABASE), name as QueryName]));
    const counted = new Proxy(ch, {
      get(target, key) {
        if (key === 'query') {
          return (args: Parameters<ClickHouseClient['query']>[0]) => {
            const name = byText.get(args.query)!;
            calls.push(name);
            if (failing?.name === name) {
              const { gate } = failing;
              failing = undefined;
              return gate.then(() => { throw new Error('injected failure'); });
            }
            return target.query(args);
          };
        }
        const v = Reflect.get(target, key, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    }) as ClickHouseClient;
    metrics = createMetrics();
    const { app } = createAnalytics({ ...config, ANALYTICS_CACHE_MS: 1_000 }, { ch: counted, metrics, log: createLogger('test', 'silent'), now: () => now });
    server = await new Promise<Server>((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
  });

  test('N identical requests at once: one query; reused within the TTL; asked again after it', async () => {
    const first = await all(30, () => '/api/funnel');
    expect(first.map((r) => r.status)).toEqual(Array(30).fill(200));
    expect(new Set(first.map((r) => JSON.stringify(r.body))).size).toBe(1);
    expect((first[0]!.body.data as { users: number }[])[0]!.users).toBeGreaterThan(0);
    // The default range is whole minutes.
    expect(first[0]!.body.range).toEqual({ from: '2026-03-01T10:30:00.000Z', to: '2026-03-02T10:32:00.000Z' });
    expect(calledFor('funnel')).toBe(1);
    expect(await cacheCount('miss')).toBe(1);
    expect((await cacheCount('hit')) + (await cacheCount('shared'))).toBe(29);

    now += 999; // other users, a few hundred milliseconds later, same minute: the same question
    const later = await all(10, () => '/api/funnel');
    expect(later.map((r) => JSON.stringify(r.body))).toEqual(Array(10).fill(JSON.stringify(first[0]!.body)));
    expect(calledFor('funnel')).toBe(1);

    now += 1; // the TTL has passed since the query started
    expect((await get('/api/funnel')).status).toBe(200);
    expect(calledFor('funnel')).toBe(2);
  });

  test('explicit ranges within the same minutes share one query; another minute is another query', async () => {
    const path = (i: number) => `/api/event-types?from=2026-03-02T10:01:00.${String(i).padStart(3, '0')}Z&to=2026-03-02T10:03:59.${String(999 - i).padStart(3, '0')}Z`;
    const answers = await all(20, path);
    expect(calledFor('eventTypes')).toBe(1);
    expect(new Set(answers.map((r) => JSON.stringify(r.body.data))).size).toBe(1);
    // Each answer still names the range it was asked for.
    expect(answers[7]!.body.range).toEqual({ from: '2026-03-02T10:01:00.007Z', to: '2026-03-02T10:03:59.992Z' });
    const earlier = await get('/api/event-types?from=2026-03-02T10:00:59.999Z&to=2026-03-02T10:03:59.999Z');
    expect(calledFor('eventTypes')).toBe(2);
    expect(JSON.stringify(earlier.body.data)).not.toBe(JSON.stringify(answers[0]!.body.data));
  });

  test('freshness, watermark and dead-letter counts are shared the same way', async () => {
    now += 1_000;
    const before = { freshness: calledFor('freshness'), watermark: calledFor('sessionizerState'), dl: calledFor('deadLetterCounts') };
    const answers = await all(20, () => '/api/freshness');
    expect(answers.every((r) => r.status === 200)).toBe(true);
    expect((answers[0]!.body.data as { events: number }).events).toBeGreaterThan(0);
    expect(calledFor('freshness') - before.freshness).toBe(1);
    expect(calledFor('sessionizerState') - before.watermark).toBe(1);
    expect(calledFor('deadLetterCounts') - before.dl).toBe(1);
  });

  test('a failure is not reused: those waiting on it get it, the next request asks again', async () => {
    now += 1_000;
    failing = { name: 'tiers', gate: new Promise<void>((resolve) => { fail = resolve; }) };
    const shared = await cacheCount('shared');
    const asking = all(5, () => '/api/tiers');
    // Fail once the other four have joined the query in flight.
    while ((await cacheCount('shared')) < shared + 4) await new Promise((r) => setTimeout(r, 5));
    fail();
    const failed = await asking;
    expect(failed.map((r) => r.status)).toEqual(Array(5).fill(503));
    expect(calledFor('tiers')).toBe(1);
    const ok = await get('/api/tiers');
    expect(ok.status).toBe(200);
    expect(calledFor('tiers')).toBe(2);
    expect((ok.body.data as unknown[]).length).toBeGreaterThan(0);
  });
});
