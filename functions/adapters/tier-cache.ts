import NodeCache from 'node-cache';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import type { Tier } from '../schemas/events.js';
import type { TierSource } from './tier-source.js';

/**
 * User tiers in memory (node-cache, 15-minute TTL) over PostgreSQL, shaped like PostHog's lazy
 * loader: every miss requested in the same tick goes to PostgreSQL in one query, concurrent misses
 * for one user share that query, entries are refreshed in the background before they expire, users
 * missing from PostgreSQL are remembered as `unknown` for a shorter time, and when PostgreSQL fails
 * events still get `unknown` at once (briefly cached, so the cache refills when it is back).
 *
 * A circuit breaker keeps a PostgreSQL outage from costing each batch of misses a connection
 * timeout (2 s): after a failed lookup no query is sent for `breakerOpenMs`; then one lookup probes,
 * and its success closes the breaker (logged), its failure opens it again.
 */
export type TierCacheOptions = { ttlS: number; unknownTtlS: number; warmMax: number; failureTtlS?: number; breakerOpenMs?: number; refreshAheadShare?: number };

export function createTierCache(opts: TierCacheOptions, deps: { source: TierSource; metrics: Metrics; log: Logger }) {
  const { source, metrics, log } = deps;
  const cache = new NodeCache({ stdTTL: opts.ttlS, checkperiod: Math.max(1, Math.floor(opts.ttlS / 10)), useClones: false });
  const inFlight = new Map<string, Promise<Tier>>();
  let queued = new Map<string, { resolve: (t: Tier) => void }>();
  let scheduled = false;
  // Hits in the last share of an entry's TTL refresh it in the background.
  const refreshAheadMs = opts.ttlS * 1000 * (opts.refreshAheadShare ?? 0.1);
  const breakerOpenMs = opts.breakerOpenMs ?? 5_000;
  let breakerOpenUntil = 0;

  function load(userId: string): Promise<Tier> {
    const existing = inFlight.get(userId);
    if (existing) return existing;
    const p = new Promise<Tier>((resolve) => queued.set(userId, { resolve }));
    inFlight.set(userId, p);
    if (!scheduled) {
      scheduled = true;
      setImmediate(runQuery);
    }
    return p;
  }

  async function runQuery() {
    scheduled = false;
    const batch = queued;
    queued = new Map();
    const ids = [...batch.keys()];
    let found: Map<string, Tier> | undefined;
    if (Date.now() >= breakerOpenUntil) {
      const end = metrics.tierLookupDuration.startTimer();
      try {
        found = await source.lookup(ids);
        if (breakerOpenUntil) {
          breakerOpenUntil = 0;
          metrics.tierBreakerOpen.set(0);
          log.info('PostgreSQL answers again; tier lookups resumed');
        }
      } catch (err) {
        metrics.tierLookupFailures.inc();
        breakerOpenUntil = Date.now() + breakerOpenMs;
        metrics.tierBreakerOpen.set(1);
        log.warn({ users: ids.length, retryInMs: breakerOpenMs, err: (err as Error).message }, 'tier lookup failed; enriching with unknown, no lookups until the retry');
      } finally {
        end();
      }
    }
    for (const [id, { resolve }] of batch) {
      // A failed background refresh keeps the tier the cache still holds; only users it does not
      // know are remembered as `unknown`, briefly.
      const held = found ? undefined : cache.get<Tier>(id);
      const tier = found?.get(id) ?? held ?? 'unknown';
      if (held === undefined) cache.set(id, tier, !found ? (opts.failureTtlS ?? 5) : found.has(id) ? opts.ttlS : opts.unknownTtlS);
      inFlight.delete(id);
      resolve(tier);
    }
    metrics.cacheSize.set(cache.getStats().keys);
  }

  return {
    /** Tiers of the given users: hits from memory, misses in one shared PostgreSQL query. */
    async getMany(userIds: Iterable<string>): Promise<Map<string, Tier>> {
      const out = new Map<string, Tier>();
      const waits: Promise<void>[] = [];
      const now = Date.now();
      for (const id of userIds) {
        if (out.has(id)) continue;
        const hit = cache.get<Tier>(id);
        if (hit !== undefined) {
          metrics.cacheHits.inc();
          out.set(id, hit);
          const expires = cache.getTtl(id);
          if (hit !== 'unknown' && expires && expires - now < refreshAheadMs && !inFlight.has(id)) void load(id);
        } else {
          metrics.cacheMisses.inc();
          out.set(id, 'unknown');
          waits.push(load(id).then((t) => void out.set(id, t)));
        }
      }
      if (waits.length) await Promise.all(waits);
      return out;
    },
    /** Loads the most recently active users at start, so the first events are hits. */
    async warm(): Promise<number> {
      if (opts.warmMax === 0) return 0;
      try {
        const users = await source.recent(opts.warmMax);
        for (const [id, tier] of users) cache.set(id, tier);
        metrics.cacheSize.set(cache.getStats().keys);
        return users.size;
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'could not warm the tier cache; starting cold');
        return 0;
      }
    },
    // getStats() is O(1); keys() builds an array of every id (73 % of ingest CPU when called per lookup).
    get size() { return cache.getStats().keys; },
    get breakerOpen() { return Date.now() < breakerOpenUntil; },
    close() { cache.close(); },
  };
}
export type TierCache = ReturnType<typeof createTierCache>;
