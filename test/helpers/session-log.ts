import { fromCents } from '../../functions/core/money.js';
import type { EventType, UserEvent } from '../../functions/schemas/events.js';
import { encode, post, toCloudEvent } from '../../generator/cloudevents.js';
import type { Random } from '../../generator/random.js';

/** Random session logs and their delivery through ingest replicas (sessions-routing, sessions-rules). */
export const MIN = 60_000;
export const GAP = 30 * MIN;
export const LATENESS = 10 * MIN;

export type Delivery = { event: UserEvent; key: number };

/** Random users with gaps around the 30-minute boundary (± 1 s), logouts, purchases. */
export function randomLog(rnd: Random, users: number, baseMs: number): UserEvent[] {
  const out: UserEvent[] = [];
  for (let u = 0; u < users; u++) {
    const user = rnd.uuid();
    let t = baseMs + rnd.int(0, 3 * 3600_000);
    const n = rnd.int(4, 18);
    for (let i = 0; i < n; i++) {
      const k = rnd.next();
      t += k < 0.5 ? rnd.int(1_000, 5 * MIN) : k < 0.75 ? GAP + rnd.int(-1_000, 1_000) : k < 0.8 ? GAP : k < 0.85 ? GAP + 1 : rnd.int(GAP, 3 * 3600_000);
      const type: EventType = rnd.weighted({ page_view: 40, product_view: 20, search: 10, add_to_cart: 8, purchase: 8, remove_from_cart: 4, checkout_start: 4, login: 3, logout: 3 } as const);
      const base = { event_id: rnd.uuid(), user_id: user, timestamp: new Date(t).toISOString(), page_url: `/p/${rnd.int(1, 40)}` };
      const product = `P${String(rnd.int(1, 50)).padStart(5, '0')}`;
      const price = fromCents(rnd.int(100, 20_000));
      const e: UserEvent =
        type === 'product_view' ? { ...base, event_type: type, product_id: product, category: 'books' }
        : type === 'search' ? { ...base, event_type: type, search_query: 'lamp' }
        : type === 'add_to_cart' ? { ...base, event_type: type, product_id: product, price, quantity: rnd.int(1, 3) }
        : type === 'purchase' ? { ...base, event_type: type, order_id: rnd.uuid(), product_id: product, price, quantity: rnd.int(1, 3) }
        : type === 'remove_from_cart' ? { ...base, event_type: type, product_id: product, quantity: 1 }
        : { ...base, event_type: type };
      out.push(e);
    }
  }
  return out;
}

/** Arrival order: shuffled within the lateness, 1 % far beyond it, 5 % delivered a second time. */
export function arrivals(rnd: Random, events: UserEvent[]): Delivery[] {
  const out: Delivery[] = [];
  for (const e of events) {
    const t = Date.parse(e.timestamp);
    const beyond = rnd.chance(0.01);
    out.push({ event: e, key: t + (beyond ? LATENESS * rnd.int(3, 6) : rnd.int(0, LATENESS - 60_000)) });
    if (rnd.chance(0.05)) out.push({ event: e, key: t + rnd.int(0, 2 * LATENESS) });
  }
  return out.sort((a, b) => a.key - b.key);
}

export type Replica = { url: string; kill?: () => void };

/** Sends batches of deliveries to random live replicas, retrying on another one when a request fails. */
export async function deliver(rnd: Random, list: Delivery[], replicas: () => Replica[], onProgress?: (sent: number) => Promise<void>) {
  const size = 10;
  let next = 0, sent = 0;
  const worker = async () => {
    while (next < list.length) {
      const chunk = list.slice(next, next + size);
      next += size;
      const msg = encode('batch', chunk.map((d) => toCloudEvent({ kind: 'event', id: d.event.event_id, event: d.event })));
      for (let attempt = 0; ; attempt++) {
        const live = replicas();
        const target = live[rnd.int(0, live.length - 1)]!;
        const answer = await post(target.url, msg).catch(() => ({ status: 0, body: undefined }));
        if (answer.status === 200) break;
        if (attempt > 50) throw new Error(`delivery failed: ${answer.status}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      sent += chunk.length;
      await onProgress?.(sent);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

