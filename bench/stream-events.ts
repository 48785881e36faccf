import { fromCents } from '../functions/core/money.js';
import type { EventType, Transaction, UserEvent } from '../functions/schemas/events.js';
import { createCatalog } from '../generator/catalog.js';
import { createRandom } from '../generator/random.js';
import type { SimUser } from '../generator/simulate.js';

/**
 * The events of the bench's visits, built as generator/simulate.ts's simulateSession builds them
 * (same fields, pages, product picks, a transaction per purchase), with hand-rolled ids and picks:
 * the load generator shares the 2 cores with the system under test.
 */
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const PAGES = ['/', '/deals', '/new', '/help', '/account', '/cart', '/blog'] as const;
const QUERIES = ['laptop', 'running shoes', 'coffee', 'headphones', 'lego', 'novel', 'lamp', 'yoga mat', 'phone case', 'gift'] as const;
const MILLIS = Array.from({ length: 1000 }, (_, i) => `${String(i).padStart(3, '0')}Z`);
const PAYMENT = ['credit_card', 'debit_card', 'paypal', 'apple_pay', 'bank_transfer'] as const;
const DISCOUNT_CHANCE = { Bronze: 0.1, Silver: 0.15, Gold: 0.35, Platinum: 0.3 } as const;

/** What an event needs of its visit: the user, the event's type and place, and the products seen and carted so far (kept by the caller, made on first use). */
export type EventVisit = { user: Pick<SimUser, 'user_id' | 'tier'>; type: EventType; first: boolean; device: 'desktop' | 'mobile' | 'tablet'; referrer: string | undefined; bag: Bag };
export type Bag = { viewed?: Product[]; cart?: Product[] };
type Product = { product_id: string; category: string; priceCents: number; price: string };

export function createEventMaker(seed: number, next: () => number) {
  const u32 = () => (next() * 4294967296) >>> 0;
  const uuid = () => {
    const a = u32(), b = (u32() & 0xffff0fff) | 0x4000, c = ((u32() & 0x3fffffff) | 0x80000000) >>> 0, d = u32();
    return `${HEX[a >>> 24]}${HEX[(a >>> 16) & 255]}${HEX[(a >>> 8) & 255]}${HEX[a & 255]}-${HEX[b >>> 24]}${HEX[(b >>> 16) & 255]}-${HEX[(b >>> 8) & 255]}${HEX[b & 255]}-` +
      `${HEX[c >>> 24]}${HEX[(c >>> 16) & 255]}-${HEX[(c >>> 8) & 255]}${HEX[c & 255]}${HEX[d >>> 24]}${HEX[(d >>> 16) & 255]}${HEX[(d >>> 8) & 255]}${HEX[d & 255]}`;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  // toISOString is the dearest part of an event: the date and time to the second are reused while the second lasts.
  let isoSecond = NaN, isoPrefix = '';
  const iso = (t: number) => {
    const sec = Math.floor(t / 1000);
    if (sec !== isoSecond) { isoSecond = sec; isoPrefix = new Date(sec * 1000).toISOString().slice(0, 20); }
    return isoPrefix + MILLIS[t - sec * 1000];
  };
  const products: Product[] = createCatalog(createRandom(seed)).products.map((p) => ({ ...p, price: fromCents(p.priceCents) }));
  const cum = products.map((_, i) => 1 / (i + 1) ** 0.8).reduce<number[]>((acc, w) => [...acc, (acc[acc.length - 1] ?? 0) + w], []);
  const pickProduct = (): Product => {
    const x = next() * cum[cum.length - 1]!;
    let lo = 0, hi = cum.length - 1;
    while (lo < hi) { const m = (lo + hi) >> 1; if (cum[m]! <= x) lo = m + 1; else hi = m; }
    return products[lo]!;
  };
  const fromList = (list: Product[] | undefined) => (list && list.length > 0 && next() < 0.8 ? pick(list) : pickProduct());

  const transaction = (user: EventVisit['user'], orderId: string, p: Product, qty: number, t: number): Transaction => {
    const subtotal = p.priceCents * qty;
    const discount = next() < DISCOUNT_CHANCE[user.tier] ? Math.round((subtotal * (5 + Math.floor(next() * 16))) / 100) : 0;
    const tax = Math.round((subtotal - discount) * 0.08);
    return {
      transaction_id: uuid(), order_id: orderId, user_id: user.user_id, timestamp: iso(t),
      items: [{ product_id: p.product_id, quantity: qty, unit_price: p.price }],
      subtotal: fromCents(subtotal), discount: fromCents(discount), tax: fromCents(tax), total_amount: fromCents(subtotal - discount + tax),
      currency: 'USD', payment_method: pick(PAYMENT), status: next() < 0.97 ? 'completed' : 'failed',
    };
  };

  /**
   * The visit's event at time `t`, and the transaction a purchase makes. Literal objects, no
   * spreads (V8's spread copies cost more than the rest of the event); an absent referrer is
   * undefined, which JSON leaves out as the generator's omitted field.
   */
  const event = (v: EventVisit, t: number): { event: UserEvent; tx?: Transaction } => {
    const event_id = uuid(), user_id = v.user.user_id, timestamp = iso(t), device_type = v.device;
    const referrer = v.first ? v.referrer : undefined;
    switch (v.type) {
      case 'product_view': {
        const p = pickProduct();
        (v.bag.viewed ??= []).push(p);
        return { event: { event_id, user_id, timestamp, device_type, referrer, event_type: 'product_view', page_url: `/product/${p.product_id}`, product_id: p.product_id, category: p.category, price: p.price } };
      }
      case 'search': {
        const q = pick(QUERIES);
        return { event: { event_id, user_id, timestamp, device_type, referrer, event_type: 'search', page_url: `/search?q=${encodeURIComponent(q)}`, search_query: q } };
      }
      case 'add_to_cart': {
        const p = fromList(v.bag.viewed);
        (v.bag.cart ??= []).push(p);
        return { event: { event_id, user_id, timestamp, device_type, referrer, event_type: 'add_to_cart', page_url: `/product/${p.product_id}`, product_id: p.product_id, category: p.category, price: p.price, quantity: 1 + Math.floor(next() * 3) } };
      }
      case 'remove_from_cart': return { event: { event_id, user_id, timestamp, device_type, referrer, event_type: 'remove_from_cart', page_url: '/cart', product_id: fromList(v.bag.cart).product_id, quantity: 1 } };
      case 'checkout_start': return { event: { event_id, user_id, timestamp, device_type, referrer, event_type: 'checkout_start', page_url: '/checkout' } };
      case 'purchase': {
        const p = fromList(v.bag.cart);
        const qty = 1 + Math.floor(next() * 3);
        const order_id = uuid();
        const tx = transaction(v.user, order_id, p, qty, t + 20 + Math.floor(next() * 881));
        return { event: { event_id, user_id, timestamp, device_type, referrer, event_type: 'purchase', page_url: '/checkout/confirm', order_id, product_id: p.product_id, category: p.category, price: p.price, quantity: qty }, tx };
      }
      case 'login': return { event: { event_id, user_id, timestamp, device_type, referrer, event_type: 'login', page_url: '/login' } };
      case 'logout': return { event: { event_id, user_id, timestamp, device_type, referrer, event_type: 'logout', page_url: '/logout' } };
      default: return { event: { event_id, user_id, timestamp, device_type, referrer, event_type: 'page_view', page_url: pick(PAGES) } };
    }
  };
  return { event, pick };
}
