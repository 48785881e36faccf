import { timestampMs } from '../functions/core/timestamp.js';
import { fromCents } from '../functions/core/money.js';
import type { RejectReason } from '../functions/core/result.js';
import type { EventType, Transaction, UserEvent } from '../functions/schemas/events.js';
import { createCatalog, type Product } from './catalog.js';
import { createRandom, type Random } from './random.js';

/** The seed's event mix and tier mix (speed-layer-tasks.md). */
export const EVENT_MIX: Record<EventType, number> = {
  page_view: 35, product_view: 25, search: 15, add_to_cart: 10, purchase: 5,
  remove_from_cart: 4, checkout_start: 3, login: 2, logout: 1,
};
export const TIER_MIX = { Bronze: 60, Silver: 25, Gold: 12, Platinum: 3 } as const;
export const ACTIVITY = { Bronze: 1, Silver: 1.3, Gold: 1.6, Platinum: 1.9 } as const;
const DISCOUNT_CHANCE = { Bronze: 0.1, Silver: 0.15, Gold: 0.35, Platinum: 0.3 } as const;
const TAX_RATE = 0.08;
const SESSION_GAP_MS = 30 * 60_000;

export type KnownTier = keyof typeof TIER_MIX;
export type SimUser = { user_id: string; tier: KnownTier; inPostgres: boolean };

export type GeneratedRecord =
  | { kind: 'event'; id: string; event: UserEvent }
  | { kind: 'transaction'; id: string; transaction: Transaction }
  /** A deliberately broken payload and the reason code the ingest must give it. */
  | { kind: 'invalid'; id: string; as: 'event' | 'transaction'; raw: string; reason: RejectReason };

export type GeneratorOptions = {
  seed: number;
  users: number;
  startMs: number;
  durationMs: number;
  /** Share of users left out of PostgreSQL, so their tier is `unknown`. */
  unknownUserShare?: number;
  /** Invalid records added, as a share of valid records. */
  invalidShare?: number;
  meanEventGapMs?: number;
  meanIdleGapMs?: number;
  meanSessionEvents?: number;
};

export type Generated = { users: SimUser[]; records: GeneratedRecord[] };

export function createUsers(rnd: Random, count: number, unknownShare: number): SimUser[] {
  return Array.from({ length: count }, () => ({
    user_id: rnd.uuid(),
    tier: rnd.weighted(TIER_MIX),
    inPostgres: !rnd.chance(unknownShare),
  }));
}

/** Generates a time-ordered, reproducible log of events and transactions for `users` over a window. */
export function generate(opts: GeneratorOptions): Generated {
  const rnd = createRandom(opts.seed);
  const catalog = createCatalog(rnd);
  const users = createUsers(rnd, opts.users, opts.unknownUserShare ?? 0.05);
  const endMs = opts.startMs + opts.durationMs;
  const timed: { t: number; seq: number; rec: GeneratedRecord }[] = [];
  let seq = 0;
  const push = (t: number, rec: GeneratedRecord) => timed.push({ t, seq: seq++, rec });

  for (const user of users) {
    const act = ACTIVITY[user.tier];
    const idleMean = (opts.meanIdleGapMs ?? 60 * 60_000) / act;
    let t = opts.startMs + Math.floor(rnd.next() * Math.min(idleMean, opts.durationMs));
    while (t < endMs) {
      const events = simulateSession(rnd, catalog, user, t, opts, act);
      for (const e of events) {
        if (timestampMs(e.event.timestamp) >= endMs) break;
        push(timestampMs(e.event.timestamp), { kind: 'event', id: e.event.event_id, event: e.event });
        if (e.transaction) push(timestampMs(e.transaction.timestamp), { kind: 'transaction', id: e.transaction.transaction_id, transaction: e.transaction });
      }
      const last = timestampMs(events[events.length - 1]!.event.timestamp);
      // A few idle gaps sit just past the 30-minute boundary, to exercise it.
      const idle = rnd.chance(0.03) ? SESSION_GAP_MS + rnd.int(1, 5_000) : SESSION_GAP_MS + 1_000 + Math.floor(rnd.exp(idleMean));
      t = last + idle;
    }
  }
  timed.sort((a, b) => a.t - b.t || a.seq - b.seq);
  const records = timed.map((x) => x.rec);
  return { users, records: insertInvalid(rnd, records, opts.invalidShare ?? 0.02) };
}

