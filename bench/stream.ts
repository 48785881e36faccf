import type { EventType } from '../functions/schemas/events.js';
import { createRandom } from '../generator/random.js';
import { ACTIVITY, EVENT_MIX, corrupt, type GeneratedRecord, type KnownTier } from '../generator/simulate.js';
import { populationBytes, tierOfBytes, UNKNOWN_SHARE, uuidOfBytes, VISIT_SHAPE } from './population.js';
import { createEventMaker, type Bag } from './stream-events.js';

export { populationUser } from './population.js';

/**
 * The benchmark's event source: the generator's shop (generator/simulate.ts: visits through the
 * funnel in the seed's event mix, ~20 s between a visit's events and ~10 events a visit, both
 * scaled by the tier's activity, 2 % of gaps just under the 30-minute timeout, 3 % of users coming
 * back just past it, a transaction per purchase, 1 % broken records) at an exact rate, cheaply.
 * `take(n, now)` returns exactly n records stamped at or just before `now`: the due events of
 * visits under way, and when those run short, new visits starting now. So the rate is the
 * caller's and event time is send time.
 *
 * At 10,000 records/s about 500,000 visits are under way at once (the near-timeout gaps hold a
 * visit open for half an hour), so a visit is a slot in typed arrays, not an object, and what is
 * due is found in a ring of 10 ms buckets (an intrusive list per bucket) rather than a binary heap:
 * no per-event allocation but the event itself, O(1) per event. An event is built when it is due.
 *
 * A new visit goes to a user of the population who is free: not in a visit and not inside the
 * timeout after their last one (one Uint32 per user), so every visit is a session of its own, as
 * in the generator, whose idle gaps all pass the timeout. defaultPopulation(rate) is sized for it.
 */
export type StreamOptions = { seed: number; population: number; invalidShare: number; unknownShare: number; meanEventGapMs?: number };

export const STREAM_DEFAULTS = { invalidShare: 0.01, unknownShare: UNKNOWN_SHARE } as const;
/** Simulated time prime() runs by default: past the timeout and the long visits, so the stream starts in its steady mix. */
export const PRIME_S = 2_400;

const TIMEOUT = VISIT_SHAPE.sessionTimeoutMs;
const BUCKET_MS = 10;
/** Buckets in the ring: the longest wait ahead (a return, the timeout plus 5 s), and spare. */
const RING = Math.ceil((TIMEOUT + 10_000) / BUCKET_MS);
const TYPES = Object.keys(EVENT_MIX) as EventType[];
const RANK: Partial<Record<EventType, number>> = { page_view: 0, search: 0.5, product_view: 1, add_to_cart: 2, remove_from_cart: 2.5, checkout_start: 3, purchase: 4 };
const RANK_OF = TYPES.map((t) => RANK[t] ?? 0);
const TIER_CODES: KnownTier[] = ['Bronze', 'Silver', 'Gold', 'Platinum'];
const DEVICES = ['desktop', 'mobile', 'tablet'] as const;
const REFERRERS = [undefined, 'https://search.example/', 'https://social.example/', 'https://mail.example/'] as const;
const BUSY = 0xffffffff;
const MAX_DRAWS = 64;

