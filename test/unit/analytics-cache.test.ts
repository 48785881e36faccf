// The analytics answer cache (functions/analytics/cache.ts) and the question keys it is indexed by
// (functions/analytics/queries.ts): equal questions share one key, different minutes do not, and
// only the per-minute queries are rounded. Time is a fake clock: nothing here waits or measures.
import { describe, expect, test } from 'vitest';
import { createQueryCache, MAX_ANSWER_AGE_MS, REFRESH_SLACK_MS, type CacheResult } from '../../functions/analytics/cache.js';
import { MINUTE_QUERIES, QUERIES, normaliseParams, question, type QueryName } from '../../functions/analytics/queries.js';

const range = (from: string, to: string) => ({ from, to });
const key = (name: QueryName, params: Record<string, string | number>) => question(name, params).key;

describe('question keys', () => {
  test('the per-minute queries are exactly those over the per-minute views', () => {
    expect([...MINUTE_QUERIES].sort()).toEqual(['eventTypes', 'eventTypesByTier', 'products', 'tiers']);
    for (const name of MINUTE_QUERIES) expect(QUERIES[name]).toMatch(/\{db\}\.(conversion_funnel|user_tier_performance|product_performance)\b/);
  });

  test('from is rounded down and to up to the minute, for per-minute queries only', () => {
    expect(normaliseParams('eventTypes', { ...range('2026-03-02 08:00:41.123', '2026-03-02 09:00:00.001'), tier: 'Gold' }))
      .toEqual({ from: '2026-03-02 08:00:00.000', to: '2026-03-02 09:01:00.000', tier: 'Gold' });
    // Already whole minutes: unchanged.
    expect(normaliseParams('tiers', range('2026-03-02 08:00:00.000', '2026-03-02 09:00:00.000')))
      .toEqual(range('2026-03-02 08:00:00.000', '2026-03-02 09:00:00.000'));
    // Raw-time queries answer to the millisecond: never rounded.
    for (const name of ['freshness', 'funnel', 'funnelByTier', 'sessionsSummary', 'recentSessions', 'deadLetterCounts', 'deadLetterSamples', 'journeySessions'] as const) {
      expect(normaliseParams(name, range('2026-03-02 08:00:41.123', '2026-03-02 09:00:00.001'))).toEqual(range('2026-03-02 08:00:41.123', '2026-03-02 09:00:00.001'));
    }
  });

  test('equal questions give equal keys: the same minutes, in any parameter order', () => {
    for (const name of MINUTE_QUERIES) {
      const a = key(name, { ...range('2026-03-02 08:00:00.000', '2026-03-02 08:59:00.001'), tier: '', sort: 'revenue', limit: 10 });
      const b = key(name, { limit: 10, sort: 'revenue', tier: '', ...range('2026-03-02 08:00:59.999', '2026-03-02 09:00:00.000') });
      const c = key(name, { ...range('2026-03-02 08:00:17.345', '2026-03-02 08:59:31.999'), tier: '', sort: 'revenue', limit: 10 });
      expect(a, name).toBe(b);
      expect(a, name).toBe(c);
    }
  });

  test('different minutes give different keys', () => {
    for (const name of MINUTE_QUERIES) {
      const base = key(name, range('2026-03-02 08:00:59.999', '2026-03-02 09:00:00.000'));
      expect(key(name, range('2026-03-02 08:01:00.000', '2026-03-02 09:00:00.000')), name).not.toBe(base);
      // to = 09:00:00.000 leaves the minute 09:00 out; one millisecond later takes it in.
      expect(key(name, range('2026-03-02 08:00:59.999', '2026-03-02 09:00:00.001')), name).not.toBe(base);
    }
  });

  test('raw-time queries keep every millisecond in the key', () => {
    expect(key('freshness', range('2026-03-02 08:00:00.000', '2026-03-02 09:00:00.000')))
      .not.toBe(key('freshness', range('2026-03-02 08:00:00.001', '2026-03-02 09:00:00.000')));
    expect(key('freshness', range('2026-03-02 08:00:00.000', '2026-03-02 09:00:00.000')))
      .toBe(key('freshness', { to: '2026-03-02 09:00:00.000', from: '2026-03-02 08:00:00.000' }));
  });

  test('the other parameters and the query are part of the key', () => {
    const r = range('2026-03-02 08:00:00.000', '2026-03-02 09:00:00.000');
    expect(key('funnel', { ...r, tier: '' })).not.toBe(key('funnel', { ...r, tier: 'Gold' }));
    expect(key('products', { ...r, sort: 'revenue', limit: 10 })).not.toBe(key('products', { ...r, sort: 'revenue', limit: 11 }));
    expect(key('eventTypes', r)).not.toBe(key('funnelByTier', r));
  });

  test('times before 1970 are left as they are', () => {
    expect(normaliseParams('eventTypes', range('1969-12-31 23:59:30.500', '2026-03-02 09:00:00.001')))
      .toEqual(range('1969-12-31 23:59:30.500', '2026-03-02 09:01:00.000'));
  });
});