export type SessionEvent = { event: UserEvent; transaction?: Transaction };

/** One visit of a user starting at `startMs`: events in funnel order, a transaction per purchase. */
export function simulateSession(rnd: Random, catalog: ReturnType<typeof createCatalog>, user: SimUser, startMs: number, opts: Pick<GeneratorOptions, 'meanSessionEvents' | 'meanEventGapMs'>, act: number): SessionEvent[] {
  const k = 1 + Math.floor(rnd.exp((opts.meanSessionEvents ?? 10) * act - 1));
  // Draw the session's events from the seed's mix, then order them as a visit progresses through the funnel.
  let types = Array.from({ length: k }, () => rnd.weighted(EVENT_MIX));
  const hasLogin = types.includes('login');
  const hasLogout = types.includes('logout');
  types = types.map((x) => (x === 'login' || x === 'logout' ? 'page_view' : x));
  const rank: Partial<Record<EventType, number>> = { page_view: 0, search: 0.5, product_view: 1, add_to_cart: 2, remove_from_cart: 2.5, checkout_start: 3, purchase: 4 };
  types = types.map((x) => ({ x, r: rank[x]! + rnd.next() * 2.5 })).sort((a, b) => a.r - b.r).map((o) => o.x);
  if (hasLogin) types[0] = 'login';
  if (hasLogout) types.push('logout');

  const device = rnd.weighted({ desktop: 50, mobile: 42, tablet: 8 } as const);
  const referrer = rnd.chance(0.4) ? rnd.pick(['https://search.example/', 'https://social.example/', 'https://mail.example/']) : undefined;
  const viewed: Product[] = [];
  const cart: Product[] = [];
  const out: SessionEvent[] = [];
  let t = startMs;
  for (let i = 0; i < types.length; i++) {
    if (i > 0) {
      // Gaps stay under the session timeout; a few sit just under it, to exercise the boundary.
      t += rnd.chance(0.02) ? SESSION_GAP_MS - rnd.int(1, 5_000) : Math.min(SESSION_GAP_MS - 1, 200 + Math.floor(rnd.exp((opts.meanEventGapMs ?? 20_000) / act)));
    }
    const type = types[i]!;
    const base = {
      event_id: rnd.uuid(), user_id: user.user_id, timestamp: new Date(t).toISOString(), device_type: device,
      ...(i === 0 && referrer ? { referrer } : {}),
    };
    const fromSession = (list: Product[]) => (list.length > 0 && rnd.chance(0.8) ? rnd.pick(list) : catalog.pickProduct());
    switch (type) {
      case 'page_view': out.push({ event: { ...base, event_type: type, page_url: catalog.pickPage() } }); break;
      case 'product_view': {
        const p = catalog.pickProduct();
        viewed.push(p);
        out.push({ event: { ...base, event_type: type, page_url: `/product/${p.product_id}`, product_id: p.product_id, category: p.category, price: fromCents(p.priceCents) } });
        break;
      }
      case 'search': {
        const q = catalog.pickQuery();
        out.push({ event: { ...base, event_type: type, page_url: `/search?q=${encodeURIComponent(q)}`, search_query: q } });
        break;
      }
      case 'add_to_cart': {
        const p = fromSession(viewed);
        cart.push(p);
        out.push({ event: { ...base, event_type: type, page_url: `/product/${p.product_id}`, product_id: p.product_id, category: p.category, price: fromCents(p.priceCents), quantity: rnd.int(1, 3) } });
        break;
      }
      case 'remove_from_cart': {
        const p = fromSession(cart);
        out.push({ event: { ...base, event_type: type, page_url: '/cart', product_id: p.product_id, quantity: 1 } });
        break;
      }
      case 'checkout_start': out.push({ event: { ...base, event_type: type, page_url: '/checkout' } }); break;
      case 'purchase': {
        const p = fromSession(cart);
        const qty = rnd.int(1, 3);
        const order_id = rnd.uuid();
        const event: UserEvent = { ...base, event_type: type, page_url: '/checkout/confirm', order_id, product_id: p.product_id, category: p.category, price: fromCents(p.priceCents), quantity: qty };
        out.push({ event, transaction: transactionFor(rnd, user, event.order_id, p, qty, t + rnd.int(20, 900)) });
        break;
      }
      case 'login': out.push({ event: { ...base, event_type: type, page_url: '/login' } }); break;
      case 'logout': out.push({ event: { ...base, event_type: type, page_url: '/logout' } }); break;
    }
  }
  return out;
}

