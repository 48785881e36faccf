import pg from 'pg';
import { TIERS } from '../functions/schemas/events.js';
import { populationSqlPg } from './population.js';

/**
 * The bench's users in PostgreSQL, in a schema of their own (`speed_layer_bench.users`, passed to
 * the system under test as USERS_TABLE) so the tests' `users` table is never touched. Filled once
 * per (seed, population, unknown share) and kept: a later run with the same population reuses it.
 */
export const BENCH_USERS_TABLE = 'speed_layer_bench.users';
const CHUNK = 1_000_000;

export async function ensureBenchUsers(databaseUrl: string, o: { seed: number; population: number; unknownShare: number }, log: (msg: string) => void, table = BENCH_USERS_TABLE): Promise<void> {
  const schema = table.split('.')[0]!;
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${table} (
      user_id uuid PRIMARY KEY,
      tier text NOT NULL CHECK (tier IN (${TIERS.map((t) => `'${t}'`).join(', ')})),
      updated_at timestamptz NOT NULL DEFAULT now())`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${schema}.seeded (seed bigint, population bigint, unknown_share double precision)`);
    const { rows } = await client.query(`SELECT 1 FROM ${schema}.seeded WHERE seed = $1 AND population = $2 AND unknown_share = $3`, [o.seed, o.population, o.unknownShare]);
    if (rows.length > 0) return;
    log(`seeding ${o.population.toLocaleString('en')} bench users into PostgreSQL ${table} (once per population)…`);
    const started = Date.now();
    await client.query('BEGIN');
    await client.query(`TRUNCATE ${table}`);
    await client.query(`TRUNCATE ${schema}.seeded`);
    // Without the primary key while loading, then built once from the sorted rows: random uuid inserts into a
    // b-tree are what made this slow (about 20,000 rows/s here).
    const pk = `${table.split('.')[1]}_pkey`;
    await client.query(`ALTER TABLE ${table} DROP CONSTRAINT IF EXISTS ${pk}`);
    // Computed by PostgreSQL itself (md5 of "seed:index", as populationUser derives them): millions of users
    // load in seconds, with nothing crossing the wire. Chunks only to print progress.
    for (let i = 0; i < o.population; i += CHUNK) {
      const hi = Math.min(o.population, i + CHUNK) - 1;
      await client.query(`INSERT INTO ${table} (user_id, tier) SELECT user_id, tier FROM (${populationSqlPg(o.seed, o.unknownShare, i, hi)}) AS u WHERE in_pg`);
      if (hi + 1 < o.population) log(`  ${(hi + 1).toLocaleString('en')} of ${o.population.toLocaleString('en')}`);
    }
    await client.query(`ALTER TABLE ${table} ADD CONSTRAINT ${pk} PRIMARY KEY (user_id)`);
    await client.query(`INSERT INTO ${schema}.seeded VALUES ($1, $2, $3)`, [o.seed, o.population, o.unknownShare]);
    await client.query('COMMIT');
    log(`seeded in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    await client.end();
  }
}
