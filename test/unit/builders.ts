// Valid example records for the unit tables: one per event type and one transaction, plus a
// helper that builds a user's event at a given instant (ids derived from a counter, so tests stay
// deterministic and their tie-breaking by event id is under the test's control).
import type { EventType, Transaction, UserEvent } from '../../functions/schemas/events.js';

export const USER = '3f2b8c1e-5d4a-4e6f-9a7b-1c2d3e4f5a6b';
export const OTHER_USER = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';
export const EVENT_ID = '0b1c2d3e-4f50-4617-8829-3a4b5c6d7e8f';
export const ORDER_ID = '7e6d5c4b-3a29-4817-8615-0f1e2d3c4b5a';
export const TRANSACTION_ID = 'c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f';
export const TS = '2024-05-01T10:00:00.123Z';
/** A receiving clock comfortably after TS, so no example is "from the future". */
export const NOW_MS = Date.parse('2024-05-01T12:00:00.000Z');
export const SKEW_MS = 5 * 60_000;

const base = { event_id: EVENT_ID, user_id: USER, timestamp: TS };

export const VALID_EVENTS: Record<EventType, Record<string, unknown>> = {
  page_view: { ...base, event_type: 'page_view', page_url: '/deals', device_type: 'mobile', referrer: 'https://search.example/' },
  product_view: { ...base, event_type: 'product_view', page_url: '/product/P00001', product_id: 'P00001', category: 'books', price: '12.30' },
  search: { ...base, event_type: 'search', page_url: '/search?q=lamp', search_query: 'lamp' },
  add_to_cart: { ...base, event_type: 'add_to_cart', product_id: 'P00002', category: 'home', price: '49.99', quantity: 2 },
  purchase: { ...base, event_type: 'purchase', order_id: ORDER_ID, product_id: 'P00002', category: 'home', price: '49.99', quantity: 2 },
  remove_from_cart: { ...base, event_type: 'remove_from_cart', product_id: 'P00002', quantity: 1 },
  checkout_start: { ...base, event_type: 'checkout_start', page_url: '/checkout' },
  login: { ...base, event_type: 'login' },
  logout: { ...base, event_type: 'logout', device_type: 'desktop' },
};

export const VALID_TRANSACTION: Transaction = {
  transaction_id: TRANSACTION_ID,
  order_id: ORDER_ID,
  user_id: USER,
  timestamp: TS,
  items: [
    { product_id: 'P00002', quantity: 2, unit_price: '49.99' },
    { product_id: 'P00007', quantity: 1, unit_price: '0.5' },
  ],
  subtotal: '100.48', // 2 × 49.99 + 0.50
  discount: '10.00',
  tax: '7.24',
  total_amount: '97.72', // 100.48 - 10.00 + 7.24
  currency: 'USD',
  payment_method: 'paypal',
  status: 'completed',
};

/** A copy of `o` without the named field. */
export function without<T extends Record<string, unknown>>(o: T, field: string): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...o };
  delete copy[field];
  return copy;
}

/** A UUIDv4-shaped id whose last 12 hex digits are `n`, so ids sort by `n`. */
export function idOf(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

export type EventInit = { type?: EventType; user?: string; id?: number; page?: string; price?: string; quantity?: number };

/** A user event at `ms` (ids from `id`, so the caller controls ties). */
export function eventAt(ms: number, init: EventInit = {}): UserEvent {
  const type = init.type ?? 'page_view';
  const common = {
    event_id: idOf(init.id ?? ms),
    user_id: init.user ?? USER,
    timestamp: new Date(ms).toISOString(),
    page_url: init.page ?? `/p/${type}`,
  };
  switch (type) {
    case 'purchase':
      return { ...common, event_type: type, order_id: ORDER_ID, product_id: 'P00001', price: init.price ?? '10.00', quantity: init.quantity ?? 1 };
    case 'add_to_cart':
      return { ...common, event_type: type, product_id: 'P00001', price: init.price ?? '10.00', quantity: init.quantity ?? 1 };
    case 'product_view':
      return { ...common, event_type: type, product_id: 'P00001', category: 'books' };
    case 'remove_from_cart':
      return { ...common, event_type: type, product_id: 'P00001', quantity: 1 };
    case 'search':
      return { ...common, event_type: type, search_query: 'lamp' };
    case 'page_view':
      return { ...common, event_type: type, page_url: common.page_url };
    default:
      return { ...common, event_type: type };
  }
}
