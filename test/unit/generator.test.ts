// The generator and its ground truth: reproducible from the seed, the seed's event and tier mix,
// purchases paired with transactions, valid records valid and invalid ones rejected by the very
// steps the ingest runs (SDK encoding → decodeRequest → parseData → validateRecord).
import { describe, expect, test } from 'vitest';
import type { RejectReason } from '../../functions/core/result.js';
import { toCents } from '../../functions/core/money.js';
import { EVENT_TYPES, FUNNEL_STEPS, type Transaction, type UserEvent } from '../../functions/schemas/events.js';
import { decodeRequest } from '../../functions/cloudevents/index.js';
import { parseData } from '../../functions/steps/decode.js';
import { validateRecord } from '../../functions/steps/validate.js';
import { encode, MODES, toCloudEvent } from '../../generator/cloudevents.js';
import { groundTruth } from '../../generator/ground-truth.js';
import { createRandom } from '../../generator/random.js';
import { referenceSessions } from '../../generator/reference-sessions.js';
import { createUsers, EVENT_MIX, generate, TIER_MIX, type Generated, type GeneratedRecord, type GeneratorOptions } from '../../generator/simulate.js';

const HOUR = 3_600_000;
const START = Date.parse('2024-05-01T00:00:00.000Z');
const SKEW = 5 * 60_000;

const eventsOf = (g: Generated): UserEvent[] => g.records.flatMap((r) => (r.kind === 'event' ? [r.event] : []));
const txsOf = (g: Generated): Transaction[] => g.records.flatMap((r) => (r.kind === 'transaction' ? [r.transaction] : []));
const share = (n: number, total: number) => (100 * n) / total;

describe('reproducible from the seed', () => {
  const opts: GeneratorOptions = { seed: 7, users: 40, startMs: START, durationMs: 3 * HOUR, invalidShare: 0.05 };

  test('the same seed gives the same users and records', () => {
    const a = generate(opts);
    const b = generate(opts);
    expect(a.records.length).toBeGreaterThan(100);
    expect(b).toEqual(a);
    expect(groundTruth(b)).toEqual(groundTruth(a));
  });

  test('another seed gives other records', () => {
    const a = generate(opts);
    const b = generate({ ...opts, seed: 8 });
    expect(b.users.map((u) => u.user_id)).not.toEqual(a.users.map((u) => u.user_id));
    expect(b.records.map((r) => r.id)).not.toEqual(a.records.map((r) => r.id));
  });

  test('the PRNG repeats itself for a seed and differs between seeds', () => {
    const draw = (seed: number) => { const r = createRandom(seed); return Array.from({ length: 5 }, () => r.next()); };
    expect(draw(1)).toEqual(draw(1));
    expect(draw(1)).not.toEqual(draw(2));
    for (const x of draw(3)) expect(x >= 0 && x < 1).toBe(true);
  });
});

