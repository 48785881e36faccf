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

describe('tier cache', () => {
  beforeAll(async () => {
    await source.ensureTable();
    await source.upsert(users);
  });
  afterAll(async () => {
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool.end();
  });

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