/** A promise settled from outside, for loads that finish when the test says so. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

function setup(options: { ttlMs?: number; staleMs?: number; maxEntries?: number; maxChars?: number } = {}) {
  let t = 1_000_000;
  const lookups: CacheResult[] = [];
  const cache = createQueryCache<unknown>({ ttlMs: 1_000, ...options, now: () => t, onLookup: (r) => lookups.push(r) });
  let loads = 0;
  const load = (value: unknown) => () => { loads += 1; return Promise.resolve(value); };
  return { cache, lookups, load, loads: () => loads, advance: (ms: number) => { t += ms; } };
}

describe('the answer cache', () => {
  test('concurrent identical questions share one load', async () => {
    const { cache, lookups } = setup();
    const d = deferred<string>();
    let loads = 0;
    const ps = Array.from({ length: 50 }, () => cache.get('k', () => { loads += 1; return d.promise; }));
    d.resolve('answer');
    expect(await Promise.all(ps)).toEqual(Array(50).fill('answer'));
    expect(loads).toBe(1);
    expect(lookups.filter((r) => r === 'miss')).toHaveLength(1);
    expect(lookups.filter((r) => r === 'shared')).toHaveLength(49);
  });

  test('an answer is reused until ttlMs after its query started, then asked again', async () => {
    const { cache, load, loads, advance, lookups } = setup({ ttlMs: 1_000 });
    expect(await cache.get('k', load(1))).toBe(1);
    advance(999);
    expect(await cache.get('k', load(2))).toBe(1);
    advance(1);
    expect(await cache.get('k', load(3))).toBe(3);
    expect(loads()).toBe(2);
    expect(lookups).toEqual(['miss', 'hit', 'miss']);
  });

  test('within staleMs an expired answer is served at once while one query refreshes it', async () => {
    const { cache, advance, lookups } = setup({ ttlMs: 1_000, staleMs: 4_000 });
    expect(await cache.get('k', () => Promise.resolve('old'))).toBe('old');
    advance(1_950); // past the refresh point of an answer whose query took no time: 2 s - 100 ms
    const refresh = deferred<string>();
    let loads = 0;
    const load = () => { loads += 1; return refresh.promise; };
    // Both get the old answer without waiting; only one refresh runs.
    expect(await cache.get('k', load)).toBe('old');
    expect(await cache.get('k', load)).toBe('old');
    expect(loads).toBe(1);
    refresh.resolve('new');
    await refresh.promise;
    await Promise.resolve();
    expect(await cache.get('k', load)).toBe('new');
    expect(lookups).toEqual(['miss', 'stale', 'stale', 'hit']);
  });

  test('where answers may be served stale, each is refreshed as late as its age bound allows, sooner the slower its query', async () => {
    for (const tookMs of [0, 300, 500, 900]) {
      const { cache, advance, lookups } = setup({ ttlMs: 1_000, staleMs: 4_000 });
      const first = deferred<string>();
      const p = cache.get('k', () => first.promise);
      advance(tookMs);
      first.resolve('old');
      await p;
      // Reused with no refresh until 2 s − 2 × its query's time − 100 ms after it started, never before ttlMs.
      const refreshAt = Math.max(1_000, MAX_ANSWER_AGE_MS - 2 * tookMs - REFRESH_SLACK_MS);
      advance(refreshAt - 1 - tookMs);
      let loads = 0;
      const load = () => { loads += 1; return Promise.resolve('new'); };
      expect(await cache.get('k', load), `took ${tookMs} ms`).toBe('old');
      expect(loads).toBe(0);
      advance(1);
      expect(await cache.get('k', load)).toBe('old');
      expect(loads, `took ${tookMs} ms`).toBe(1);
      expect(lookups).toEqual(['miss', 'hit', 'stale']);
    }
    // Without a stale window nothing changes: reused for ttlMs, then asked again.
    const { cache, advance, lookups } = setup({ ttlMs: 1_000 });
    await cache.get('k', () => Promise.resolve('old'));
    advance(1_000);
    expect(await cache.get('k', () => Promise.resolve('new'))).toBe('new');
    expect(lookups).toEqual(['miss', 'miss']);
  });

  test('past ttlMs + staleMs the answer is gone and the lookup waits for the query', async () => {
    const { cache, load, advance, lookups } = setup({ ttlMs: 1_000, staleMs: 4_000 });
    await cache.get('k', load('old'));
    advance(5_000);
    expect(await cache.get('k', load('new'))).toBe('new');
    expect(lookups).toEqual(['miss', 'miss']);
  });

  test('a failed refresh keeps the stale answer until it ages out', async () => {
    const { cache, advance } = setup({ ttlMs: 1_000, staleMs: 4_000 });
    await cache.get('k', () => Promise.resolve('old'));
    advance(1_500);
    expect(await cache.get('k', () => Promise.reject(new Error('ClickHouse down')))).toBe('old');
    await new Promise((r) => setImmediate(r));
    expect(await cache.get('k', () => Promise.reject(new Error('ClickHouse down')))).toBe('old');
    advance(500); // 2 s old: aged out (MAX_ANSWER_AGE_MS)
    await expect(cache.get('k', () => Promise.reject(new Error('ClickHouse down')))).rejects.toThrow('ClickHouse down');
  });

  test('no answer older than maxAgeMs (2 s by default) is served, whatever staleMs: past it the lookup joins the refresh', async () => {
    const { cache, advance, lookups } = setup({ ttlMs: 1_000, staleMs: 4_000 });
    expect(MAX_ANSWER_AGE_MS).toBe(2_000);
    await cache.get('k', () => Promise.resolve('old'));
    advance(1_999);
    const refresh = deferred<string>();
    expect(await cache.get('k', () => refresh.promise)).toBe('old'); // stale, 1.999 s old; the refresh starts
    advance(1);
    let answered: string | undefined;
    const waiting = cache.get('k', () => Promise.resolve('never asked')).then((v) => { answered = v as string; return v; });
    await Promise.resolve();
    expect(answered).toBeUndefined(); // 2 s old: not served; it waits for the refresh in flight
    refresh.resolve('new');
    expect(await waiting).toBe('new');
    expect(lookups).toEqual(['miss', 'stale', 'shared']);
  });

  test('maxAgeMs below ttlMs + staleMs bounds the stale window; above it, staleMs does', async () => {
    for (const [maxAgeMs, servedAt, goneAt] of [[1_500, 1_499, 1_500], [10_000, 4_999, 5_000]] as const) {
      const t0 = { t: 0 };
      const cache = createQueryCache<string>({ ttlMs: 1_000, staleMs: 4_000, maxAgeMs, now: () => t0.t });
      await cache.get('k', () => Promise.resolve('old'));
      t0.t = servedAt;
      expect(await cache.get('k', () => new Promise<string>(() => {}))).toBe('old');
      const fresh = createQueryCache<string>({ ttlMs: 1_000, staleMs: 4_000, maxAgeMs, now: () => t0.t });
      t0.t = 0;
      await fresh.get('k', () => Promise.resolve('old'));
      t0.t = goneAt;
      expect(await fresh.get('k', () => Promise.resolve('new'))).toBe('new');
    }
  });

  test('the time its query took counts against the answer', async () => {
    const { cache, advance } = setup({ ttlMs: 1_000 });
    const slow = deferred<string>();
    const p = cache.get('k', () => slow.promise);
    advance(600);
    slow.resolve('old');
    await p;
    advance(399);
    expect(await cache.get('k', () => Promise.resolve('new'))).toBe('old');
    advance(1);
    expect(await cache.get('k', () => Promise.resolve('new'))).toBe('new');
    // A query slower than the TTL is shared while it runs but not kept.
    const slower = deferred<string>();
    advance(5_000);
    const q = cache.get('k2', () => slower.promise);
    advance(1_500);
    slower.resolve('late');
    expect(await q).toBe('late');
    expect(await cache.get('k2', () => Promise.resolve('again'))).toBe('again');
  });

  test('failures are not kept: everyone waiting gets the error, the next lookup asks again', async () => {
    const { cache, lookups } = setup();
    const d = deferred<string>();
    const waiting = [cache.get('k', () => d.promise), cache.get('k', () => d.promise)];
    d.reject(new Error('ClickHouse is down'));
    for (const w of waiting) await expect(w).rejects.toThrow('ClickHouse is down');
    expect(await cache.get('k', () => Promise.resolve('back'))).toBe('back');
    expect(lookups).toEqual(['miss', 'shared', 'miss']);
    // A load that throws before returning a promise is a failure like any other.
    await expect(cache.get('k3', () => { throw new Error('sync'); })).rejects.toThrow('sync');
    expect(cache.stats().inFlight).toBe(0);
  });

  test('ttlMs 0 only shares what is in flight', async () => {
    const { cache, load, loads } = setup({ ttlMs: 0 });
    await cache.get('k', load(1));
    await cache.get('k', load(2));
    expect(loads()).toBe(2);
    expect(cache.stats().entries).toBe(0);
  });

  test('at most maxEntries answers are held, the oldest dropped first', async () => {
    const { cache, load, loads } = setup({ maxEntries: 3 });
    for (let i = 0; i < 100; i++) await cache.get(`q${i}`, load(i));
    expect(cache.stats().entries).toBe(3);
    expect(await cache.get('q99', load('x'))).toBe(99);
    expect(await cache.get('q0', load('reloaded'))).toBe('reloaded');
    expect(loads()).toBe(101);
  });

  test('at most maxChars of answers are held, and one too large is not kept at all', async () => {
    const { cache } = setup({ maxChars: 1_000 });
    const answer = 'x'.repeat(98); // 100 characters as JSON
    for (let i = 0; i < 50; i++) await cache.get(`q${i}`, () => Promise.resolve(answer));
    expect(cache.stats().chars).toBeLessThanOrEqual(1_000);
    expect(cache.stats().entries).toBe(10);
    await cache.get('huge', () => Promise.resolve('y'.repeat(300)));
    expect(await cache.get('huge', () => Promise.resolve('fresh'))).toBe('fresh');
  });

  test('expired answers are dropped, so old questions do not hold memory', async () => {
    const { cache, load, advance } = setup({ ttlMs: 1_000 });
    for (let i = 0; i < 20; i++) await cache.get(`q${i}`, load(i));
    expect(cache.stats().entries).toBe(20);
    advance(1_000);
    await cache.get('other', load('o'));
    expect(cache.stats().entries).toBe(1);
  });
});
