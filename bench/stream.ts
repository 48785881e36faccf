import { createHash } from 'node:crypto';
import { fromCents } from '../functions/core/money.js';
import type { EventType, Transaction, UserEvent } from '../functions/schemas/events.js';
import { createCatalog } from '../generator/catalog.js';
import { createRandom } from '../generator/random.js';
import { createMinHeap } from '../generator/min-heap.js';
import { ACTIVITY, EVENT_MIX, TIER_MIX, corrupt, type GeneratedRecord, type KnownTier, type SimUser } from '../generator/simulate.js';

/**
 * The benchmark's event source: the generator's shop (visits through the funnel in the seed's event
 * mix, a transaction per purchase, 1 % broken records from the generator's own `corrupt`) at an
 * exact rate, cheaply, with bounded memory. `take(n, now)` returns exactly n records stamped at or
 * just before `now`: the due events of visits under way, and when those run short, new visits
 * starting now. So the rate is the caller's, event time is send time, and only the visits under
 * way are held (one entry per visit; an event is built when it is due).
 *
 * It follows generator/simulate.ts's `simulateSession` (same mix, funnel order, fields) but is
 * written for speed: the load generator shares the 2 cores with the system under test, and
 * simulateSession costs about 50 µs an event there. Two simplifications: gaps inside a visit
 * average `meanEventGapMs` (2 s, not 20 s) and none sits just under the 30-minute timeout, so a
 * visit lasts seconds and few are held at once.
 *
 * Users are a population of `population` ids derived from (seed, index), so the bench can put the
 * same users into PostgreSQL without keeping them in memory; `unknownShare` of them are left out of
 * PostgreSQL (their tier is `unknown`), as in the generator.
 */
export type StreamOptions = {
  seed: number;
  population: number;
  meanEventGapMs: number;
  invalidShare: number;
  unknownShare: number;
};

export const STREAM_DEFAULTS = { meanEventGapMs: 2_000, invalidShare: 0.01, unknownShare: 0.05 } as const;

const TIER_WEIGHTS = Object.entries(TIER_MIX) as [KnownTier, number][];
const TIER_TOTAL = TIER_WEIGHTS.reduce((s, [, w]) => s + w, 0);
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const SESSION_GAP_MS = 30 * 60_000;
const PAGES = ['/', '/deals', '/new', '/help', '/account', '/cart', '/blog'] as const;
const QUERIES = ['laptop', 'running shoes', 'coffee', 'headphones', 'lego', 'novel', 'lamp', 'yoga mat', 'phone case', 'gift'] as const;
const RANK: Partial<Record<EventType, number>> = { page_view: 0, search: 0.5, product_view: 1, add_to_cart: 2, remove_from_cart: 2.5, checkout_start: 3, purchase: 4 };
const PAYMENT = ['credit_card', 'debit_card', 'paypal', 'apple_pay', 'bank_transfer'] as const;
const DISCOUNT_CHANCE = { Bronze: 0.1, Silver: 0.15, Gold: 0.35, Platinum: 0.3 } as const;

