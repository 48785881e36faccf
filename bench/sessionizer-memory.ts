/**
 * What the sessionizer's open sessions cost in memory, and what one pass over them costs: N users
 * with a session of ~10 events each (the bench stream's visit shape), as objects (a run's working
 * form) and as the sessionizer holds them between runs (encoded, with their due-index entry).
 * `npx tsx --expose-gc bench/sessionizer-memory.ts [N]` (node's heap, after a full GC).
 */
import { encodeOpen, placeEvents, type OpenSession } from '../functions/steps/open-sessions.js';
import { isClosed } from '../functions/steps/sessionize.js';
import { createDueIndex } from '../functions/sessionizer/due-index.js';
import type { EventType } from '../functions/schemas/events.js';
import { populationUser } from './stream.js';

const n = Number(process.argv[2] ?? 500_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const rules = { gapMs: 30 * 60_000, maxDurationMs: 24 * 3600_000 };
const TYPES: EventType[] = ['page_view', 'product_view', 'page_view', 'search', 'product_view', 'add_to_cart', 'page_view', 'checkout_start', 'purchase', 'logout'];
const hex = (i: number) => i.toString(16).padStart(12, '0');

gc();
const before = process.memoryUsage().heapUsed;
const open = new Map<string, OpenSession[]>();
const t0 = Date.parse('2026-12-01T00:00:00Z');
for (let u = 0; u < n; u++) {
  const user = JSON.parse(JSON.stringify(populationUser(1, u).user_id)) as string;
  const rows = TYPES.slice(0, 9).map((type, i) => ({
    event_id: `5c0ffee0-0000-4000-8000-${hex(u * 16 + i)}`, user_id: user, user_tier: 'Gold', event_type: type,
    timestampMs: t0 + u + i * 20_000, page_url: `/product/P${String(u % 5000).padStart(5, '0')}`, price: '19.99', quantity: 1, storedMs: t0 + u + i * 20_000,
  }));
  // Through JSON, as the inbox's rows arrive: flat strings, not the slices built above.
  const r = placeEvents([], JSON.parse(JSON.stringify(rows)) as typeof rows, 0, rules);
  if (r.kind === 'folded') open.set(user, r.open);
}
gc();
const bytes = (process.memoryUsage().heapUsed - before) / n;
const p0 = performance.now();
let closing = 0;
for (const list of open.values()) if (list.some((s) => isClosed(s, t0 + 10 * 60_000, rules.gapMs, rules.maxDurationMs))) closing++;
const passMs = performance.now() - p0;
let snapshotBytes = 0;
for (const list of open.values()) snapshotBytes += encodeOpen(list).length;
// Held between runs: one string per user in a map, and the user's due-index entry.
gc();
const beforeEncoded = process.memoryUsage().heapUsed;
const encoded = new Map<string, string>();
const due = createDueIndex(rules);
for (const [user, list] of open) {
  encoded.set(user, encodeOpen(list));
  due.file(user, list);
}
open.clear();
gc();
const encodedBytes = (process.memoryUsage().heapUsed - beforeEncoded + (bytes * n)) / n;
console.log(JSON.stringify({ open_sessions: n, users: encoded.size, due_filed: due.size, heap_bytes_per_user_encoded_with_due_entry: Math.round(encodedBytes), heap_bytes_per_open_session: Math.round(bytes), close_pass_ms: Math.round(passMs), close_pass_ns_per_session: Math.round((passMs * 1e6) / n), snapshot_bytes_per_session: Math.round(snapshotBytes / n), closing }));