export function createStream(opts: StreamOptions) {
  const rnd = createRandom(opts.seed);
  const next = rnd.next;
  const exp = (mean: number) => -Math.log(1 - next()) * mean;
  const meanGap = opts.meanEventGapMs ?? VISIT_SHAPE.meanEventGapMs;
  const mixCum = TYPES.reduce<number[]>((acc, t) => [...acc, (acc[acc.length - 1] ?? 0) + EVENT_MIX[t]], []);
  const mixTotal = mixCum[mixCum.length - 1]!;
  const drawType = (): number => {
    const x = next() * mixTotal;
    let i = 0;
    while (mixCum[i]! <= x) i++;
    return i;
  };
  const maker = createEventMaker(opts.seed, next);

  // Visit slots (struct of arrays): the user, the next event's time and place, tier/device/referrer, a return pending.
  let cap = 0;
  let user = new Int32Array(0), at = new Float64Array(0), link = new Int32Array(0), pos = new Int32Array(0), len = new Int32Array(0), meta = new Uint8Array(0);
  let ids = new Uint8Array(0);
  const types: string[] = [], bags: (Bag | undefined)[] = [];
  const freeSlots: number[] = [];
  const grow = () => {
    const n = Math.max(1024, cap * 2);
    const re = <A extends Int32Array | Float64Array | Uint8Array>(a: A, make: (n: number) => A) => { const b = make(n); b.set(a); return b; };
    user = re(user, (k) => new Int32Array(k)); at = re(at, (k) => new Float64Array(k)); link = re(link, (k) => new Int32Array(k));
    pos = re(pos, (k) => new Int32Array(k)); len = re(len, (k) => new Int32Array(k)); meta = re(meta, (k) => new Uint8Array(k));
    const more = new Uint8Array(n * 16); more.set(ids); ids = more;
    for (let s = n - 1; s >= cap; s--) freeSlots.push(s);
    cap = n;
  };
  const RETURNING = 0x80;

  // The ring: heads[bucket % RING] starts a list of slots due in that 10 ms bucket; transactions wait in a map by bucket.
  const heads = new Int32Array(RING).fill(-1);
  const txs = new Map<number, GeneratedRecord[]>();
  let cursor = -1, scheduled = 0, txPending = 0;
  const schedule = (slot: number, t: number) => {
    at[slot] = t;
    const r = Math.floor(t / BUCKET_MS) % RING;
    link[slot] = heads[r]!;
    heads[r] = slot;
    scheduled++;
  };

  // When each user is free for a new session: seconds since `epochS` (0 = never seen), BUSY while a visit or a return is pending.
  const freeAt = new Uint32Array(opts.population);
  let epochS = -1;
  const secs = (ms: number) => Math.max(1, Math.ceil(ms / 1000) - epochS);
  let visits = 0, collisions = 0, invalid = 0;
  const freeUser = (now: number): number => {
    const s = secs(now);
    for (let d = 0; d < MAX_DRAWS; d++) {
      const idx = Math.floor(next() * opts.population);
      if (freeAt[idx]! <= s) return idx;
    }
    collisions++;
    return Math.floor(next() * opts.population);
  };

  // Scratch for ordering a visit's types: sort key and type code packed in one float, sorted as numbers (no objects).
  let keys = new Float64Array(64);
  const codes: number[] = [];
  const LOGIN = TYPES.indexOf('login'), LOGOUT = TYPES.indexOf('logout'), PAGE_VIEW = TYPES.indexOf('page_view');

  /** A visit of user `idx` in `slot`, as simulateSession plans it: types from the mix in funnel order, login first, logout last. */
  const startVisit = (slot: number, idx: number) => {
    const h = populationBytes(opts.seed, idx);
    ids.set(h, slot * 16);
    freeAt[idx] = BUSY;
    const tierName = tierOfBytes(h);
    const tier = TIER_CODES.indexOf(tierName);
    const k = 1 + Math.floor(exp(VISIT_SHAPE.meanVisitEvents * ACTIVITY[tierName] - 1));
    if (k > keys.length) keys = new Float64Array(2 * k);
    let hasLogin = false, hasLogout = false;
    for (let j = 0; j < k; j++) {
      let c = drawType();
      if (c === LOGIN) { hasLogin = true; c = PAGE_VIEW; } else if (c === LOGOUT) { hasLogout = true; c = PAGE_VIEW; }
      keys[j] = Math.floor((RANK_OF[c]! + next() * 2.5) * 1e6) * 16 + c;
    }
    const sorted = keys.subarray(0, k).sort();
    // One flat string of type codes ('a' + index): a few bytes a visit, where += would leave a rope.
    codes.length = 0;
    for (let j = 0; j < k; j++) codes.push(97 + (j === 0 && hasLogin ? LOGIN : sorted[j]! % 16));
    if (hasLogout) codes.push(97 + LOGOUT);
    const s = String.fromCharCode.apply(null, codes);
    const device = next() < 0.5 ? 0 : next() < 0.84 ? 1 : 2;
    const referrer = next() < 0.4 ? 1 + Math.floor(next() * 3) : 0;
    user[slot] = idx; pos[slot] = 0; len[slot] = s.length;
    meta[slot] = tier | (device << 2) | (referrer << 4);
    types[slot] = s; bags[slot] = {};
    visits++;
  };

  /** After the slot's event at `t`: its next event, or its end (the user free after the timeout, or back just past it). */
  const advance = (slot: number, t: number) => {
    if (++pos[slot]! < len[slot]!) {
      const gap = next() < VISIT_SHAPE.nearTimeoutShare ? TIMEOUT - 1 - Math.floor(next() * 5_000)
        : Math.min(TIMEOUT - 1, VISIT_SHAPE.minGapMs + Math.floor(exp(meanGap / ACTIVITY[TIER_CODES[meta[slot]! & 3]!])));
      schedule(slot, t + gap);
    } else if (next() < VISIT_SHAPE.returnShare) {
      meta[slot] = meta[slot]! | RETURNING;
      schedule(slot, t + TIMEOUT + 1 + Math.floor(next() * 5_000));
    } else {
      freeAt[user[slot]!] = secs(t + TIMEOUT) + 1;
      types[slot] = ''; bags[slot] = undefined;
      freeSlots.push(slot);
    }
  };

  /** The slot's event at `t` (built only with `out`), then the visit moves on; answers the records made. */
  const emit = (slot: number, t: number, out: GeneratedRecord[] | undefined, room: number): number => {
    let made = 1;
    if (out) {
      const m = meta[slot]!;
      const { event, tx } = maker.event({
        user: { user_id: uuidOfBytes(ids, slot * 16), tier: TIER_CODES[m & 3]! }, type: TYPES[types[slot]!.charCodeAt(pos[slot]!) - 97]!, first: pos[slot] === 0,
        device: DEVICES[(m >> 2) & 3]!, referrer: REFERRERS[(m >> 4) & 3], bag: bags[slot]!,
      }, t);
      if (tx) {
        const b = Math.floor(Date.parse(tx.timestamp) / BUCKET_MS);
        (txs.get(b) ?? txs.set(b, []).get(b)!).push({ kind: 'transaction', id: tx.transaction_id, transaction: tx });
        txPending++;
      }
      const rec: GeneratedRecord = { kind: 'event', id: event.event_id, event };
      out.push(rec);
      if (room > 1 && next() < opts.invalidShare) {
        const bad = corrupt(rnd, rec, invalid++);
        if (bad) { out.push(bad); made++; }
      }
    }
    advance(slot, t);
    return made;
  };

  /** n records due by `nowMs` into `out`; without `out`, visits advance and nothing is built (prime). */
  const run = (n: number, nowMs: number, out?: GeneratedRecord[]) => {
    if (cursor < 0) { cursor = Math.floor(nowMs / BUCKET_MS); epochS = Math.floor(nowMs / 1000) - 1; }
    // Buckets before the current one are due; the current one waits for the next call.
    const until = Math.max(cursor, Math.floor(nowMs / BUCKET_MS));
    let made = 0;
    while (made < n) {
      if (cursor < until) {
        const list = out ? txs.get(cursor) : undefined;
        if (list) {
          out!.push(list.pop()!); made++; txPending--;
          if (!list.length) txs.delete(cursor);
          continue;
        }
        const r = cursor % RING;
        const slot = heads[r]!;
        if (slot < 0) { txs.delete(cursor); cursor++; continue; }
        heads[r] = link[slot]!;
        scheduled--;
        if (meta[slot]! & RETURNING) startVisit(slot, user[slot]!);
        made += emit(slot, at[slot]!, out, n - made);
      } else {
        if (!freeSlots.length) grow();
        const slot = freeSlots.pop()!;
        startVisit(slot, freeUser(nowMs));
        made += emit(slot, nowMs, out, n - made);
      }
    }
  };

  return {
    /** Exactly `n` records due by `nowMs` (a broken copy counts as one of them). */
    take(n: number, nowMs: number): GeneratedRecord[] {
      const out: GeneratedRecord[] = [];
      run(n, nowMs, out);
      return out;
    },
    /**
     * Runs the shop for `seconds` before `nowMs` at `rate` without building events, so the stream
     * starts in its steady mix (visits under way, users inside their timeout) rather than with
     * every visit at its first event.
     */
    prime(rate: number, nowMs: number, seconds = PRIME_S) {
      for (let t = nowMs - seconds * 1000; t < nowMs; t += 100) run(Math.round(rate / 10), t);
    },
    /** Visits under way and users due back, plus transactions not yet due. */
    get pending() { return scheduled + txPending; },
    /** Visits started; and those that found no free user in MAX_DRAWS draws (the population is too small for the rate). */
    get stats() { return { visits, collisions }; },
  };
}
export type Stream = ReturnType<typeof createStream>;