describe('a larger run (400 users, 6 h)', () => {
  const gen = generate({ seed: 42, users: 400, startMs: START, durationMs: 6 * HOUR });
  const events = eventsOf(gen);
  const txs = txsOf(gen);
  const truth = groundTruth(gen);

  test('is large enough to measure', () => {
    expect(events.length).toBeGreaterThan(10_000);
  });

  test.each(Object.entries(EVENT_MIX))("%s is %d %% of events, within 2.5 points", (type, pct) => {
    const n = events.filter((e) => e.event_type === type).length;
    expect(Math.abs(share(n, events.length) - pct)).toBeLessThanOrEqual(2.5);
  });

  test.each(Object.entries(TIER_MIX))('%s is %d %% of users, within three standard deviations', (tier, pct) => {
    const n = gen.users.filter((u) => u.tier === tier).length;
    const sd = 100 * Math.sqrt((pct / 100) * (1 - pct / 100) / gen.users.length);
    expect(Math.abs(share(n, gen.users.length) - pct)).toBeLessThanOrEqual(3 * sd);
  });

  test.each(Object.entries(TIER_MIX))('over 20,000 drawn users %s is %d %% within a point', (tier, pct) => {
    const users = createUsers(createRandom(99), 20_000, 0.05);
    expect(Math.abs(share(users.filter((u) => u.tier === tier).length, users.length) - pct)).toBeLessThanOrEqual(1);
  });

  test('every purchase has exactly one transaction with its order_id, for the same user, product, quantity and price', () => {
    const purchases = events.filter((e) => e.event_type === 'purchase');
    expect(purchases.length).toBeGreaterThan(100);
    const txByOrder = new Map<string, Transaction[]>();
    for (const t of txs) txByOrder.set(t.order_id, [...(txByOrder.get(t.order_id) ?? []), t]);
    for (const p of purchases) {
      const matches = txByOrder.get(p.order_id) ?? [];
      expect(matches, p.order_id).toHaveLength(1);
      const t = matches[0]!;
      expect(t.user_id).toBe(p.user_id);
      expect(t.items).toEqual([{ product_id: p.product_id, quantity: p.quantity, unit_price: p.price }]);
      const lag = Date.parse(t.timestamp) - Date.parse(p.timestamp);
      expect(lag >= 20 && lag <= 900, `transaction ${lag} ms after its purchase`).toBe(true);
    }
    expect(txs).toHaveLength(purchases.length);
  });

  test('valid records are in time order, inside the window, with unique ids', () => {
    const times = gen.records.flatMap((r) => (r.kind === 'event' ? [Date.parse(r.event.timestamp)] : r.kind === 'transaction' ? [Date.parse(r.transaction.timestamp)] : []));
    for (let i = 1; i < times.length; i++) if (times[i]! < times[i - 1]!) expect.fail(`record ${i} is earlier than record ${i - 1}`);
    expect(events.filter((e) => Date.parse(e.timestamp) >= START + 6 * HOUR)).toEqual([]);
    expect(times[0]).toBeGreaterThanOrEqual(START);
    expect(new Set(gen.records.map((r) => r.id)).size).toBe(gen.records.length);
  });

  test('every valid record passes validateRecord', () => {
    const now = START + 6 * HOUR;
    const failures: string[] = [];
    for (const r of gen.records) {
      if (r.kind === 'invalid') continue;
      const res = r.kind === 'event' ? validateRecord('event', r.event, now, SKEW) : validateRecord('transaction', r.transaction, now, SKEW);
      if (!res.ok) failures.push(`${r.id}: ${res.reason} ${res.detail}`);
    }
    expect(failures).toEqual([]);
  });

  test('the ground truth counts what was generated', () => {
    const invalid = gen.records.filter((r) => r.kind === 'invalid');
    expect(truth.totals).toEqual({ events: events.length, transactions: txs.length, invalid: invalid.length });
    expect(invalid.length).toBe(Math.round((events.length + txs.length) * 0.02));
    for (const t of EVENT_TYPES) expect(truth.eventsByType[t]).toBe(events.filter((e) => e.event_type === t).length);
    expect(truth.funnel.map((f) => f.step)).toEqual([...FUNNEL_STEPS]);
    expect(truth.funnel[0]).toEqual({ step: 'page_view', events: truth.eventsByType.page_view, users: new Set(events.filter((e) => e.event_type === 'page_view').map((e) => e.user_id)).size });
    expect(truth.sessions).toEqual(referenceSessions(events));
    const reasons: Partial<Record<RejectReason, number>> = {};
    for (const r of invalid) if (r.kind === 'invalid') reasons[r.reason] = (reasons[r.reason] ?? 0) + 1;
    expect(truth.deadLetters).toEqual(reasons);
    const revenue = truth.tiers.reduce((s, t) => s + t.revenue_cents, 0);
    expect(revenue).toBe(txs.filter((t) => t.status === 'completed').reduce((s, t) => s + toCents(t.total_amount), 0));
  });

  test('users missing from PostgreSQL show tier unknown, and only they', () => {
    const missing = new Set(gen.users.filter((u) => !u.inPostgres).map((u) => u.user_id));
    expect(missing.size).toBeGreaterThan(0);
    const unknown = truth.tiers.find((t) => t.tier === 'unknown');
    expect(unknown).toBeDefined();
    const theirEvents = events.filter((e) => missing.has(e.user_id));
    expect(unknown!.events).toBe(theirEvents.length);
    expect(unknown!.users).toBe(new Set(theirEvents.map((e) => e.user_id)).size);
    expect(truth.funnelByTier.unknown).toBeDefined();
    const tierOf = new Map(gen.users.map((u) => [u.user_id, u.tier]));
    for (const t of truth.tiers.filter((x) => x.tier !== 'unknown')) {
      expect(t.events).toBe(events.filter((e) => !missing.has(e.user_id) && tierOf.get(e.user_id) === t.tier).length);
    }
    expect(truth.tiers.reduce((s, t) => s + t.events, 0)).toBe(events.length);
  });

  test('with every user in PostgreSQL there is no unknown tier', () => {
    const all = generate({ seed: 5, users: 30, startMs: START, durationMs: 2 * HOUR, unknownUserShare: 0 });
    expect(groundTruth(all).tiers.map((t) => t.tier)).not.toContain('unknown');
  });
});

