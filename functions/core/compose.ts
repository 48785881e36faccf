import type { Config } from './config.js';
import type { Logger } from './log.js';
import { createMetrics, type Metrics } from './metrics.js';
import { openClickHouse, openTiers } from './runtime.js';
import { createClickHouse, createClickHouseReaders, type ClickHouseClient } from '../adapters/clickhouse.js';
import { createIngest, type Ingest } from '../ingest/app.js';
import { createAnalytics } from '../analytics/app.js';
import { createSessionizer } from '../sessionizer/sessionizer.js';
import { startSessionizerThread } from '../sessionizer/thread.js';
import { watchParts } from '../adapters/parts-watch.js';

/**
 * The composition root: the one place where config and connections become functions. Each
 * `functions/<name>/main.ts` composes its one function, `npm start` and the tests' stacks compose
 * all three in one process; only what a caller asks for is built.
 */
export type FunctionName = 'ingest' | 'analytics' | 'sessionizer';

export interface ComposeOptions {
  readonly functions: readonly FunctionName[];
  readonly log: Logger;
  /**
   * Each function its own ClickHouse connection (and analytics its own metrics, as in the cluster):
   * on one connection the embedded engine runs one statement at a time, so inserts would queue
   * behind dashboard queries and the sessionizer's reads. Default: one connection, one registry.
   */
  readonly ownConnections?: boolean;
  /** Child loggers per function (`fn: ingest`, ...) rather than `log` itself. */
  readonly childLogs?: boolean;
  /**
   * The sessionizer in a worker thread with its own connections (functions/sessionizer/thread.ts),
   * as a process running every function should: in the cluster it is a process of its own.
   */
  readonly sessionizerThread?: boolean;
}

/** Parallel readers of the analytics function's own connection (ownConnections). */
const ANALYTICS_READERS = 3;

export async function composeSpeedLayer(config: Config, options: ComposeOptions) {
  const { log } = options;
  const wants = (f: FunctionName) => options.functions.includes(f);
  const logOf = (fn: FunctionName) => (options.childLogs ? log.child({ fn }) : log);
  const metrics = createMetrics();
  // The first connection applies sql/ (CLICKHOUSE_MIGRATE) before any function uses ClickHouse.
  const ch = await openClickHouse(config, log);
  const connections: ClickHouseClient[] = [ch];
  const own = async (open: () => Promise<ClickHouseClient>) => {
    if (!options.ownConnections) return ch;
    const c = await open();
    connections.push(c);
    return c;
  };

  const tiers = wants('ingest') ? await openTiers(config, metrics, log) : undefined;
  /** An ingest over the shared connection and tier cache: a replica has its own memory and metrics. */
  const newIngest = (deps: { metrics?: Metrics; log?: Logger } = {}): Ingest => {
    if (!tiers) throw new Error('composeSpeedLayer: an ingest needs functions to include "ingest"');
    return createIngest(config, { ch, tiers: tiers.tiers, metrics: deps.metrics ?? metrics, log: deps.log ?? logOf('ingest') });
  };
  const ingest = wants('ingest') ? newIngest() : undefined;

  const analyticsMetrics = options.ownConnections ? createMetrics() : metrics;
  const analytics = wants('analytics')
    ? createAnalytics(config, { ch: await own(() => createClickHouseReaders(config, ANALYTICS_READERS)), metrics: analyticsMetrics, log: logOf('analytics') })
    : undefined;
  const sessionizer = !wants('sessionizer') ? undefined
    : options.sessionizerThread ? await startSessionizerThread(config, { metrics, log: logOf('sessionizer') })
    : createSessionizer(config, { ch: await own(() => createClickHouse(config)), snapshotCh: await own(() => createClickHouse(config)), metrics, log: logOf('sessionizer') });

  // Closing the ingest flushes its buffer; once, whoever asks first (npm start flushes before its
  // last sessionizer run, then closes the rest).
  let ingestClosed: Promise<void> | undefined;
  const closeIngest = () => (ingestClosed ??= ingest ? ingest.close() : Promise.resolve());

  // The sessionizer is the one function that always runs exactly once: it counts the parts.
  let parts: ReturnType<typeof watchParts> | undefined;

  return {
    config, log, metrics, analyticsMetrics, ch, tiers, ingest, analytics, sessionizer, newIngest, closeIngest,
    /** Starts the sessionizer's runs (every SESSIONIZER_INTERVAL_MS; 0: only on demand). */
    start() {
      if (sessionizer && config.SESSIONIZER_INTERVAL_MS) sessionizer.start(config.SESSIONIZER_INTERVAL_MS);
      if (sessionizer) parts ??= watchParts(ch, config.CLICKHOUSE_DATABASE, { metrics, log: logOf('sessionizer') });
    },
    /** Flushes and stops the functions; the connections stay open (see closeConnections). */
    async stopFunctions() {
      await closeIngest();
      await sessionizer?.stop({ snapshot: true }); // the next start replays only what came after
      await parts?.stop();
      tiers?.tiers.close();
    },
    async closeConnections() {
      await tiers?.pool.end();
      await Promise.all(connections.map((c) => c.close()));
    },
    async close() {
      await this.stopFunctions();
      await this.closeConnections();
    },
  };
}
export type SpeedLayer = Awaited<ReturnType<typeof composeSpeedLayer>>;
