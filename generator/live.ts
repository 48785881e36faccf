import { timestampMs } from '../functions/core/timestamp.js';
import { createCatalog } from './catalog.js';
import { createRandom } from './random.js';
import { createMinHeap } from './min-heap.js';
import { ACTIVITY, corrupt, createUsers, simulateSession, type GeneratedRecord, type SimUser } from './simulate.js';

/**
 * A live shop: a population of users visiting in real time, each with sessions, idle gaps over 30
 * minutes and funnel progression, stamped with the wall clock. `due(now)` hands out every record
 * whose time has come. The population is sized so the stream averages `rate` events/s.
 */
const EVENTS_PER_USER_HOUR = 8.5; // measured from generate()'s defaults (mean idle 60 min, 10 events a visit)

export function createLiveShop(opts: { seed: number; rate: number; invalidShare?: number; users?: number; startMs?: number }) {
  const rnd = createRandom(opts.seed);
  const catalog = createCatalog(rnd);
  const population = opts.users ?? Math.max(10, Math.round((opts.rate * 3600) / EVENTS_PER_USER_HOUR));
  const users = createUsers(rnd, population, 0.05);
  const start = opts.startMs ?? Date.now();
  const idleMean = (u: SimUser) => 60 * 60_000 / ACTIVITY[u.tier];
  // Pending records by time: each user has its current visit queued.
  const heap = createMinHeap<{ t: number; rec?: GeneratedRecord; visit?: SimUser; user?: SimUser }>((a, b) => a.t < b.t);
  const { push, pop } = heap;
  let invalidCount = 0;
  const scheduleVisit = (user: SimUser, at: number) => {
    const visit = simulateSession(rnd, catalog, user, at, {}, ACTIVITY[user.tier]);
    visit.forEach((v, i) => {
      const last = i === visit.length - 1;
      push({ t: timestampMs(v.event.timestamp), rec: { kind: 'event', id: v.event.event_id, event: v.event }, ...(last ? { user } : {}) });
      if (v.transaction) push({ t: timestampMs(v.transaction.timestamp), rec: { kind: 'transaction', id: v.transaction.transaction_id, transaction: v.transaction } });
    });
  };
  // Visits are drawn when they start, so memory holds one entry per user, not a day of events.
  // First visits are staggered so the stream starts near its steady rate.
  // Some visits began up to 10 minutes ago (their past events are skipped), so users are already
  // mid-visit at the start and the stream runs near its rate at once rather than ramping up.
  const WARM_MS = 10 * 60_000;
  for (const u of users) push({ t: start - WARM_MS + Math.floor(rnd.next() * (idleMean(u) + WARM_MS)), visit: u });

  return {
    users,
    /** Every record due by `nowMs`, in time order (plus, now and then, a broken one). */
    due(nowMs: number, max = Infinity): GeneratedRecord[] {
      const out: GeneratedRecord[] = [];
      while (heap.size && heap.peek()!.t <= nowMs && out.length < max) {
        const { t, rec, user, visit } = pop();
        if (visit) { scheduleVisit(visit, t); continue; }
        if (!rec) continue;
        if (t >= start) out.push(rec);
        if (t >= start && rec.kind !== 'invalid' && rnd.chance(opts.invalidShare ?? 0.01)) {
          const bad = corrupt(rnd, rec, invalidCount++);
          if (bad) out.push(bad);
        }
        // The user's last event of a visit: schedule the next visit after an idle gap over 30 min.
        if (user && rec.kind === 'event') push({ t: timestampMs(rec.event.timestamp) + 30 * 60_000 + 1_000 + Math.floor(rnd.exp(idleMean(user))), visit: user });
      }
      return out;
    },
  };
}
