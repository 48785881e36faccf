import { describe, expect, test } from 'vitest';
import { createMetrics } from '../../functions/core/metrics.js';
import { applyRelayed, metricNames, recordingMetrics, type RelayedCalls } from '../../functions/core/metrics-relay.js';

/** A series' value: a histogram's `_count` and `_sum` are series of the histogram's metric. */
const value = async (m: ReturnType<typeof createMetrics>, name: string, labels: Record<string, string> = {}) => {
  const series = (await m.registry.getMetricsAsJSON()).flatMap((x) => x.values.map((v) => ({ ...v, name: (v as { metricName?: string }).metricName ?? x.name })));
  return series.find((v) => v.name === name && Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
};

describe('metrics relayed from a worker thread', () => {
  test('updates are recorded in order, consecutive calls of one method travel together, and replay gives the same figures', async () => {
    const batches: RelayedCalls[][] = [];
    const worker = recordingMetrics(metricNames(createMetrics()), (b) => batches.push(b));
    worker.sessionFreshness.observe(0.5);
    worker.sessionFreshness.observe(2);
    worker.sessionFreshness.observe(7);
    worker.openSessions.set(41);
    worker.sessionsClosed.inc({ trigger: 'timeout' });
    worker.sessionsClosed.inc({ trigger: 'timeout' });
    worker.sessionsClosed.inc({ trigger: 'logout' });
    worker.openSessions.set(40);
    expect(batches).toEqual([]); // one message per turn of the event loop, not one per call
    await new Promise((r) => setImmediate(r));
    expect(batches).toHaveLength(1);
    expect(batches[0]!.map((b) => [b.metric, b.method, b.calls.length])).toEqual([
      ['sessionFreshness', 'observe', 3], ['openSessions', 'set', 1], ['sessionsClosed', 'inc', 3], ['openSessions', 'set', 1],
    ]);

    const main = createMetrics();
    applyRelayed(main, structuredClone(batches[0]!)); // as postMessage carries it
    expect(await value(main, 'speed_layer_session_freshness_seconds_count')).toBe(3);
    expect(await value(main, 'speed_layer_session_freshness_seconds_sum')).toBe(9.5);
    expect(await value(main, 'speed_layer_open_sessions')).toBe(40); // the last set wins
    expect(await value(main, 'speed_layer_sessions_closed_total', { trigger: 'timeout' })).toBe(2);
    expect(await value(main, 'speed_layer_sessions_closed_total', { trigger: 'logout' })).toBe(1);
  });

  test('a metric or method the main thread does not know is skipped, the rest applied', async () => {
    const main = createMetrics();
    applyRelayed(main, [
      { metric: 'noSuchMetric', method: 'inc', calls: [[]] },
      { metric: 'lateEvents', method: 'labels', calls: [['x']] },
      { metric: 'lateEvents', method: 'inc', calls: [[4]] },
    ] as unknown as RelayedCalls[]);
    expect(await value(main, 'speed_layer_late_events_total')).toBe(4);
  });
});
