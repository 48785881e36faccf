import type { ClickHouseClient } from '@clickhouse/client';
import { afterEach, describe, expect, test } from 'vitest';
import { sessionId } from '../../functions/core/ids.js';
import { fromCents } from '../../functions/core/money.js';
import { createLogger } from '../../functions/core/log.js';
import { createMetrics } from '../../functions/core/metrics.js';
import type { Transaction, UserEvent } from '../../functions/schemas/events.js';
import { QUERIES } from '../../functions/analytics/queries.js';
import { createSessionizer } from '../../functions/sessionizer/sessionizer.js';
import { encode, post, toCloudEvent } from '../../generator/cloudevents.js';
import { startStack, type Stack } from '../helpers/stack.js';

/**
 * Issue 8: one event (or transaction) id stored by different ingest replicas with DIFFERENT payloads
 * (a producer bug, a replay with changed data). The rule: the first stored copy wins, everywhere.
 * Every table and view (stored rows, funnel, tier performance, product performance, sessions, the
 * sessionized events) must show exactly the first stored copy's values, once: after a run, after a
 * rerun, after a sessionizer that crashed between its writes, and with two sessionizers racing.
 * All against the real embedded ClickHouse; faults are injected around its client, never instead of it.
 */
const USER = '5c0ffee0-0000-4000-8000-00000000abcd';
const EVENT = '5c0ffee0-0000-4000-8000-0000000e0001';
const LOGIN = '5c0ffee0-0000-4000-8000-0000000e0002';
const TX = '5c0ffee0-0000-4000-8000-0000000f0001';
const ORDER = '5c0ffee0-0000-4000-8000-0000000f0002';
const MIN = 60_000;
// Well inside one minute, an hour ago: copies B and C move 90 s either way, into other minutes.
const T = Math.floor((Date.now() - 3600_000) / MIN) * MIN + 30_000;
const iso = (ms: number) => new Date(ms).toISOString();

const login: UserEvent = { event_id: LOGIN, user_id: USER, event_type: 'login', timestamp: iso(T - 2 * MIN), page_url: '/login' };
/** Three copies of one event id: each a different product, price, quantity and timestamp; C even another type. */
const COPIES: Record<'A' | 'B' | 'C', UserEvent> = {
  A: { event_id: EVENT, user_id: USER, event_type: 'purchase', timestamp: iso(T), page_url: '/buy/a', order_id: ORDER, product_id: 'PA', category: 'books', price: '10.00', quantity: 1 },
  B: { event_id: EVENT, user_id: USER, event_type: 'purchase', timestamp: iso(T + 90_000), page_url: '/buy/b', order_id: ORDER, product_id: 'PB', category: 'home', price: '20.00', quantity: 2 },
  C: { event_id: EVENT, user_id: USER, event_type: 'add_to_cart', timestamp: iso(T - 90_000), page_url: '/cart/c', product_id: 'PC', category: 'toys', price: '30.00', quantity: 3 },
};
const tx = (cents: number, method: Transaction['payment_method']): Transaction => ({
  transaction_id: TX, order_id: ORDER, user_id: USER, timestamp: iso(T), items: [{ product_id: 'PA', quantity: 1, unit_price: fromCents(cents) }],
  subtotal: fromCents(cents), discount: '0.00', tax: '0.00', total_amount: fromCents(cents), currency: 'USD', payment_method: method, status: 'completed',
});
const TXS = { A: tx(1_000, 'paypal'), B: tx(2_000, 'credit_card'), C: tx(3_000, 'debit_card') };

type Replica = { url: string };
let stack: Stack | undefined;
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

/** A stack whose own sessionizer never runs by itself, and three ingest replicas. */
async function setup() {
  stack = await startStack({ BATCH_MAX_AGE_MS: 20, IDLE_TIMEOUT_MS: 1_000, SESSIONIZER_INTERVAL_MS: 3_600_000 });
  const replicas: Replica[] = [{ url: stack.ingestUrl }, await stack.startReplica(), await stack.startReplica()];
  return { s: stack, replicas };
}

/** Stores the event's and the transaction's copy through one replica (answered only once durable). */
async function store(replica: Replica, copy: keyof typeof COPIES, withLogin = false) {
  const records = [
    ...(withLogin ? [toCloudEvent({ kind: 'event', id: LOGIN, event: login })] : []),
    toCloudEvent({ kind: 'event', id: `${EVENT}-${copy}`, event: COPIES[copy] }),
    toCloudEvent({ kind: 'transaction', id: `${TX}-${copy}`, transaction: TXS[copy] }),
  ];
  const answer = await post(replica.url, encode('batch', records));
  expect(answer.status).toBe(200);
  expect((answer.body as { stored: number }).stored).toBe(records.length);
  await new Promise((r) => setTimeout(r, 5)); // the next copy is stored at a later millisecond
}

