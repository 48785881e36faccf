import type { Config } from './config.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import { createClickHouse, type ClickHouseClient } from '../adapters/clickhouse.js';
import { migrate } from '../adapters/migrations.js';
import { createPgPool, createTierSource } from '../adapters/tier-source.js';
import { createTierCache } from '../adapters/tier-cache.js';

/** The connections a process opens once and shares between its functions. */
export async function openClickHouse(config: Config, log: Logger): Promise<ClickHouseClient> {
  const ch = await createClickHouse(config);
  const applied = config.CLICKHOUSE_MIGRATE ? await migrate(ch, config.CLICKHOUSE_DATABASE) : [];
  log.info({ clickhouse: config.CLICKHOUSE_URL || `embedded:${config.CLICKHOUSE_DATA_DIR}`, database: config.CLICKHOUSE_DATABASE, ddl: applied.length }, 'ClickHouse ready');
  return ch;
}

export async function openTiers(config: Config, metrics: Metrics, log: Logger) {
  const pool = createPgPool(config.DATABASE_URL, config.PG_POOL_SIZE);
  const source = createTierSource(pool, config.USERS_TABLE);
  const tiers = createTierCache({ ttlS: config.TIER_CACHE_TTL_S, unknownTtlS: config.TIER_UNKNOWN_TTL_S, warmMax: config.TIER_CACHE_WARM_MAX }, { source, metrics, log });
  try {
    await source.ensureTable();
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'PostgreSQL unreachable at start; tiers will be unknown until it is back');
  }
  const warmed = await tiers.warm();
  log.info({ users: warmed }, 'tier cache warmed');
  return { pool, source, tiers };
}
