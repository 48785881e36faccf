/**
 * CPU of the sessionizer's open-state codec alone: every user a run touches is decoded
 * (decodeOpen) and, once written, encoded again (encodeOpen). 200,000 users with a visit of ten
 * events each (made by placeEvents, as a run makes them), decoded and encoded in rounds; µs per user
 * (process CPU, GC threads included), the last 8 of 10 rounds.
 *
 *   npx tsx bench/open-codec.ts [DIR]   (a checkout's root; default this one)
 */
import { join, resolve } from 'node:path';
import type { StoredEvent } from '../functions/steps/sessionize.js';
const root = resolve(process.argv[2] ?? '.');
const { placeEvents, encodeOpen, decodeOpen } = await import(join(root, 'functions/steps/open-sessions.ts')) as typeof import('../functions/steps/open-sessions.js');
const rules = { gapMs: 1_800_000, maxDurationMs: 86_400_000 };
const TYPES = ['page_view', 'product_view', 'page_view', 'search', 'product_view', 'add_to_cart', 'page_view', 'checkout_start', 'purchase', 'logout'];
const hex = (i: number, w = 12) => i.toString(16).padStart(w, '0');
const N = 200_000;
const t0 = Date.parse('2026-12-01T00:00:00Z');
const user = (u: number) => `5c0ffee0-0000-4000-8000-${hex(u)}`;
const encoded: string[] = [];
for (let u = 0; u < N; u++) {
  const events: StoredEvent[] = Array.from({ length: 9 }, (_, k) => ({
    event_id: `${hex((u * 16 + k) * 2_654_435_761 % 2 ** 32, 8)}-1d2c-4b3a-8f9e-${hex((u * 7919 + k * 104_729) % 2 ** 48)}`, user_id: user(u), user_tier: 'Gold',
    event_type: TYPES[k]! as StoredEvent['event_type'], timestampMs: t0 + u + k * 20_000, page_url: `https://shop.example.com/products/P${String(u % 5000).padStart(5, '0')}`,
    price: '19.99', quantity: 1, storedMs: t0 + u + k * 20_000 + 5,
  }));
  const r = placeEvents([], events, 0, rules);
  if (r.kind !== 'folded') throw new Error('not folded');
  encoded.push(encodeOpen(r.open));
}
let cpu = 0;
for (let round = 0; round < 10; round++) {
  const c0 = process.cpuUsage();
  for (let u = 0; u < N; u++) encoded[u] = encodeOpen(decodeOpen(user(u), encoded[u]!));
  const c = process.cpuUsage(c0);
  if (round >= 2) cpu += c.user + c.system;
}
console.log(JSON.stringify({ root, users: N, chars_per_user: Math.round(encoded.reduce((s, e) => s + e.length, 0) / N), decode_encode_us_per_user: Math.round((cpu / (8 * N)) * 100) / 100 }));
