/**
 * CPU of the sessionizer's fold alone (placeEvents and sessionRow, as a run calls them): 170,000
 * open sessions, then rounds of 19,000 users with one new event each (a 2 s run at 10,000/s of
 * realistic visits), rows made through JSON as the inbox's are. Process CPU (GC threads included)
 * over the last 20 of 30 rounds, per event. Without ClickHouse, so it is steadier than
 * bench/sessionizer-micro.ts on a shared machine.
 *
 *   npx tsx bench/sessionizer-fold.ts [DIR]   (a checkout's root; default this one)
 */
import { join, resolve } from 'node:path';
import type { OpenSession } from '../functions/steps/open-sessions.js';
import type { SessionRow, StoredEvent } from '../functions/steps/sessionize.js';
const root = resolve(process.argv[2] ?? '.');
const { placeEvents } = await import(join(root, 'functions/steps/open-sessions.ts')) as typeof import('../functions/steps/open-sessions.js');
const { sessionRow } = await import(join(root, 'functions/steps/sessionize.ts')) as typeof import('../functions/steps/sessionize.js');
const rules = { gapMs: 1800000, maxDurationMs: 86400000 };
const TYPES = ['page_view', 'product_view', 'page_view', 'search', 'product_view', 'add_to_cart', 'page_view', 'checkout_start', 'purchase', 'logout'];
const hex = (i: number) => i.toString(16).padStart(12, '0');
const N = 170000, PER = 19000;
const open = new Map<string, OpenSession[]>();
const t0 = Date.parse('2026-12-01T00:00:00Z');
let seq = 0;
const ev = (u: number, t: number) => JSON.parse(JSON.stringify({ event_id: `5c0ffee0-0000-4000-8000-${hex(seq++)}`, user_id: `5c0ffee0-0000-4000-8000-${hex(u)}`, user_tier: 'Gold', event_type: TYPES[seq % 9]!, timestampMs: t, page_url: '/product/P00012', price: '19.99', quantity: 1, storedMs: t })) as StoredEvent;
for (let u = 0; u < N; u++) { const r = placeEvents([], [ev(u, t0 + u)], 0, rules); if (r.kind === 'folded') open.set(`5c0ffee0-0000-4000-8000-${hex(u)}`, r.open); }
let t = t0 + 200000;
const users = [...open.keys()];
let cpu = 0;
for (let round = 0; round < 30; round++) {
  const batch = Array.from({ length: PER }, (_, i) => users[(round * PER + i) % N]!);
  const evs = batch.map((u) => ev(parseInt(u.slice(24), 16), t += 1));
  const c0 = process.cpuUsage();
  const writes = new Map<string, SessionRow>();
  const next = new Map<string, OpenSession[]>();
  for (let i = 0; i < batch.length; i++) {
    const r = placeEvents(open.get(batch[i]!)!, [evs[i]!], 0, rules);
    if (r.kind !== 'folded') continue;
    next.set(batch[i]!, r.open);
    for (const x of r.changed) writes.set(x.session_id, sessionRow(x, false, 1, rules));
  }
  for (const [u, l] of next) open.set(u, l);
  const c = process.cpuUsage(c0);
  if (round >= 10) cpu += c.user + c.system;
}
console.log(root, 'fold+sessionRow us/event (all threads):', (cpu / (20 * PER)).toFixed(2));
