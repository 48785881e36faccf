import type { Metrics } from './metrics.js';

/**
 * Metrics updated in one thread and applied in another: the sessionizer's worker thread (see
 * functions/sessionizer/thread.ts) records each update, and the main thread replays them on the
 * metrics it exports, so /metrics stays one registry. Consecutive calls of one method of one metric
 * travel as one entry (a run observes its freshness once per event).
 */
export type MetricName = Exclude<keyof Metrics, 'registry'>;
const METHODS = ['inc', 'dec', 'set', 'observe', 'reset'] as const;
type Method = (typeof METHODS)[number];
export type RelayedCalls = { readonly metric: MetricName; readonly method: Method; readonly calls: unknown[][] };

/**
 * A Metrics whose updates are recorded, not applied: `flush` is called once per turn of the event
 * loop with what was recorded since the last. Only updates (no reads) are available.
 */
export function recordingMetrics(names: readonly MetricName[], flush: (batch: RelayedCalls[]) => void): Metrics {
  let batch: RelayedCalls[] = [];
  const record = (metric: MetricName, method: Method, args: unknown[]) => {
    if (!batch.length) setImmediate(() => { const b = batch; batch = []; flush(b); });
    const last = batch[batch.length - 1];
    if (last && last.metric === metric && last.method === method) last.calls.push(args);
    else batch.push({ metric, method, calls: [args] });
  };
  const metrics: Record<string, unknown> = {};
  for (const metric of names) {
    metrics[metric] = Object.fromEntries(METHODS.map((method) => [method, (...args: unknown[]) => record(metric, method, args)]));
  }
  return metrics as unknown as Metrics;
}

/** Applies relayed updates; an unknown metric or method (another version's worker) is skipped. */
export function applyRelayed(metrics: Metrics, batch: readonly RelayedCalls[]): void {
  for (const { metric, method, calls } of batch) {
    const target = metrics[metric] as unknown as Record<string, ((...a: unknown[]) => void) | undefined> | undefined;
    const fn = METHODS.includes(method) ? target?.[method] : undefined;
    if (!fn) continue;
    for (const args of calls) fn.apply(target, args);
  }
}

/** The names to record: every metric but the registry. */
export const metricNames = (metrics: Metrics): MetricName[] => Object.keys(metrics).filter((k): k is MetricName => k !== 'registry');
