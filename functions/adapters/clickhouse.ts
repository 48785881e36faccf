import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import type { Config } from '../core/config.js';
import { bindParams } from './bind-params.js';

/**
 * One ClickHouse client for the whole process: a server over HTTP when CLICKHOUSE_URL is set,
 * otherwise the embedded engine (chDB) behind the same @clickhouse/client API. chDB is loaded
 * lazily so a deployment that talks to a server never needs its 500 MB library.
 */
export async function createClickHouse(config: Pick<Config, 'CLICKHOUSE_URL' | 'CLICKHOUSE_USER' | 'CLICKHOUSE_PASSWORD' | 'CLICKHOUSE_DATA_DIR'>, settings: Readonly<Record<string, number>> = {}): Promise<ClickHouseClient> {
  const clickhouse_settings = {
    ...settings,
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
      // Every failed call is handled (and logged once, with context) where it is made; the client's
      // own logger would print each failure again with its stack, hundreds a second in an outage.
      log: { level: ClickHouseLogLevel.OFF },
    });
  }
  const { mkdirSync } = await import('node:fs');
  mkdirSync(config.CLICKHOUSE_DATA_DIR, { recursive: true });
  const { createChdbConnection } = await import('chdb/connection');
  const connection = createChdbConnection({ path: config.CLICKHOUSE_DATA_DIR });
  // chDB applies a call's settings as SET statements on its session, so one insert's token stayed
  // set for the next: an insert without one, into a table with a deduplication window, was dropped
  // as a copy (test/integration/embedded-params.test.ts). Every call now sets it, empty by default.
  const embedded = { ...clickhouse_settings, insert_deduplication_token: '' };
  return withBoundParams(createClient({ connection, clickhouse_settings: embedded } as Parameters<typeof createClient>[0]));
}

/**
 * ClickHouse's default limit on a statement's text; bound values (10,000 user ids) go past it, and
 * the connection adds its FORMAT and SETTINGS clauses to the text: a bound statement gets twice its size.
 */
const MAX_QUERY_SIZE = 262_144;

/** The embedded engine's client, with query parameters bound before chDB sees them (./bind-params.ts). */
function withBoundParams(client: ClickHouseClient): ClickHouseClient {
  const bind = <P extends { query: string; query_params?: Record<string, unknown>; clickhouse_settings?: Record<string, unknown> }>(p: P): P => {
    if (!p.query_params || !Object.keys(p.query_params).length) return p;
    const query = bindParams(p.query, p.query_params);
    const bytes = Buffer.byteLength(query);
    const settings = bytes >= MAX_QUERY_SIZE ? { clickhouse_settings: { ...p.clickhouse_settings, max_query_size: 2 * bytes + 65_536 } } : {};
    return { ...p, query, query_params: undefined, ...settings };
  };
  const { query, command, exec } = client;
  client.query = ((p: Parameters<ClickHouseClient['query']>[0]) => query.call(client, bind(p))) as ClickHouseClient['query'];
  client.command = (p) => command.call(client, bind(p));
  client.exec = (p) => exec.call(client, bind(p));
  return client;
}

export type { ClickHouseClient };

/**
 * Clients for a function that runs many independent reads (analytics): a server client already
 * pools HTTP connections, but one embedded (chDB) connection runs one statement at a time, so
 * reads are spread round-robin over `size` connections to the same data directory.
 */
export async function createClickHouseReaders(config: Parameters<typeof createClickHouse>[0], size: number): Promise<ClickHouseClient> {
  if (config.CLICKHOUSE_URL || size <= 1) return createClickHouse(config);
  const clients = await Promise.all(Array.from({ length: size }, () => createClickHouse(config)));
  let next = 0;
  const readers = Object.create(clients[0]!) as ClickHouseClient;
  readers.query = ((params: Parameters<ClickHouseClient['query']>[0]) => clients[next++ % size]!.query(params)) as ClickHouseClient['query'];
  readers.close = async () => { await Promise.all(clients.map((c) => c.close())); };
  return readers;
}
