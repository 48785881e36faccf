import { timestampMs } from '../functions/core/timestamp.js';
import { toCents } from '../functions/core/money.js';
import type { RejectReason } from '../functions/core/result.js';
import { EVENT_TYPES, FUNNEL_STEPS, type EventType, type Transaction, type UserEvent } from '../functions/schemas/events.js';
import { referenceSessions } from './reference-sessions.js';
import type { Generated } from './simulate.js';

/**
 * The exact figure each analytic must show for a generated data set, computed straight from the
 * generated records with plain loops: the oracle the end-to-end tests compare the API with.
 */
export function groundTruth(gen: Generated) {
  const tierOf = new Map(gen.users.map((u) => [u.user_id, u.inPostgres ? u.tier : 'unknown']));
  const events: UserEvent[] = [];
  const txs: Transaction[] = [];
  const deadLetters: Partial<Record<RejectReason, number>> = {};
  for (const r of gen.records) {
    if (r.kind === 'event') events.push(r.event);
    else if (r.kind === 'transaction') txs.push(r.transaction);
    else deadLetters[r.reason] = (deadLetters[r.reason] ?? 0) + 1;
  }
  const tier = (userId: string) => tierOf.get(userId) ?? 'unknown';

  const eventsByType = Object.fromEntries(EVENT_TYPES.map((t) => [t, 0])) as Record<EventType, number>;
  for (const e of events) eventsByType[e.event_type]++;

  const funnelFor = (evs: UserEvent[]) => FUNNEL_STEPS.map((step) => {
    const ofStep = evs.filter((e) => e.event_type === step);
    return { step, events: ofStep.length, users: new Set(ofStep.map((e) => e.user_id)).size };
  });
  const tiersSeen = [...new Set(events.map((e) => tier(e.user_id)))].sort();
  const funnelByTier = Object.fromEntries(tiersSeen.map((t) => [t, funnelFor(events.filter((e) => tier(e.user_id) === t))]));

  const tiers = [...new Set([...tiersSeen, ...txs.map((t) => tier(t.user_id))])].sort().map((t) => {
    const evs = events.filter((e) => tier(e.user_id) === t);
    const done = txs.filter((x) => tier(x.user_id) === t && x.status === 'completed');
    const revenue = done.reduce((s, x) => s + toCents(x.total_amount), 0);
    return {
      tier: t, events: evs.length, users: new Set(evs.map((e) => e.user_id)).size,
      purchases: evs.filter((e) => e.event_type === 'purchase').length,
      orders: done.length, revenue_cents: revenue, avg_order_value_cents: done.length ? revenue / done.length : 0,
    };
  });

  const products = new Map<string, { product_id: string; views: number; add_to_carts: number; purchases: number; units: number; revenue_cents: number }>();
  const prod = (id: string) => products.get(id) ?? products.set(id, { product_id: id, views: 0, add_to_carts: 0, purchases: 0, units: 0, revenue_cents: 0 }).get(id)!;
  for (const e of events) {
    if (e.event_type === 'product_view') prod(e.product_id).views++;
    else if (e.event_type === 'add_to_cart') prod(e.product_id).add_to_carts++;
    else if (e.event_type === 'purchase') {
      const p = prod(e.product_id);
      p.purchases++;
      p.units += e.quantity;
      p.revenue_cents += toCents(e.price) * e.quantity;
    }
  }

  const times = events.map((e) => timestampMs(e.timestamp));
  return {
    totals: { events: events.length, transactions: txs.length, invalid: Object.values(deadLetters).reduce((a, b) => a + b, 0) },
    range: { fromMs: Math.min(...times), toMs: Math.max(...times) },
    eventsByType,
    funnel: funnelFor(events),
    funnelByTier,
    tiers,
    products: [...products.values()].sort((a, b) => b.revenue_cents - a.revenue_cents || a.product_id.localeCompare(b.product_id)),
    sessions: referenceSessions(events),
    deadLetters,
  };
}
export type GroundTruth = ReturnType<typeof groundTruth>;
