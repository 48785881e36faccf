import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../functions/core/config.js';
import { populationUser } from '../../bench/population.js';
import { ensureBenchUsers } from '../../bench/users-table.js';

const { DATABASE_URL } = loadConfig(process.env);
const schema = `t_bu_${randomBytes(4).toString('hex')}`;

describe('bench users in PostgreSQL, computed by the server', () => {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  afterAll(async () => { await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`); await client.end(); });

  it('holds exactly the population the stream derives (same ids and tiers, 5 % left out), seeded once', async () => {
    const o = { seed: 42, population: 4_000, unknownShare: 0.05 };
    const logs: string[] = [];
    await ensureBenchUsers(DATABASE_URL, o, (m) => logs.push(m), `${schema}.users`);
    await client.connect();
    const { rows } = await client.query<{ user_id: string; tier: string }>(`SELECT user_id::text, tier FROM ${schema}.users`);
    const want = Array.from({ length: o.population }, (_, i) => populationUser(o.seed, i, o.unknownShare)).filter((u) => u.inPostgres);
    expect(new Map(rows.map((r) => [r.user_id, r.tier]))).toEqual(new Map(want.map((u) => [u.user_id, u.tier])));
    expect(want.length / o.population).toBeGreaterThan(0.93);
    expect(new Set(want.map((u) => u.tier)).size).toBe(4);
    // A second call with the same population does nothing.
    await ensureBenchUsers(DATABASE_URL, o, (m) => logs.push(m), `${schema}.users`);
    expect(logs.filter((l) => l.startsWith('seeding'))).toHaveLength(1);
  });
});
