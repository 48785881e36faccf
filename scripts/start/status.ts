import type { Metrics } from '../../functions/core/metrics.js';
import type { ClickHouseClient } from '../../functions/adapters/clickhouse.js';
import { formatStatus, funnelOf, nextClickHouseState, type ClickHouseState, type Figures } from './status-line.js';

/**
 * Every `everyMs`, one status line from this process's metrics, a ClickHouse probe and the
 * analytics API. Each read is bounded (PROBE_TIMEOUT_MS) and may fail: a ClickHouse that is down
 * or hangs makes the line say so, never throws, and never stacks reads up behind each other.
 */
const PROBE_TIMEOUT_MS = 2_000;

function within<T>(ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, fail) => { timer = setTimeout(() => fail(new Error(`no answer in ${ms / 1000} s`)), ms); });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export function startStatusLine(deps: { metrics: Metrics; ch: ClickHouseClient; analyticsUrl: string; everyMs: number; print: (line: string) => void; onChange?: (state: ClickHouseState) => void }) {
  const { metrics } = deps;
  const values = async (name: string) => (await metrics.registry.getSingleMetric(name)?.get())?.values ?? [];
  const sum = async (name: string) => (await values(name)).reduce((s, v) => s + v.value, 0);
  const figures = async (at: number): Promise<Figures> => {
    const stored = (await metrics.eventsStored.get()).values
      .filter((v) => v.labels.table === 'user_events_realtime' || v.labels.table === 'transactions_realtime')
      .reduce((s, v) => s + v.value, 0);
    return { at, stored, received: await sum('speed_layer_events_received_total'), rejected: await sum('speed_layer_events_rejected_total') };
  };
  const probe = async () => {
    try {
      const r = await within(PROBE_TIMEOUT_MS, deps.ch.ping());
      return r.success ? { ok: true } : { ok: false, why: (r as { error?: Error }).error?.message ?? 'ping failed' };
    } catch (err) {
      return { ok: false, why: (err as Error).message };
    }
  };
  const funnel = (now: number) => within(PROBE_TIMEOUT_MS, fetch(`${deps.analyticsUrl}api/funnel?from=${new Date(now - 3600_000).toISOString()}`).then((r) => r.json()))
    .then(funnelOf, () => undefined);

  let clickhouse: ClickHouseState = { up: true };
  let last: Figures = { at: Date.now(), received: 0, stored: 0, rejected: 0 };
  let busy = false;
  const tick = async () => {
    if (busy) return; // the previous line is still waiting on a read: skip, do not pile up
    busy = true;
    try {
      const now = Date.now();
      const [cur, state, steps] = await Promise.all([figures(now), probe(), funnel(now)]);
      const next = nextClickHouseState(clickhouse, state, now);
      if (next.up !== clickhouse.up) deps.onChange?.(next);
      clickhouse = next;
      const flush = (await metrics.flushDuration.get()).values;
      const rows = (await metrics.batchRows.get()).values;
      const ofSuffix = (vs: typeof flush, suffix: string) => vs.find((v) => v.metricName?.endsWith(suffix))?.value ?? 0;
      deps.print(formatStatus({
        prev: last, cur,
        batches: { count: ofSuffix(flush, '_count'), secondsSum: ofSuffix(flush, '_sum'), rowsSum: ofSuffix(rows, '_sum') },
        openSessions: (await values('speed_layer_open_sessions'))[0]?.value ?? 0,
        funnel: steps, clickhouse,
      }));
      last = cur;
    } catch (err) {
      deps.print(`[status] could not read the figures: ${(err as Error).message}`);
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), deps.everyMs);
  return { stop: () => clearInterval(timer) };
}
