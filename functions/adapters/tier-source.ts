import pg from 'pg';
import { TIERS, type Tier } from '../schemas/events.js';

/** PostgreSQL holds each user's tier. This adapter is the only place that speaks SQL to it. */
export function createPgPool(url: string, size: number) {
  // Short timeouts: enrichment must never hold the stream; a slow PostgreSQL means tier `unknown`.
  return new pg.Pool({ connectionString: url, max: size, connectionTimeoutMillis: 2_000, query_timeout: 2_000, idleTimeoutMillis: 30_000 });
}

export function createTierSource(pool: pg.Pool, table: string) {
  return {
    async ensureTable() {
      const schema = table.includes('.') ? table.split('.')[0] : undefined;
      if (schema) await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await pool.query(`CREATE TABLE IF NOT EXISTS ${table} (
        user_id uuid PRIMARY KEY,
        tier text NOT NULL CHECK (tier IN (${TIERS.map((t) => `'${t}'`).join(', ')})),
        updated_at timestamptz NOT NULL DEFAULT now())`);
    },
    /** Tiers of the given users; users not in the table are absent from the map. One query. */
    async lookup(userIds: readonly string[]): Promise<Map<string, Tier>> {
      const { rows } = await pool.query<{ user_id: string; tier: Tier }>(`SELECT user_id::text, tier FROM ${table} WHERE user_id = ANY($1::uuid[])`, [userIds]);
      return new Map(rows.map((r) => [r.user_id, r.tier]));
    },
    /** The most recently updated users, to warm the cache at start. */
    async recent(limit: number): Promise<Map<string, Tier>> {
      const { rows } = await pool.query<{ user_id: string; tier: Tier }>(`SELECT user_id::text, tier FROM ${table} ORDER BY updated_at DESC LIMIT $1`, [limit]);
      return new Map(rows.map((r) => [r.user_id, r.tier]));
    },
    async upsert(users: readonly { user_id: string; tier: Tier }[]) {
      for (let i = 0; i < users.length; i += 5_000) {
        const chunk = users.slice(i, i + 5_000);
        await pool.query(
          `INSERT INTO ${table} (user_id, tier) SELECT * FROM unnest($1::uuid[], $2::text[])
           ON CONFLICT (user_id) DO UPDATE SET tier = EXCLUDED.tier, updated_at = now()`,
          [chunk.map((u) => u.user_id), chunk.map((u) => u.tier)],
        );
      }
    },
  };
}
export type TierSource = Pick<ReturnType<typeof createTierSource>, 'lookup' | 'recent'>;
