import { randomBytes, randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { QUERIES, normaliseParams, type QueryName, type QueryParams } from '../../functions/analytics/queries.js';
import { migrate, migrationStatements } from '../../functions/adapters/migrations.js';
import { loadConfig } from '../../functions/core/config.js';
import { createLogger } from '../../functions/core/log.js';
import { openClickHouse } from '../../functions/core/runtime.js';

/**
 * The dashboard's range reads that no longer scan the range (sql/090-097): distinct users merge
 * whole hours from users_hourly and only the edge minutes' states; freshness reads whole minutes'
 * sums and maxima and raw events only in the partial minutes at either end. Each must answer exactly
 * what the plain reads answer (the queries as they were, over every per-minute row or raw event in
 * range), for ranges on and around the edges of minutes and hours, with duplicate copies and their
 * cancelling rows stored. And a database that already held data gets both filled once at its next start.
 */
const H = 3600_000;
const MIN = 60_000;
const T0 = Date.parse('2026-03-02T09:00:00.000Z');
const TIERS = ['Gold', 'Silver', 'Bronze', 'unknown'];
const TYPES = ['page_view', 'product_view', 'add_to_cart', 'checkout_start', 'purchase', 'search'];
/** Offsets into each hour: its edges, minutes' edges, the middle. */
const OFFSETS = [0, 1, 59_999, 60_000, 17 * MIN + 30_000, 30 * MIN, 59 * MIN, H - 1];
const chTime = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

const RANGE_MIN = `minute >= toStartOfMinute({from:DateTime64(3, 'UTC')}) AND minute < {to:DateTime64(3, 'UTC')}`;
const RANGE_TS = (col: string) => `${col} >= {from:DateTime64(3, 'UTC')} AND ${col} < {to:DateTime64(3, 'UTC')}`;
/** The reads as they were before sql/090: every per-minute state or raw event in range. */
const PLAIN: Partial<Record<QueryName, string>> = {
  eventTypes: `
    SELECT event_type, sum(events) AS events, uniqExactMerge(users) AS users
    FROM {db}.conversion_funnel WHERE ${RANGE_MIN} AND ({tier:String} = '' OR user_tier = {tier:String})
    GROUP BY event_type ORDER BY event_type`,
  eventTypesByTier: `
    SELECT user_tier AS tier, event_type, sum(events) AS events, uniqExactMerge(users) AS users
    FROM {db}.conversion_funnel WHERE ${RANGE_MIN}
    GROUP BY user_tier, event_type ORDER BY user_tier, event_type`,
  tiers: `
    SELECT tier, events, users, purchases, orders, revenue,
           if(orders = 0, toDecimal128(0, 2), toDecimal128(revenue / orders, 2)) AS avg_order_value
    FROM (
      SELECT user_tier AS tier, sum(events) AS events, uniqExactMerge(users) AS users, sum(purchases) AS purchases,
             sum(orders) AS orders, sum(revenue) AS revenue
      FROM {db}.user_tier_performance WHERE ${RANGE_MIN}
      GROUP BY user_tier)
    ORDER BY tier`,
  freshness: `
    SELECT max(timestamp) AS latest_event, max(stored_at) AS last_stored, sum(sign) AS events,
           (SELECT count() FROM {db}.late_events FINAL WHERE ${RANGE_TS('timestamp')}) AS late
    FROM {db}.user_events_realtime WHERE ${RANGE_TS('timestamp')}`,
};

let ch: ClickHouseClient;
let db: string;
let dataDir: string;

/** Events over three hours and a bit, on OFFSETS, some stored twice with the sessionizer's cancelling row. */
function data() {
  const users = Array.from({ length: 11 }, () => randomUUID());
  const events: Record<string, unknown>[] = [];
  const transactions: Record<string, unknown>[] = [];
  let i = 0;
  for (let hour = 0; hour < 3; hour++) {
    for (const offset of OFFSETS) {
      for (let k = 0; k < 4; k++, i++) {
        const ts = T0 + hour * H + offset;
        const type = TYPES[i % TYPES.length]!;
        const order = randomUUID();
        const e = {
          event_id: randomUUID(), event_type: type, user_id: users[(i * 5) % users.length]!, user_tier: TIERS[i % TIERS.length]!,
          timestamp: chTime(ts), page_url: '/p', product_id: 'P00001', category: 'books', price: `${(i % 7) + 1}.50`, quantity: 1,
          order_id: type === 'purchase' ? order : '00000000-0000-0000-0000-000000000000', received_at: chTime(ts), stored_at: chTime(ts + 1_000 + i),
        };
        events.push(e);
        if (i % 5 === 0) events.push({ ...e, stored_at: chTime(ts + 2_000 + i) }, { ...e, sign: -1, stored_at: chTime(ts + 3_000 + i) });
        if (type === 'purchase') {
          transactions.push({
            transaction_id: randomUUID(), order_id: order, user_id: e.user_id, user_tier: e.user_tier, timestamp: e.timestamp, items: [],
            subtotal: `${i}.50`, discount: '0.00', tax: '0.00', total_amount: `${i}.50`, currency: 'EUR', payment_method: 'card', status: 'completed', received_at: e.timestamp,
          });
        }
      }
    }
  }
  const late = events.filter((_, n) => n % 13 === 0).map((e) => ({
    event_id: e.event_id, user_id: e.user_id, timestamp: e.timestamp, watermark: e.timestamp, lateness_ms: 5, seen_at: e.timestamp,
  }));
  return { events, transactions, late };
}

async function store(rows: ReturnType<typeof data>) {
  // In three inserts, so the ranges span several parts.
  const third = Math.ceil(rows.events.length / 3);
  for (let k = 0; k < 3; k++) await ch.insert({ table: `${db}.user_events_realtime`, values: rows.events.slice(k * third, (k + 1) * third), format: 'JSONEachRow' });
  await ch.insert({ table: `${db}.transactions_realtime`, values: rows.transactions, format: 'JSONEachRow' });
  await ch.insert({ table: `${db}.late_events`, values: rows.late, format: 'JSONEachRow' });
}

async function answer(sql: string, params: QueryParams) {
  const r = await ch.query({ query: sql.replaceAll('{db}', db), query_params: params, format: 'JSONEachRow' });
  return (await r.json<Record<string, unknown>>()).map((row) => JSON.stringify(Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'number' ? String(v) : v])))).sort();
}