/** User `index` of a seeded population: a v4-shaped UUID, a tier from the seed's mix, in PostgreSQL or not. */
export function populationUser(seed: number, index: number, unknownShare: number = STREAM_DEFAULTS.unknownShare): SimUser {
  const h = createHash('md5').update(`${seed}:${index}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x40;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const s = h.toString('hex');
  let x = (h.readUInt32BE(10) / 2 ** 32) * TIER_TOTAL;
  let tier: KnownTier = TIER_WEIGHTS[TIER_WEIGHTS.length - 1]![0];
  for (const [t, w] of TIER_WEIGHTS) if ((x -= w) < 0) { tier = t; break; }
  return {
    user_id: `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`,
    tier,
    inPostgres: h.readUInt16BE(14) / 65536 >= unknownShare,
  };
}

export function createStream(opts: StreamOptions) {
  const rnd = createRandom(opts.seed);
  const next = rnd.next;
  const u32 = () => (next() * 4294967296) >>> 0;
  const uuid = () => {
    const a = u32(), b = (u32() & 0xffff0fff) | 0x4000, c = ((u32() & 0x3fffffff) | 0x80000000) >>> 0, d = u32();
    return `${HEX[a >>> 24]}${HEX[(a >>> 16) & 255]}${HEX[(a >>> 8) & 255]}${HEX[a & 255]}-${HEX[b >>> 24]}${HEX[(b >>> 16) & 255]}-${HEX[(b >>> 8) & 255]}${HEX[b & 255]}-` +
      `${HEX[c >>> 24]}${HEX[(c >>> 16) & 255]}-${HEX[(c >>> 8) & 255]}${HEX[c & 255]}${HEX[d >>> 24]}${HEX[(d >>> 16) & 255]}${HEX[(d >>> 8) & 255]}${HEX[d & 255]}`;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const exp = (mean: number) => -Math.log(1 - next()) * mean;
  const mixTypes = Object.keys(EVENT_MIX) as EventType[];
  const mixCum = mixTypes.reduce<number[]>((acc, t) => [...acc, (acc[acc.length - 1] ?? 0) + EVENT_MIX[t]], []);
  const mixTotal = mixCum[mixCum.length - 1]!;
  const drawType = (): EventType => {
    const x = next() * mixTotal;
    let i = 0;
    while (mixCum[i]! <= x) i++;
    return mixTypes[i]!;
  };
  const catalog = createCatalog(createRandom(opts.seed));
  const products = catalog.products.map((p) => ({ ...p, price: fromCents(p.priceCents) }));
  type Product = (typeof products)[number];
  const weights = products.map((_, i) => 1 / (i + 1) ** 0.8);
  const cum = weights.reduce<number[]>((acc, w) => [...acc, (acc[acc.length - 1] ?? 0) + w], []);
  const pickProduct = (): Product => {
    const x = next() * cum[cum.length - 1]!;
    let lo = 0, hi = cum.length - 1;
    while (lo < hi) { const m = (lo + hi) >> 1; if (cum[m]! <= x) lo = m + 1; else hi = m; }
    return products[lo]!;
  };

  /** A visit under way: its next event is generated when it is due, so memory holds visits, not events. */
  type Visit = { user: SimUser; act: number; types: EventType[]; i: number; device: 'desktop' | 'mobile' | 'tablet'; referrer?: string; viewed: Product[]; cart: Product[] };
  type Item = { t: number; seq: number; visit?: Visit; rec?: GeneratedRecord };
  let seq = 0;
  const heap = createMinHeap<Item>((a, b) => a.t < b.t || (a.t === b.t && a.seq < b.seq));
  const push = heap.push;
  const pop = heap.pop;

  const transaction = (user: SimUser, orderId: string, p: Product, qty: number, t: number): Transaction => {
    const subtotal = p.priceCents * qty;
    const discount = next() < DISCOUNT_CHANCE[user.tier] ? Math.round((subtotal * (5 + Math.floor(next() * 16))) / 100) : 0;
    const tax = Math.round((subtotal - discount) * 0.08);
    return {
      transaction_id: uuid(), order_id: orderId, user_id: user.user_id, timestamp: new Date(t).toISOString(),
      items: [{ product_id: p.product_id, quantity: qty, unit_price: p.price }],
      subtotal: fromCents(subtotal), discount: fromCents(discount), tax: fromCents(tax), total_amount: fromCents(subtotal - discount + tax),
      currency: 'USD', payment_method: pick(PAYMENT), status: next() < 0.97 ? 'completed' : 'failed',
    };
  };

  /** A new visit, as simulateSession plans it: types from the mix in funnel order, login first, logout last. */
  const startVisit = (at: number) => {
    const user = populationUser(opts.seed, Math.floor(next() * opts.population), opts.unknownShare);
    const act = ACTIVITY[user.tier];
    const k = 1 + Math.floor(exp(10 * act - 1));
    let types: EventType[] = Array.from({ length: k }, drawType);
    const hasLogin = types.includes('login');
    const hasLogout = types.includes('logout');
    types = types.map((x) => (x === 'login' || x === 'logout' ? 'page_view' : x));
    types = types.map((x) => ({ x, r: RANK[x]! + next() * 2.5 })).sort((a, b) => a.r - b.r).map((o) => o.x);
    if (hasLogin) types[0] = 'login';
    if (hasLogout) types.push('logout');
    const device = next() < 0.5 ? 'desktop' : next() < 0.84 ? 'mobile' : 'tablet';
    const referrer = next() < 0.4 ? pick(['https://search.example/', 'https://social.example/', 'https://mail.example/']) : undefined;
    push({ t: at, seq: seq++, visit: { user, act, types, i: 0, device, referrer, viewed: [], cart: [] } });
  };

  /** The visit's event due at `t`; the visit goes back on the heap at its next event's time. */
  const step = (v: Visit, t: number): UserEvent => {
    const fromSession = (list: Product[]) => (list.length > 0 && next() < 0.8 ? pick(list) : pickProduct());
    const type = v.types[v.i]!;
    const base = { event_id: uuid(), user_id: v.user.user_id, timestamp: new Date(t).toISOString(), device_type: v.device, ...(v.i === 0 && v.referrer ? { referrer: v.referrer } : {}) } as const;
    let event: UserEvent;
    switch (type) {
      case 'product_view': {
        const p = pickProduct();
        v.viewed.push(p);
        event = { ...base, event_type: type, page_url: `/product/${p.product_id}`, product_id: p.product_id, category: p.category, price: p.price };
        break;
      }
      case 'search': {
        const q = pick(QUERIES);
        event = { ...base, event_type: type, page_url: `/search?q=${encodeURIComponent(q)}`, search_query: q };
        break;
      }
      case 'add_to_cart': {
        const p = fromSession(v.viewed);
        v.cart.push(p);
        event = { ...base, event_type: type, page_url: `/product/${p.product_id}`, product_id: p.product_id, category: p.category, price: p.price, quantity: 1 + Math.floor(next() * 3) };
        break;
      }
      case 'remove_from_cart': event = { ...base, event_type: type, page_url: '/cart', product_id: fromSession(v.cart).product_id, quantity: 1 }; break;
      case 'checkout_start': event = { ...base, event_type: type, page_url: '/checkout' }; break;
      case 'purchase': {
        const p = fromSession(v.cart);
        const qty = 1 + Math.floor(next() * 3);
        const order_id = uuid();
        event = { ...base, event_type: type, page_url: '/checkout/confirm', order_id, product_id: p.product_id, category: p.category, price: p.price, quantity: qty };
        const tx = transaction(v.user, order_id, p, qty, t + 20 + Math.floor(next() * 881));
        push({ t: Date.parse(tx.timestamp), seq: seq++, rec: { kind: 'transaction', id: tx.transaction_id, transaction: tx } });
        break;
      }
      case 'login': event = { ...base, event_type: type, page_url: '/login' }; break;
      case 'logout': event = { ...base, event_type: type, page_url: '/logout' }; break;
      default: event = { ...base, event_type: 'page_view', page_url: pick(PAGES) };
    }
    if (++v.i < v.types.length) push({ t: t + Math.min(SESSION_GAP_MS - 1, 200 + Math.floor(exp(opts.meanEventGapMs / v.act))), seq: seq++, visit: v });
    return event;
  };
  let invalid = 0;

  return {
    /** Exactly `n` records due by `nowMs` (a broken copy counts as one of them). */
    take(n: number, nowMs: number): GeneratedRecord[] {
      const out: GeneratedRecord[] = [];
      while (out.length < n) {
        if (!heap.size || heap.peek()!.t > nowMs) { startVisit(nowMs); continue; }
        const item = pop();
        const rec: GeneratedRecord = item.rec ?? (() => { const e = step(item.visit!, item.t); return { kind: 'event', id: e.event_id, event: e } as const; })();
        out.push(rec);
        if (out.length < n && rec.kind !== 'invalid' && next() < opts.invalidShare) {
          const bad = corrupt(rnd, rec, invalid++);
          if (bad) out.push(bad);
        }
      }
      return out;
    },
    /**
     * Runs the shop for `seconds` before `nowMs` and discards what it made, so the stream starts
     * in its steady mix (visits under way) rather than with every visit at its first event.
     */
    prime(rate: number, nowMs: number, seconds = 30) {
      for (let t = nowMs - seconds * 1000; t < nowMs; t += 100) this.take(Math.round(rate / 10), t);
    },
    get pending() { return heap.size; },
  };
}
export type Stream = ReturnType<typeof createStream>;
