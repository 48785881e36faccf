/**
 * The analytics API's answers, shared between requests that ask the same question:
 *
 * - **shared**: an identical question already in flight is joined (one ClickHouse query);
 * - **hit**: an answer whose query started less than `ttlMs` ago is reused; where it may be served
 *   stale, it is reused for longer: until the last moment from which a refresh, taking twice as long
 *   as its own query did (plus REFRESH_SLACK_MS), still ends before the answer may no longer be
 *   served. A cheap query is refreshed about every `maxAgeMs`, a slow one sooner: 50 dashboards cost
 *   ClickHouse about half the queries of a refresh every `ttlMs`, for answers no older than before;
 * - **stale**: an answer past that but within `staleMs` more is returned at once, while one
 *   query refreshes it in the background (stale-while-revalidate: a dashboard gets its figures
 *   without waiting behind ClickHouse when it is busy);
 * - **miss**: otherwise the query runs.
 *
 * An answer is never older than `maxAgeMs` (2 s by default) from the start of its query, whatever
 * `staleMs` says: past it, a lookup joins the refresh and waits for it (issue 14: answers during
 * ingest no older than 2 s; with npm start's 4 s of staleMs they were served up to 5 s old). Failures are never
 * kept: the requests waiting on a failed query get its error, the next one asks again. Memory is
 * bounded: expired answers are dropped, and beyond `maxEntries` answers or `maxChars` characters
 * (their JSON size) the oldest go first; an answer larger than a quarter of `maxChars` is not kept.
 * An answer is handed to every request that asks: callers read it and must not modify it.
 */
export type CacheResult = 'hit' | 'miss' | 'shared' | 'stale';

export interface QueryCacheOptions {
  /** How long an answer is reused, from the start of its query; 0: only in-flight sharing. */
  ttlMs: number;
  /** How long past `ttlMs` an answer may still be served while it is refreshed; 0: never. */
  staleMs?: number;
  /** No answer older than this (from its query's start) is served, stale or not. */
  maxAgeMs?: number;
  maxEntries?: number;
  maxChars?: number;
  now?: () => number;
  /** Called once per lookup with what it was (for the speed_layer_analytics_cache_total metric). */
  onLookup?: (result: CacheResult) => void;
}

export const DEFAULT_MAX_ENTRIES = 1_000;
export const DEFAULT_MAX_CHARS = 8 * 1024 * 1024;
/** The oldest answer the dashboard may show during ingest (issue 14's freshness bound). */
export const MAX_ANSWER_AGE_MS = 2_000;
/** Room left for a refresh beyond twice its query's last time (scheduling, the answer's trip). */
export const REFRESH_SLACK_MS = 100;

/** `until`: the last moment it may be served, stale or not. */
interface Entry<T> { value: T; expires: number; until: number; chars: number }

export function createQueryCache<T>(options: QueryCacheOptions) {
  const { ttlMs, staleMs = 0, maxAgeMs = MAX_ANSWER_AGE_MS, maxEntries = DEFAULT_MAX_ENTRIES, maxChars = DEFAULT_MAX_CHARS, now = Date.now, onLookup } = options;
  // An answer whose query started at `started` may be served until then.
  const servableUntil = (started: number) => started + Math.max(ttlMs, Math.min(ttlMs + staleMs, maxAgeMs));
  // Insertion order is (about) expiry order: every entry lives ttlMs from its query's start.
  const done = new Map<string, Entry<T>>();
  const inFlight = new Map<string, Promise<T>>();
  let chars = 0;

  function drop(key: string) {
    const e = done.get(key);
    if (!e) return;
    chars -= e.chars;
    done.delete(key);
  }

  function sweep(t: number) {
    for (const [key, e] of done) {
      if (e.until > t) break;
      drop(key);
    }
  }

  function store(key: string, value: T, started: number) {
    drop(key);
    const until = servableUntil(started);
    const t = now();
    if (ttlMs <= 0 || until <= t) return;
    const size = JSON.stringify(value)?.length ?? 0;
    if (size > maxChars / 4) return;
    const refreshAt = Math.max(started + ttlMs, until - 2 * (t - started) - REFRESH_SLACK_MS);
    done.set(key, { value, expires: Math.min(refreshAt, until), until, chars: size });
    chars += size;
    for (const oldest of done.keys()) {
      if (done.size <= maxEntries && chars <= maxChars) break;
      drop(oldest);
    }
  }

  function refresh(key: string, load: () => Promise<T>, started: number): Promise<T> {
    // Stored before it leaves inFlight, so no request in between runs the query a second time.
    let loading: Promise<T>;
    try { loading = load(); } catch (err) { loading = Promise.reject(err); }
    const p = loading
      .then((value) => { store(key, value, started); return value; })
      .finally(() => inFlight.delete(key));
    inFlight.set(key, p);
    return p;
  }

  return {
    /** The answer to `key`: remembered, joined while in flight, or loaded by `load`. */
    get(key: string, load: () => Promise<T>): Promise<T> {
      const started = now();
      sweep(started);
      const e = done.get(key);
      if (e && e.expires > started) {
        onLookup?.('hit');
        return Promise.resolve(e.value);
      }
      const running = inFlight.get(key);
      if (e) {
        // Past its ttl but within staleMs and maxAgeMs (sweep dropped anything older): serve it, refresh once.
        onLookup?.('stale');
        if (!running) refresh(key, load, started).catch(() => {}); // a failed refresh leaves the old answer to age out
        return Promise.resolve(e.value);
      }
      if (running) {
        onLookup?.('shared');
        return running;
      }
      onLookup?.('miss');
      return refresh(key, load, started);
    },
    /** Answers held (expired ones may linger until the next lookup) and their JSON size. */
    stats: () => ({ entries: done.size, chars, inFlight: inFlight.size }),
  };
}