function transactionFor(rnd: Random, user: SimUser, orderId: string, p: Product, qty: number, t: number): Transaction {
  const subtotal = p.priceCents * qty;
  const discount = rnd.chance(DISCOUNT_CHANCE[user.tier]) ? Math.round(subtotal * rnd.int(5, 20) / 100) : 0;
  const tax = Math.round((subtotal - discount) * TAX_RATE);
  return {
    transaction_id: rnd.uuid(), order_id: orderId, user_id: user.user_id, timestamp: new Date(t).toISOString(),
    items: [{ product_id: p.product_id, quantity: qty, unit_price: fromCents(p.priceCents) }],
    subtotal: fromCents(subtotal), discount: fromCents(discount), tax: fromCents(tax), total_amount: fromCents(subtotal - discount + tax),
    currency: 'USD', payment_method: rnd.pick(['credit_card', 'debit_card', 'paypal', 'apple_pay', 'bank_transfer'] as const),
    status: rnd.chance(0.97) ? 'completed' : 'failed',
  };
}

/** Each kind of damage a producer might do, and the reason code the ingest must answer with. */
const CORRUPTIONS: { reason: RejectReason; as: 'event' | 'transaction'; damage: (o: Record<string, unknown>, rnd: Random) => string }[] = [
  { reason: 'invalid_json', as: 'event', damage: (o) => JSON.stringify(o).slice(0, -7) },
  { reason: 'unknown_type', as: 'event', damage: (o) => JSON.stringify({ ...o, event_type: 'hover' }) },
  { reason: 'schema_violation', as: 'event', damage: (o) => JSON.stringify({ ...o, user_id: 'user-42' }) },
  { reason: 'schema_violation', as: 'event', damage: (o) => JSON.stringify({ ...o, event_id: undefined }) },
  // A local time without a zone: any other RFC 3339 form (no fraction, an offset) is accepted.
  { reason: 'invalid_timestamp', as: 'event', damage: (o) => JSON.stringify({ ...o, timestamp: String(o.timestamp).replace(/Z$/, '') }) },
  { reason: 'amount_mismatch', as: 'transaction', damage: (o) => JSON.stringify({ ...o, total_amount: '999999.99' }) },
];

/** A broken copy of a valid record, with the reason code the ingest must give it. */
export function corrupt(rnd: Random, rec: Extract<GeneratedRecord, { kind: 'event' | 'transaction' }>, i: number): GeneratedRecord | undefined {
  const options = CORRUPTIONS.filter((c) => c.as === rec.kind);
  const c = options[i % options.length];
  if (!c) return undefined;
  const source = rec.kind === 'event' ? rec.event : rec.transaction;
  const copy: Record<string, unknown> = { ...source, [rec.kind === 'event' ? 'event_id' : 'transaction_id']: rnd.uuid() };
  return { kind: 'invalid', id: String(copy.event_id ?? copy.transaction_id), as: c.as, raw: c.damage(copy, rnd), reason: c.reason };
}

function insertInvalid(rnd: Random, records: GeneratedRecord[], share: number): GeneratedRecord[] {
  const events = records.filter((r): r is Extract<GeneratedRecord, { kind: 'event' }> => r.kind === 'event');
  const txs = records.filter((r): r is Extract<GeneratedRecord, { kind: 'transaction' }> => r.kind === 'transaction');
  const n = Math.round(records.length * share);
  const out = [...records];
  for (let i = 0; i < n; i++) {
    const c = CORRUPTIONS[i % CORRUPTIONS.length]!;
    const source = c.as === 'event' ? rnd.pick(events)?.event : rnd.pick(txs)?.transaction;
    if (!source) continue;
    // Invalid records get fresh ids so they never collide with (and never dedupe against) a valid one.
    const copy: Record<string, unknown> = { ...source, [c.as === 'event' ? 'event_id' : 'transaction_id']: rnd.uuid() };
    const id = String(copy.event_id ?? copy.transaction_id);
    out.splice(rnd.int(0, out.length), 0, { kind: 'invalid', id, as: c.as, raw: c.damage(copy, rnd), reason: c.reason });
  }
  return out;
}

