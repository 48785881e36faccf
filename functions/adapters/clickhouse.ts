import { createClient, type ClickHouseClient } from '@clickhouse/client';
import type { Config } from '../core/config.js';

/**
 * One ClickHouse client for the whole process: a server over HTTP when CLICKHOUSE_URL is set,
 * otherwise the embedded engine (chDB) behind the same @clickhouse/client API. chDB is loaded
 * lazily so a deployment that talks to a server never needs its 500 MB library.
 */
export async function createClickHouse(config: Pick<Config, 'CLICKHOUSE_URL' | 'CLICKHOUSE_USER' | 'CLICKHOUSE_PASSWORD' | 'CLICKHOUSE_DATA_DIR'>): Promise<ClickHouseClient> {
  const clickhouse_settings = {
    date_time_input_format: 'best_effort' as const,
    // Decimals and 64-bit counts come back as exact strings; the API converts them deliberately.
    output_format_json_quote_64bit_integers: 1 as const,
    output_format_json_quote_decimals: 1 as const,
    output_format_decimal_trailing_zeros: 1 as const,
  };
  if (config.CLICKHOUSE_URL) {
    return createClient({
      url: config.CLICKHOUSE_URL, username: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD,
      clickhouse_settings, max_open_connections: 20, request_timeout: 30_000,
    });
  }
  const { mkdirSync } = await import('node:fs');
  mkdirSync(config.CLICKHOUSE_DATA_DIR, { recursive: true });
  const { createChdbConnection } = await import('chdb/connection');
  const connection = createChdbConnection({ path: config.CLICKHOUSE_DATA_DIR });
  return createClient({ connection, clickhouse_settings } as Parameters<typeof createClient>[0]);
}

export type { ClickHouseClient };