/** A sessionizer of its own (state in ClickHouse, as after a restart), optionally over a faulty client. */
function sessionizer(s: Stack, ch: ClickHouseClient = s.ch) {
  return createSessionizer(s.config, { ch, metrics: createMetrics(), log: createLogger('test', 'warn') });
}
/** Runs as if 2 s later, so the copies just stored are past the settle time. */
const run = (z: ReturnType<typeof sessionizer>) => z.runOnce(Date.now() + 2_000);

/** The client with `onInsert` around every insert (`send` performs the real one). */
function around(ch: ClickHouseClient, onInsert: (table: string, send: () => Promise<unknown>) => Promise<unknown>): ClickHouseClient {
  return new Proxy(ch, {
    get(target, prop) {
      if (prop === 'insert') return (args: Parameters<ClickHouseClient['insert']>[0]) => onInsert(String(args.table), () => target.insert(args));
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** Every figure the id touches, as the tables and views hold them (zero rows left out). */
async function figures(s: Stack) {
  const q = <T = Record<string, unknown>>(sql: string) => s.query<T>(sql, { user: USER });
  return {
    events: await q(`SELECT event_type, toUnixTimestamp64Milli(timestamp) AS ts, page_url, product_id, toString(price) AS price, quantity, sum(sign) AS n
      FROM {db}.user_events_realtime WHERE user_id = {user:UUID} GROUP BY ALL HAVING n != 0 ORDER BY ts`),
    transactions: await q(`SELECT payment_method, toString(total_amount) AS total, sum(sign) AS n
      FROM {db}.transactions_realtime WHERE user_id = {user:UUID} GROUP BY ALL HAVING n != 0`),
    funnel: await q(`SELECT toUnixTimestamp(minute) * 1000 AS minute, event_type, sum(events) AS n FROM {db}.conversion_funnel
      GROUP BY ALL HAVING n != 0 ORDER BY minute, event_type`),
    tiers: await q(`SELECT toUnixTimestamp(minute) * 1000 AS minute, sum(events) AS events, sum(purchases) AS purchases, sum(orders) AS orders, toString(sum(revenue)) AS rev
      FROM {db}.user_tier_performance GROUP BY minute HAVING events != 0 OR purchases != 0 OR orders != 0 OR sum(revenue) != 0 ORDER BY minute`),
    products: await q(`SELECT toUnixTimestamp(minute) * 1000 AS minute, product_id, sum(views) AS views, sum(add_to_carts) AS carts, sum(purchases) AS purchases,
        sum(units) AS units, toString(sum(revenue)) AS rev
      FROM {db}.product_performance GROUP BY minute, product_id HAVING views != 0 OR carts != 0 OR purchases != 0 OR units != 0 OR sum(revenue) != 0 ORDER BY minute`),
    sessions: await q(`SELECT toUnixTimestamp64Milli(start_time) AS start, toUnixTimestamp64Milli(end_time) AS end, event_count, purchases, toString(revenue) AS revenue,
        event_type_counts['purchase'] AS purchase_events, event_type_counts['add_to_cart'] AS carts, exit_page
      FROM {db}.user_sessions_realtime FINAL WHERE user_id = {user:UUID} AND is_deleted = 0`),
    sessionized: await q(`SELECT event_type, product_id, toString(price) AS price, quantity, toUnixTimestamp64Milli(timestamp) AS ts, toString(session_id) AS session
      FROM {db}.user_events_sessionized WHERE event_id = '${EVENT}'`),
    // The dashboard's journey of the user (its own query, not the view: see QUERIES.journeyEvents).
    sessionizedJourney: (await s.query<{ event_id: string; event_type: string; product_id: string; price: unknown; quantity: number; timestamp: string; session_id: string }>(
      QUERIES.journeyEvents, { user: USER, from: chTime(T - 60 * MIN), to: chTime(T + 60 * MIN) },
    )).filter((r) => r.event_id === EVENT).map((r) => ({ event_type: r.event_type, product_id: r.product_id, price: String(r.price), quantity: r.quantity, ts: String(Date.parse(`${r.timestamp.replace(' ', 'T')}Z`)), session: r.session_id })),
  };
}

/** What `figures` must say when copy A (the first stored) counts, once. */
const FIRST_STORED = {
  events: [
    { event_type: 'login', ts: String(T - 2 * MIN), page_url: '/login', product_id: '', price: '0', quantity: 0, n: '1' },
    { event_type: 'purchase', ts: String(T), page_url: '/buy/a', product_id: 'PA', price: '10', quantity: 1, n: '1' },
  ],
  transactions: [{ payment_method: 'paypal', total: '10', n: '1' }],
  funnel: [
    { minute: String(T - 2 * MIN - 30_000), event_type: 'login', n: '1' },
    { minute: String(T - 30_000), event_type: 'purchase', n: '1' },
  ],
  tiers: [
    { minute: String(T - 2 * MIN - 30_000), events: '1', purchases: '0', orders: '0', rev: '0' },
    { minute: String(T - 30_000), events: '1', purchases: '1', orders: '1', rev: '10' },
  ],
  products: [{ minute: String(T - 30_000), product_id: 'PA', views: '0', carts: '0', purchases: '1', units: '1', rev: '10' }],
  sessions: [{ start: String(T - 2 * MIN), end: String(T), event_count: 2, purchases: 1, revenue: '10', purchase_events: 1, carts: 0, exit_page: '/buy/a' }],
  sessionized: [{ event_type: 'purchase', product_id: 'PA', price: '10', quantity: 1, ts: String(T), session: sessionId(USER, T - 2 * MIN) }],
  sessionizedJourney: [{ event_type: 'purchase', product_id: 'PA', price: '10.00', quantity: 1, ts: String(T), session: sessionId(USER, T - 2 * MIN) }],
};
/** A DateTime64(3) query parameter. */
const chTime = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 23);

const cancelRows = async (s: Stack) => {
  const [r] = await s.query<{ e: string; t: string }>(`SELECT (SELECT count() FROM {db}.user_events_realtime WHERE sign < 0) AS e, (SELECT count() FROM {db}.transactions_realtime WHERE sign < 0) AS t`);
  return { events: Number(r!.e), transactions: Number(r!.t) };
};

describe('an id stored with different payloads counts as its first stored copy, everywhere', () => {
  test('two copies from two replicas: one run, then reruns that change nothing', async () => {
    const { s, replicas } = await setup();
    await store(replicas[0]!, 'A', true);
    await store(replicas[1]!, 'B');
    expect((await figures(s)).events).toHaveLength(3); // both copies stored and counted, before the sessionizer
    const z = sessionizer(s);
    expect((await run(z)).cancelled).toBe(2); // copy B of the event and of the transaction
    expect(await figures(s)).toEqual(FIRST_STORED);
    for (let i = 0; i < 2; i++) {
      expect((await run(sessionizer(s))).cancelled).toBe(0);
      expect((await run(z)).cancelled).toBe(0);
    }
    expect(await figures(s)).toEqual(FIRST_STORED);
    expect(await cancelRows(s)).toEqual({ events: 1, transactions: 1 });
  });

  test('three copies from three replicas; a third copy arriving after the first cancels', async () => {
    const { s, replicas } = await setup();
    await store(replicas[0]!, 'A', true);
    await store(replicas[1]!, 'B');
    await store(replicas[2]!, 'C');
    expect((await run(sessionizer(s))).cancelled).toBe(4);
    expect(await figures(s)).toEqual(FIRST_STORED);
    // Copies C and B once more, through replicas that have not seen the id: only these are
    // cancelled (never A, never the earlier C or B a second time).
    await store(await s.startReplica(), 'C');
    await store(await s.startReplica(), 'B');
    expect((await run(sessionizer(s))).cancelled).toBe(4);
    expect(await figures(s)).toEqual(FIRST_STORED);
    expect((await run(sessionizer(s))).cancelled).toBe(0);
    expect(await cancelRows(s)).toEqual({ events: 4, transactions: 4 });
  });

  test('a sessionizer that crashed between its writes, then a restarted one', async () => {
    const { s, replicas } = await setup();
    await store(replicas[0]!, 'A', true);
    await store(replicas[1]!, 'B');
    await store(replicas[2]!, 'C');
    // The cancels land but their answer is lost, and the process dies before writing sessions.
    const crashing = sessionizer(s, around(s.ch, async (table, send) => {
      if (table.endsWith('.user_events_realtime')) { await send(); throw new Error('connection reset'); }
      if (table.endsWith('.user_sessions_realtime')) throw new Error('killed');
      return send();
    }));
    await expect(run(crashing)).rejects.toThrow('connection reset');
    expect(await cancelRows(s)).toEqual({ events: 2, transactions: 0 });
    // A restarted sessionizer sees those cancels, adds none for the event, and computes the session from copy A.
    expect((await run(sessionizer(s))).cancelled).toBe(2); // the transaction's two
    expect(await figures(s)).toEqual(FIRST_STORED);
    expect((await run(sessionizer(s))).cancelled).toBe(0);
    expect(await cancelRows(s)).toEqual({ events: 2, transactions: 2 });
  });

  test('two sessionizers racing over the same copies cancel them once', async () => {
    const { s, replicas } = await setup();
    await store(replicas[0]!, 'A', true);
    await store(replicas[1]!, 'B');
    await store(replicas[2]!, 'C');
    // The first one's cancel insert is held until the second one has read the same copies and cancelled them.
    let release!: () => void;
    const held = new Promise<void>((r) => { release = r; });
    let reached!: () => void;
    const atInsert = new Promise<void>((r) => { reached = r; });
    const slow = sessionizer(s, around(s.ch, async (table, send) => {
      if (table.endsWith('.user_events_realtime')) { reached(); await held; }
      return send();
    }));
    const first = run(slow);
    await atInsert;
    expect((await run(sessionizer(s))).cancelled).toBe(4);
    release();
    await first; // the same rows seen, so the same token: ClickHouse drops the second insert
    expect(await figures(s)).toEqual(FIRST_STORED);
    expect(await cancelRows(s)).toEqual({ events: 2, transactions: 2 });
  });
});