const at = (hour: number, ms: number) => chTime(T0 + hour * H + ms);
const FROMS = [at(0, 0), at(0, 1), at(0, 59_999), at(0, 30 * MIN), at(0, H - 1), at(1, 0), at(1, 17 * MIN + 30_500)];
const TOS = [at(0, 30_000), at(0, 45 * MIN), at(1, 0), at(1, 1), at(2, 0), at(2, H - 1), at(3, 0), at(3, 30 * MIN + 250)];
const RANGES = FROMS.flatMap((from) => TOS.filter((to) => to > from).map((to) => ({ from, to })));

async function expectSameAsPlain(names: QueryName[]) {
  let compared = 0;
  for (const name of names) {
    for (const range of RANGES) {
      for (const more of (name === 'eventTypes' ? [{ tier: '' }, { tier: 'Gold' }] : [{}]) as QueryParams[]) {
        const params: QueryParams = { ...range, ...more };
        // As the API runs them (per-minute queries rounded to the minute) and as asked.
        for (const p of [params, normaliseParams(name, params)]) {
          const [got, want] = await Promise.all([answer(QUERIES[name], p), answer(PLAIN[name]!, p)]);
          expect(got, `${name} ${JSON.stringify(p)}`).toEqual(want);
          compared += 1;
        }
      }
    }
  }
  return compared;
}

beforeAll(async () => {
  db = `t_${randomBytes(4).toString('hex')}`;
  dataDir = process.env.CLICKHOUSE_URL ? '' : `${tmpdir()}/speed-layer-test-ch-${process.pid}`;
  const config = loadConfig(process.env, { CLICKHOUSE_DATABASE: db, CLICKHOUSE_DATA_DIR: dataDir, LOG_LEVEL: 'warn', CLICKHOUSE_MIGRATE: false });
  ch = await openClickHouse(config, createLogger('test', 'warn'));
}, 60_000);

afterAll(async () => {
  if (!ch) return;
  await ch.command({ query: `DROP DATABASE IF EXISTS ${db}` });
  await ch.close();
});

describe('bounded range reads answer exactly what the plain reads answer', () => {
  const NAMES: QueryName[] = ['eventTypes', 'eventTypesByTier', 'tiers', 'freshness'];

  test('a database that held data before sql/090 is filled once at its next start, and answers as before', async () => {
    for (const { file, sql } of migrationStatements(db)) if (file < '090') await ch.command({ query: sql });
    await store(data());
    await migrate(ch, db);
    const count = async (sql: string) => Number((await (await ch.query({ query: sql.replaceAll('{db}', db), format: 'JSONEachRow' })).json<{ n: string }>())[0]!.n);
    const hourly = await count('SELECT count() AS n FROM {db}.users_hourly');
    const minutes = await count('SELECT count() AS n FROM {db}.conversion_funnel');
    // Three hours and the first minute of a fourth, per tier and type ('' = any): not vacuous.
    expect(hourly).toBeGreaterThan(3 * 4);
    expect(await count(`SELECT count() AS n FROM {db}.conversion_funnel WHERE latest_event > '1970-01-01'`)).toBeGreaterThan(0);
    expect(await expectSameAsPlain(NAMES)).toBeGreaterThan(4 * RANGES.length);

    // A later start finds the fill done and inserts nothing.
    await migrate(ch, db);
    expect(await count('SELECT count() AS n FROM {db}.users_hourly')).toBe(hourly);
    expect(await count('SELECT count() AS n FROM {db}.conversion_funnel')).toBe(minutes);
    expect(await count(`SELECT count() AS n FROM {db}.backfills WHERE name = 'bounded_reads'`)).toBe(1);
  }, 120_000);

  test('data stored after the views exist (new rows on top of the filled ones) answers as the plain reads do', async () => {
    await store(data());
    expect(await expectSameAsPlain(NAMES)).toBeGreaterThan(4 * RANGES.length);
  }, 120_000);
});
