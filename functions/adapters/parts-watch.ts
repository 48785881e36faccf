import type { ClickHouseClient } from './clickhouse.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';

/** How often the parts are counted: a read of system.parts, a few milliseconds. */
export const PARTS_WATCH_MS = 10_000;

const PARTS = `
  SELECT table, sum(n) AS parts, max(n) AS partition_max
  FROM (SELECT table, partition_id, count() AS n FROM system.parts WHERE database = {db:String} AND active GROUP BY table, partition_id)
  GROUP BY table`;

/**
 * ClickHouse's active parts, per table of the speed layer's database. Every insert makes a part and
 * merges fold them together; past `parts_to_delay_insert` parts in one partition (1,000 by default)
 * ClickHouse slows inserts down, past `parts_to_throw_insert` (3,000) it refuses them. The
 * micro-batches' insert cap (docs/ingest-flush.md) is what keeps the count low; these gauges show
 * that it does, to the alert SpeedLayerClickHouseTooManyParts and to the bench.
 */
export async function countParts(ch: ClickHouseClient, db: string, metrics: Metrics): Promise<void> {
  const rows = await (await ch.query({ query: PARTS, query_params: { db }, format: 'JSONEachRow' })).json<{ table: string; parts: string; partition_max: string }>();
  metrics.clickhouseActiveParts.reset();
  metrics.clickhousePartitionPartsMax.reset();
  for (const r of rows) {
    metrics.clickhouseActiveParts.set({ table: r.table }, Number(r.parts));
    metrics.clickhousePartitionPartsMax.set({ table: r.table }, Number(r.partition_max));
  }
}

/** Counts the parts every `intervalMs` until stopped; a failed count is logged once until one succeeds. */
export function watchParts(ch: ClickHouseClient, db: string, deps: { metrics: Metrics; log: Logger }, intervalMs = PARTS_WATCH_MS) {
  let failing = false;
  let counting: Promise<void> | undefined;
  const tick = () => {
    counting ??= countParts(ch, db, deps.metrics).then(
      () => { failing = false; },
      (err: Error) => {
        if (!failing) deps.log.warn({ err: err.message }, 'counting ClickHouse parts failed; retrying');
        failing = true;
      },
    ).finally(() => { counting = undefined; });
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await counting;
    },
  };
}
