// What ordinary producers send, through the real ingest (HTTP, binary-mode CloudEvents) into the
// embedded ClickHouse: every RFC 3339 timestamp form stored at its instant in UTC, and the
// schema-evolution policy (docs/data-quality.md): unknown fields and unlisted descriptive values
// stored with a warning and counted in the figures; strict fields still dead-lettered.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { EVENT_CE_TYPE, TRANSACTION_CE_TYPE } from '../../functions/cloudevents/index.js';
import { startStack, waitFor, type Stack } from '../helpers/stack.js';
import { VALID_EVENTS, VALID_TRANSACTION } from '../unit/builders.js';

let stack: Stack;
beforeAll(async () => { stack = await startStack({ BATCH_MAX_AGE_MS: 50, ANALYTICS_CACHE_MS: 0 }); });
afterAll(async () => stack?.stop());

type Answer = { status: number; body: { stored: number; dead_lettered: number; rejected: { reason: string; field?: string }[] } };
async function send(data: unknown, type = EVENT_CE_TYPE, extra: Record<string, string> = {}): Promise<Answer> {
  const r = await fetch(`${stack.ingestUrl}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'ce-specversion': '1.0', 'ce-id': randomUUID(), 'ce-source': '/shop', 'ce-type': type, ...extra },
    body: JSON.stringify(data),
  });
  return { status: r.status, body: (await r.json()) as Answer['body'] };
}
const storedAt = async (table: string, idCol: string, id: string) =>
  (await stack.query<{ ts: string }>(`SELECT toString(timestamp) AS ts FROM {db}.${table} WHERE ${idCol} = {id:UUID}`, { id }))[0]?.ts;
const warningsOf = (id: string) => stack.query<{ kind: string; field: string; value: string }>(
  'SELECT kind, field, value FROM {db}.data_quality_warnings FINAL WHERE record_id = {id:String} ORDER BY kind, field', { id });
const warningCount = async (kind: string, field: string) =>
  (await stack.metrics.dataQualityWarnings.get()).values.find((v) => v.labels.kind === kind && v.labels.field === field)?.value ?? 0;

describe('RFC 3339 timestamps from real libraries: stored at the same instant, in UTC, to the millisecond (truncated)', () => {
  test.each([
    ['JavaScript Date.toISOString()', '2024-05-01T10:00:00.120Z', '2024-05-01 10:00:00.120'],
    ['Java Instant.toString(), a whole second', '2024-05-01T10:00:00Z', '2024-05-01 10:00:00.000'],
    ['Java Instant.toString(), trailing zeros dropped', '2024-05-01T10:00:00.12Z', '2024-05-01 10:00:00.120'],
    ['Java OffsetDateTime.toString(), an offset', '2024-05-01T12:00:00.5+02:00', '2024-05-01 10:00:00.500'],
    ['Python datetime.isoformat(), microseconds and +00:00', '2024-05-01T10:00:00.123456+00:00', '2024-05-01 10:00:00.123'],
    ['Python isoformat(), a whole second with an offset', '2024-05-01T05:30:00-04:30', '2024-05-01 10:00:00.000'],
    ['Go time.RFC3339Nano, nine digits (truncated, not rounded)', '2024-05-01T10:00:00.999999999Z', '2024-05-01 10:00:00.999'],
    ['Go time.RFC3339, an offset east, across midnight', '2024-05-02T01:00:00+15:00', '2024-05-01 10:00:00.000'],
    ['lower-case t and z', '2024-05-01t10:00:00.001z', '2024-05-01 10:00:00.001'],
    ['-00:00 (offset unknown, UTC instant)', '2024-05-01T10:00:00.000-00:00', '2024-05-01 10:00:00.000'],
  ])('%s: %s → %s', async (_lib, sent, stored) => {
    const event = { ...VALID_EVENTS.login, event_id: randomUUID(), user_id: randomUUID(), timestamp: sent };
    const tx = { ...VALID_TRANSACTION, transaction_id: randomUUID(), order_id: randomUUID(), user_id: randomUUID(), timestamp: sent };
    expect((await send(event)).body).toMatchObject({ stored: 1, dead_lettered: 0 });
    expect((await send(tx, TRANSACTION_CE_TYPE)).body).toMatchObject({ stored: 1, dead_lettered: 0 });
    expect(await waitFor(() => storedAt('user_events_realtime', 'event_id', event.event_id), 'the event row')).toBe(stored);
    expect(await waitFor(() => storedAt('transactions_realtime', 'transaction_id', tx.transaction_id), 'the transaction row')).toBe(stored);
  });

  test.each([
    ['no zone', '2024-05-01T10:00:00.000', 'invalid_timestamp'],
    ['a space for the T', '2024-05-01 10:00:00Z', 'invalid_timestamp'],
    ['an impossible date', '2023-02-29T10:00:00Z', 'invalid_timestamp'],
    ['before 2000 once the offset is applied', '2000-01-01T00:30:00+01:00', 'invalid_timestamp'],
    ['a day ahead', new Date(Date.now() + 86_400_000).toISOString().replace('Z', '+00:00'), 'future_timestamp'],
  ])('%s (%s) is still dead-lettered: %s', async (_what, sent, reason) => {
    const a = await send({ ...VALID_EVENTS.login, event_id: randomUUID(), user_id: randomUUID(), timestamp: sent });
    expect(a.body).toMatchObject({ stored: 0, dead_lettered: 1, rejected: [{ reason, field: 'timestamp' }] });
  });
});

describe('schema evolution: stored with a warning, in the figures', () => {
  const now = () => new Date().toISOString();
  const range = () => `from=${new Date(Date.now() - 3600_000).toISOString()}&to=${new Date(Date.now() + 3600_000).toISOString()}`;
  type Product = { product_id: string; purchases: number; units: number; revenue: string };
  const product = async (id: string) => (await stack.api<Product[]>(`/api/products?${range()}&limit=1000`)).find((p) => p.product_id === id);

  test('an unknown field (coupon) on a purchase: stored without it, one warning by name, the product figures move', async () => {
    const productId = `P-coupon-${randomUUID().slice(0, 8)}`;
    const e = { ...VALID_EVENTS.purchase, event_id: randomUUID(), user_id: randomUUID(), order_id: randomUUID(), product_id: productId, timestamp: now(), coupon: 'SPRING10' };
    const before = await warningCount('unknown_field', 'coupon');
    expect((await send(e)).body).toMatchObject({ stored: 1, dead_lettered: 0 });
    const row = await waitFor(async () => (await stack.query(`SELECT * FROM {db}.user_events_realtime WHERE event_id = {id:UUID}`, { id: e.event_id }))[0], 'the row');
    expect(row).toMatchObject({ event_type: 'purchase', product_id: productId, price: '49.99', quantity: 2 });
    expect(Object.keys(row)).not.toContain('coupon');
    expect(await warningsOf(e.event_id)).toEqual([{ kind: 'unknown_field', field: 'coupon', value: '"SPRING10"' }]);
    expect(await warningCount('unknown_field', 'coupon')).toBe(before + 1);
    expect(await waitFor(() => product(productId), 'the product figures')).toMatchObject({ purchases: 1, units: 2, revenue: '99.98' });
  });

  test('an unlisted payment method: stored as sent, one warning, the tier revenue moves', async () => {
    const user = randomUUID();
    await stack.seedUsers([{ user_id: user, tier: 'Platinum', inPostgres: true }]);
    const platinum = async () => (await stack.api<{ tier: string; orders: number; revenue: string }[]>(`/api/tiers?${range()}`)).find((t) => t.tier === 'Platinum');
    const before = (await platinum()) ?? { orders: 0, revenue: '0' };
    const tx = { ...VALID_TRANSACTION, transaction_id: randomUUID(), order_id: randomUUID(), user_id: user, timestamp: now(), payment_method: 'klarna' };
    expect((await send(tx, TRANSACTION_CE_TYPE)).body).toMatchObject({ stored: 1, dead_lettered: 0 });
    const row = await waitFor(async () => (await stack.query(`SELECT payment_method, user_tier FROM {db}.transactions_realtime WHERE transaction_id = {id:UUID}`, { id: tx.transaction_id }))[0], 'the row');
    expect(row).toEqual({ payment_method: 'klarna', user_tier: 'Platinum' });
    expect(await warningsOf(tx.transaction_id)).toEqual([{ kind: 'unlisted_value', field: 'payment_method', value: '"klarna"' }]);
    const after = await waitFor(async () => { const p = await platinum(); return p && p.orders === before.orders + 1 ? p : undefined; }, 'the tier figures');
    expect(Number(after.revenue) - Number(before.revenue)).toBeCloseTo(97.72, 2);
  });

  test('an unlisted device type and an unknown field on an item: stored, warned, counted in the events by type', async () => {
    const e = { ...VALID_EVENTS.page_view, event_id: randomUUID(), user_id: randomUUID(), timestamp: now(), device_type: 'smart_tv' };
    const pageViews = async () => (await stack.api<{ event_type: string; events: number }[]>(`/api/event-types?${range()}`)).find((s) => s.event_type === 'page_view')?.events ?? 0;
    const before = await pageViews();
    expect((await send(e)).body).toMatchObject({ stored: 1 });
    await waitFor(async () => ((await pageViews()) === before + 1 ? true : undefined), 'the events by type');
    expect(await warningsOf(e.event_id)).toEqual([{ kind: 'unlisted_value', field: 'device_type', value: '"smart_tv"' }]);
    expect((await stack.query(`SELECT device_type FROM {db}.user_events_realtime WHERE event_id = {id:UUID}`, { id: e.event_id }))[0]).toEqual({ device_type: 'smart_tv' });

    const tx = { ...VALID_TRANSACTION, transaction_id: randomUUID(), order_id: randomUUID(), user_id: randomUUID(), timestamp: now(), items: VALID_TRANSACTION.items.map((i) => ({ ...i, gift_wrap: true })) };
    expect((await send(tx, TRANSACTION_CE_TYPE)).body).toMatchObject({ stored: 1 });
    expect(await waitFor(async () => { const w = await warningsOf(tx.transaction_id); return w.length ? w : undefined; }, 'the warning')).toEqual([{ kind: 'unknown_field', field: 'items.gift_wrap', value: 'true' }]);
  });

  test('a dataschema of an unknown version: read as v1, stored, warned', async () => {
    const e = { ...VALID_EVENTS.login, event_id: randomUUID(), user_id: randomUUID(), timestamp: now() };
    expect((await send(e, EVENT_CE_TYPE, { 'ce-dataschema': 'https://speed-layer.dev/schemas/v7/login.json' })).body).toMatchObject({ stored: 1 });
    expect(await waitFor(async () => { const w = await warningsOf(e.event_id); return w.length ? w : undefined; }, 'the warning'))
      .toEqual([{ kind: 'unknown_schema', field: 'dataschema', value: '"https://speed-layer.dev/schemas/v7/login.json"' }]);
  });

  test('a redelivered event with an unknown field: stored once, warned once', async () => {
    const e = { ...VALID_EVENTS.login, event_id: randomUUID(), user_id: randomUUID(), timestamp: now(), app_version: '3.2.1' };
    const before = await warningCount('unknown_field', 'app_version');
    await send(e);
    expect((await send(e)).body).toMatchObject({ stored: 0 });
    await waitFor(async () => ((await warningsOf(e.event_id)).length ? true : undefined), 'the warning');
    expect(await warningsOf(e.event_id)).toHaveLength(1);
    expect(await warningCount('unknown_field', 'app_version')).toBe(before + 1);
  });

  test.each<[string, () => Record<string, unknown>, string, string, string]>([
    ['event_type', () => ({ ...VALID_EVENTS.login, event_id: randomUUID(), timestamp: now(), event_type: 'wishlist_add' }), EVENT_CE_TYPE, 'unknown_type', 'event_type'],
    ['transaction status', () => ({ ...VALID_TRANSACTION, transaction_id: randomUUID(), timestamp: now(), status: 'chargeback' }), TRANSACTION_CE_TYPE, 'schema_violation', 'status'],
    ['an id', () => ({ ...VALID_EVENTS.login, event_id: 'evt-1', timestamp: now() }), EVENT_CE_TYPE, 'schema_violation', 'event_id'],
    ['money', () => ({ ...VALID_EVENTS.purchase, event_id: randomUUID(), timestamp: now(), price: '49,99' }), EVENT_CE_TYPE, 'schema_violation', 'price'],
    ['a __proto__ key', () => JSON.parse(`{"__proto__":{"polluted":1},${JSON.stringify({ ...VALID_EVENTS.login, event_id: randomUUID(), timestamp: now() }).slice(1)}`), EVENT_CE_TYPE, 'schema_violation', '__proto__'],
  ])('strict: %s is still dead-lettered', async (_what, data, type, reason, field) => {
    const a = await send(data(), type);
    expect(a.body).toMatchObject({ stored: 0, dead_lettered: 1, rejected: [{ reason, field }] });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('the analytics API reads its from/to by the same rule', () => {
  test('an offset is its UTC instant; no zone is a 400', async () => {
    const ok = await fetch(`${stack.analyticsUrl}/api/funnel?from=2024-05-01T12:00:00.5%2B02:00&to=2024-05-01T11:00:00Z`);
    expect(await ok.json()).toMatchObject({ range: { from: '2024-05-01T10:00:00.500Z', to: '2024-05-01T11:00:00.000Z' } });
    const bad = await fetch(`${stack.analyticsUrl}/api/funnel?from=2024-05-01T10:00:00`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'invalid_parameter', field: 'from' });
  });
});
