import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { loadConfig, type Config } from '../../functions/core/config.js';
import { createLogger } from '../../functions/core/log.js';
import { createMetrics } from '../../functions/core/metrics.js';
import { composeSpeedLayer } from '../../functions/core/compose.js';
import { listen } from '../../functions/adapters/http-server.js';
import type { SimUser } from '../../generator/simulate.js';
import { waitFor } from '../../local/wait-for.js';

/**
 * A whole speed layer in the test process against the real engines: the embedded ClickHouse (one
 * data directory per test process, a random database per stack) and the machine's PostgreSQL (a
 * random schema per stack). Ingest and analytics listen on ephemeral ports.
 */
export async function startStack(overrides: Partial<Config> = {}, options: { sessionizerThread?: boolean } = {}) {
  const suffix = randomBytes(4).toString('hex');
  const config = loadConfig(process.env, {
    PORT: 0,
    CLICKHOUSE_DATABASE: `t_${suffix}`,
    CLICKHOUSE_DATA_DIR: process.env.CLICKHOUSE_URL ? '' : `${tmpdir()}/speed-layer-test-ch-${process.pid}`,
    USERS_TABLE: `t_${suffix}.users`,
    LOG_LEVEL: (process.env.TEST_LOG_LEVEL as Config['LOG_LEVEL'] | undefined) ?? 'warn',
    SESSIONIZER_INTERVAL_MS: 500,
    ...overrides,
  });
  const layer = await composeSpeedLayer(config, { functions: ['ingest', 'analytics', 'sessionizer'], log: createLogger('test', config.LOG_LEVEL), ...options });
  const { ch, metrics, log } = layer;
  const tiers = layer.tiers!;
  const [ingest, analytics, sessionizer] = [layer.ingest!, layer.analytics!, layer.sessionizer!];
  layer.start();
  const ingestServer = await listen(ingest.handler, 0, '127.0.0.1');
  const analyticsServer = await listen(analytics.app, 0, '127.0.0.1');
  const url = (s: Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;

  return {
    config, ch, metrics, ingest, tiers, sessionizer, layer,
    ingestUrl: url(ingestServer),
    analyticsUrl: url(analyticsServer),
    db: config.CLICKHOUSE_DATABASE,
    /** Another ingest replica (own memory, same ClickHouse): `kill()` crashes it as a dying pod would. */
    async startReplica(port = 0) {
      const replica = layer.newIngest({ metrics: createMetrics(), log });
      const server = await listen(replica.handler, port, '127.0.0.1');
      return {
        url: url(server),
        port: (server.address() as AddressInfo).port,
        kill() {
          server.closeAllConnections();
          server.close();
          replica.abort();
        },
        async stop() {
          server.closeAllConnections();
          await new Promise((r) => server.close(r));
          await replica.close();
        },
      };
    },
    /**
     * Runs the sessionizer until its cursor has passed `wallMs` (default: now): every row stored
     * before then is in its session. One run's answer does not say so: a run leaves the rows stored
     * in its last second to the next one, and a timer run already going is shared. Answers the last run.
     */
    async sessionsCaughtUp(wallMs = Date.now(), timeoutMs = 60_000) {
      return waitFor(async () => {
        const run = await sessionizer.runOnce();
        return run.cursorMs >= wallMs ? run : undefined;
      }, `the sessionizer's cursor past ${new Date(wallMs).toISOString()}`, timeoutMs, 100);
    },
    async seedUsers(users: readonly SimUser[]) {
      await tiers.source.upsert(users.filter((u) => u.inPostgres).map((u) => ({ user_id: u.user_id, tier: u.tier })));
    },
    async query<T = Record<string, unknown>>(sql: string, params: Record<string, unknown> = {}): Promise<T[]> {
      const r = await ch.query({ query: sql.replaceAll('{db}', config.CLICKHOUSE_DATABASE), query_params: params, format: 'JSONEachRow' });
      return r.json<T>();
    },
    async api<T = unknown>(path: string): Promise<T> {
      const res = await fetch(`${url(analyticsServer)}${path}`);
      if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { data: T }).data;
    },
    async stop() {
      ingestServer.closeAllConnections();
      analyticsServer.closeAllConnections();
      await new Promise((r) => ingestServer.close(r));
      await new Promise((r) => analyticsServer.close(r));
      await layer.stopFunctions();
      await tiers.pool.query(`DROP SCHEMA IF EXISTS t_${suffix} CASCADE`).catch(() => undefined); // PostgreSQL may be down on purpose
      await tiers.pool.end();
      await ch.command({ query: `DROP DATABASE IF EXISTS ${config.CLICKHOUSE_DATABASE}` });
    },
  };
}
export type Stack = Awaited<ReturnType<typeof startStack>>;

/** The one polling helper (local/wait-for.ts), re-exported where the tests have always found it. */
export { waitFor } from '../../local/wait-for.js';
