// The tier cache over the machine's real PostgreSQL: misses of one tick share one query, hits never
// query, unknown users get `unknown`, and the size gauge follows the entries.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../../functions/core/config.js';
import { createLogger } from '../../functions/core/log.js';
import { createMetrics } from '../../functions/core/metrics.js';
import { createPgPool, createTierSource } from '../../functions/adapters/tier-source.js';
import { createTierCache } from '../../functions/adapters/tier-cache.js';
import { TIERS, type Tier } from '../../functions/schemas/events.js';

const config = loadConfig(process.env);
const schema = `t_${randomBytes(4).toString('hex')}`;
const pool = createPgPool(config.DATABASE_URL, 2);
const source = createTierSource(pool, `${schema}.users`);
const users = Array.from({ length: 100 }, (_, i) => ({ user_id: randomUUID(), tier: TIERS[i % TIERS.length] as Tier }));
const strangers = [randomUUID(), randomUUID()];

function cacheWithCountedLookups() {
  const lookups: string[][] = [];
  const counted = { lookup: (ids: readonly string[]) => { lookups.push([...ids]); return source.lookup(ids); }, recent: source.recent };
  const metrics = createMetrics();
  const cache = createTierCache({ ttlS: 900, unknownTtlS: 60, warmMax: 0 }, { source: counted, metrics, log: createLogger('test', 'warn') });
  return { cache, lookups, metrics };
}
const gauge = async (m: ReturnType<typeof createMetrics>) => (await m.cacheSize.get()).values[0]?.value;

beforeAll(async () => {
  await source.ensureTable();
  await source.upsert(users);
});
afterAll(async () => {
  await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await pool.end();
});

describe('tier cache', () => {

  test('misses requested in one tick go to PostgreSQL in one query, each user once', async () => {
    const { cache, lookups, metrics } = cacheWithCountedLookups();
    const ids = [...users.map((u) => u.user_id), ...strangers];
    const [a, b, c] = await Promise.all([cache.getMany(ids.slice(0, 60)), cache.getMany(ids.slice(40)), cache.getMany([ids[0]!, ids[0]!])]);
    expect(lookups).toHaveLength(1);
    expect(lookups[0]!.slice().sort()).toEqual(ids.slice().sort());
    const all = new Map([...a, ...b, ...c]);
    for (const u of users) expect(all.get(u.user_id)).toBe(u.tier);
    for (const s of strangers) expect(all.get(s)).toBe('unknown');
    expect(cache.size).toBe(102);
    expect(await gauge(metrics)).toBe(102);
    cache.close();
  });

  test('hits are answered from memory without a query', async () => {
    const { cache, lookups, metrics } = cacheWithCountedLookups();
    await cache.getMany(users.slice(0, 10).map((u) => u.user_id));
    const again = await cache.getMany(users.slice(0, 10).map((u) => u.user_id));
    expect(lookups).toHaveLength(1);
    expect([...again.values()]).toEqual(users.slice(0, 10).map((u) => u.tier));
    expect((await metrics.cacheHits.get()).values[0]?.value).toBe(10);
    expect((await metrics.cacheMisses.get()).values[0]?.value).toBe(10);
    cache.close();
  });

  test('when PostgreSQL is unreachable events get `unknown` at once and the failure is counted', async () => {
    const deadPool = createPgPool('postgres://nobody@127.0.0.1:1/none', 1);
    const metrics = createMetrics();
    const cache = createTierCache({ ttlS: 900, unknownTtlS: 60, warmMax: 0 }, { source: createTierSource(deadPool, 'users'), metrics, log: createLogger('test', 'silent') });
    const tiers = await cache.getMany([users[0]!.user_id]);
    expect(tiers.get(users[0]!.user_id)).toBe('unknown');
    expect((await metrics.tierLookupFailures.get()).values[0]?.value).toBe(1);
    cache.close();
    await deadPool.end();
  });
});

describe('tier cache when PostgreSQL fails', () => {
  test('a circuit breaker stops lookups after a failure, events get `unknown`, and enrichment resumes when PostgreSQL answers again', async () => {
    const deadPool = createPgPool('postgres://nobody@127.0.0.1:1/none', 1);
    const dead = createTierSource(deadPool, 'users');
    let down = true;
    const lookups: string[] = [];
    const switching = { lookup: (ids: readonly string[]) => { lookups.push(down ? 'dead' : 'real'); return (down ? dead : source).lookup(ids); }, recent: source.recent };
    const metrics = createMetrics();
    const cache = createTierCache({ ttlS: 900, unknownTtlS: 60, warmMax: 0, breakerOpenMs: 300, failureTtlS: 1 }, { source: switching, metrics, log: createLogger('test', 'silent') });
    const breaker = async () => (await metrics.tierBreakerOpen.get()).values[0]?.value;

    expect((await cache.getMany([users[10]!.user_id])).get(users[10]!.user_id)).toBe('unknown');
    expect(lookups).toEqual(['dead']);
    expect(cache.breakerOpen).toBe(true);
    expect(await breaker()).toBe(1);

    // While open, new misses do not wait for PostgreSQL at all: no lookup is sent.
    const during = await cache.getMany(users.slice(11, 20).map((u) => u.user_id));
    expect([...during.values()].every((t) => t === 'unknown')).toBe(true);
    expect(lookups).toEqual(['dead']);
    expect((await metrics.tierLookupFailures.get()).values[0]?.value).toBe(1);

    // PostgreSQL is back; once the breaker's time is up one lookup probes, and tiers come back.
    down = false;
    await waitUntil(() => !cache.breakerOpen);
    const after = await cache.getMany(users.slice(20, 30).map((u) => u.user_id));
    expect([...after.values()]).toEqual(users.slice(20, 30).map((u) => u.tier));
    expect(lookups).toEqual(['dead', 'real']);
    expect(await breaker()).toBe(0);
    cache.close();
    await deadPool.end();
  });

  test('a failed lookup never replaces a tier the cache still holds', async () => {
    const deadPool = createPgPool('postgres://nobody@127.0.0.1:1/none', 1);
    const dead = createTierSource(deadPool, 'users');
    let down = false;
    const switching = { lookup: (ids: readonly string[]) => (down ? dead : source).lookup(ids), recent: source.recent };
    // Every hit after the first 10 % of the 2 s TTL refreshes in the background.
    const cache = createTierCache({ ttlS: 2, unknownTtlS: 60, warmMax: 0, breakerOpenMs: 60_000, refreshAheadShare: 0.9 }, { source: switching, metrics: createMetrics(), log: createLogger('test', 'silent') });
    const u = users[40]!;
    expect((await cache.getMany([u.user_id])).get(u.user_id)).toBe(u.tier);
    down = true;
    await new Promise((r) => setTimeout(r, 300)); // past 10 % of the TTL: a hit starts a refresh
    expect((await cache.getMany([u.user_id])).get(u.user_id)).toBe(u.tier);
    await waitUntil(() => cache.breakerOpen); // the background refresh failed
    expect((await cache.getMany([u.user_id])).get(u.user_id)).toBe(u.tier);
    cache.close();
    await deadPool.end();
  });
});

async function waitUntil(check: () => boolean, timeoutMs = 10_000) {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 20));
  }
}