describe("records through the ingest's own steps, encoded by the cloudevents SDK", () => {
  // Many invalid records, so each kind of damage occurs many times.
  const gen = generate({ seed: 3, users: 60, startMs: START, durationMs: 6 * HOUR, invalidShare: 0.1 });
  const now = START + 6 * HOUR;
  const invalid = gen.records.filter((r): r is Extract<GeneratedRecord, { kind: 'invalid' }> => r.kind === 'invalid');

  /** What the ingest would make of a record: ok with its data, or the reason. */
  function ingest(records: readonly GeneratedRecord[], mode: (typeof MODES)[number]) {
    const out: { id: string; ok: boolean; reason?: string; value?: unknown }[] = [];
    const chunks = mode === 'batch' ? [records] : records.map((r) => [r]);
    for (const chunk of chunks) {
      const msg = encode(mode, chunk.map((r) => toCloudEvent(r)));
      for (const e of decodeRequest(msg.headers, msg.body)) {
        const parsed = parseData(e);
        const res = !parsed.ok ? parsed : e.kind ? validateRecord(e.kind, parsed.value, now, SKEW) : undefined;
        expect(res, `kind of ${e.attrs.id}`).toBeDefined();
        out.push(res!.ok ? { id: e.attrs.id, ok: true, value: res!.value } : { id: e.attrs.id, ok: false, reason: res!.reason });
      }
    }
    return out;
  }

  test('every kind of damage occurs', () => {
    expect(new Set(invalid.map((r) => r.reason))).toEqual(new Set(['invalid_json', 'unknown_type', 'schema_violation', 'invalid_timestamp', 'amount_mismatch']));
    expect(invalid.length).toBeGreaterThan(100);
  });

  test.each(MODES)('in %s mode each invalid record is rejected with exactly its reason', (mode) => {
    const out = ingest(invalid, mode);
    expect(out.map((o) => [o.id, o.ok, o.reason])).toEqual(invalid.map((r) => [r.id, false, r.reason]));
  });

  test.each(MODES)('in %s mode each valid record passes with the data it was generated from', (mode) => {
    const valid = gen.records.filter((r) => r.kind !== 'invalid').slice(0, 400);
    const out = ingest(valid, mode);
    expect(out).toEqual(valid.map((r) => ({
      id: r.id, ok: true,
      value: r.kind === 'event' ? { kind: 'event', event: r.event } : r.kind === 'transaction' ? { kind: 'transaction', transaction: r.transaction } : undefined,
    })));
  });

  test('a mixed batch keeps the order and the outcome of each record', () => {
    const mixed = gen.records.slice(0, 300);
    expect(mixed.some((r) => r.kind === 'invalid')).toBe(true);
    const out = ingest(mixed, 'batch');
    expect(out.map((o) => [o.id, o.ok ? 'ok' : o.reason])).toEqual(mixed.map((r) => [r.id, r.kind === 'invalid' ? r.reason : 'ok']));
  });
});
