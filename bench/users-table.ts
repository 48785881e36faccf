import pg from 'pg';
import { TIERS } from '../functions/schemas/events.js';
import { populationUser } from './stream.js';

/**
 * The bench's users in PostgreSQL, in a schema of their own (`speed_layer_bench.users`, passed to
 * the system under test as USERS_TABLE) so the tests' `users` table is never touched. Filled once
 * per (seed, population, unknown share) and kept: a later run with the same population reuses it.
 */
export const BENCH_USERS_TABLE = 'speed_layer_bench.users';
const CHUNK = 20_000;

export async function ensureBenchUsers(databaseUrl: string, o: { seed: number; population: number; unknownShare: number }, log: (msg: string) => void): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    await client.query('CREATE SCHEMA IF NOT EXISTS speed_layer_bench');
    await client.query(`CREATE TABLE IF NOT EXISTS ${BENCH_USERS_TABLE} (
      user_id uuid PRIMARY KEY,
      tier text NOT NULL CHECK (tier IN (${TIERS.map((t) => `'${t}'`).join(', ')})),
      updated_at timestamptz NOT NULL DEFAULT now())`);
    await client.query('CREATE TABLE IF NOT EXISTS speed_layer_bench.seeded (seed bigint, population bigint, unknown_share double precision)');
    const { rows } = await client.query('SELECT 1 FROM speed_layer_bench.seeded WHERE seed = $1 AND population = $2 AND unknown_share = $3', [o.seed, o.population, o.unknownShare]);
    if (rows.length > 0) return;
    log(`seeding ${o.population.toLocaleString('en')} bench users into PostgreSQL ${BENCH_USERS_TABLE} (once per population)…`);
    const started = Date.now();
    await client.query('BEGIN');
    await client.query(`TRUNCATE ${BENCH_USERS_TABLE}`);
    await client.query('TRUNCATE speed_layer_bench.seeded');
    for (let i = 0; i < o.population; i += CHUNK) {
      const ids: string[] = [];
      const tiers: string[] = [];
      for (let j = i; j < Math.min(o.population, i + CHUNK); j++) {
        const u = populationUser(o.seed, j, o.unknownShare);
        if (!u.inPostgres) continue;
        ids.push(u.user_id);
        tiers.push(u.tier);
      }
      await client.query(`INSERT INTO ${BENCH_USERS_TABLE} (user_id, tier) SELECT * FROM unnest($1::uuid[], $2::text[]) ON CONFLICT (user_id) DO NOTHING`, [ids, tiers]);
    }
    await client.query('INSERT INTO speed_layer_bench.seeded VALUES ($1, $2, $3)', [o.seed, o.population, o.unknownShare]);
    await client.query('COMMIT');
    log(`seeded in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    await client.end();
  }
}
