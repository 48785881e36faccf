/** The run's plot: throughput, freshness and autoscaling over time, per second (bench/plot.ts draws it). */
import type { BenchArgs } from './args.js';
import type { Plot } from './plot.js';
import type { OursResult, TheirsResult } from './run-types.js';
import type { Summary } from './summary.js';
import { TARGETS } from './targets.js';

export function plotOf(args: BenchArgs, s: Summary, ours: OursResult, theirs?: TheirsResult): Plot {
  const rows = s.series.per_second;
  const b = s.series.baseline ?? [];
  const xMax = Math.max(rows.length, b.length, 10);
  const warm = (ours.phase.windowStart - ours.phase.t0) / 1000;
  const end = (ours.phase.windowEnd - ours.phase.t0) / 1000;
  const pts = (list: typeof rows, f: (r: (typeof rows)[number]) => number | undefined) => list.flatMap((r) => { const v = f(r); return v === undefined ? [] : [[r.s, v] as [number, number]]; });
  return {
    title: `speed-layer bench: ${args.mode} path at ${args.rate.toLocaleString('en')} events/s, ${args.users} dashboard users`,
    subtitle: [
      `speed layer: stored ${s.events_per_s.toLocaleString('en')}/s in the measured window, lost ${s.lost}, freshness p99 ${(s.freshness_ms.p99 / 1000).toFixed(1)} s, query p99 ${s.query_ms?.p99 ?? '–'} ms, ${s.cpu_s_per_million ?? '–'} CPU s per million events`,
      ...(s.baseline ? [`baseline, ClickHouse Kafka engine (grey; the same stream, run after ours): stored ${s.baseline.events_per_s.toLocaleString('en')}/s, freshness p99 ${(s.baseline.freshness_ms.p99 / 1000).toFixed(1)} s, ${s.baseline.cpu_s_per_million ?? '–'} CPU s per million`] : []),
    ],
    xMax,
    shade: [{ from: 0, to: warm, label: 'warm-up' }, ...(end < xMax ? [{ from: end, to: xMax, label: 'drain' }] : [])],
    panels: [
      {
        title: 'Throughput', unit: 'events/s',
        hlines: [{ y: args.rate, label: `target ${args.rate.toLocaleString('en')}/s`, color: '#888' }],
        lines: [
          { label: 'sent', points: pts(rows, (r) => r.sent), color: '#1f77b4' },
          { label: 'stored (speed layer)', points: pts(rows, (r) => r.stored), color: '#2ca02c' },
          ...(theirs ? [{ label: 'stored (Kafka engine)', points: pts(b, (r) => r.stored), color: '#7f7f7f', dashed: true }] : []),
        ],
      },
      {
        title: 'Freshness: sent → visible in the product view (markers); sent → stored p99 (all events)', unit: 'ms',
        hlines: [{ y: TARGETS.freshnessP99Ms, label: `target p99 ${TARGETS.freshnessP99Ms / 1000} s`, color: '#d62728' }],
        lines: [
          { label: 'marker freshness', points: pts(rows, (r) => r.marker_freshness_ms), color: '#ff7f0e', dots: true },
          { label: 'stored p99', points: pts(rows, (r) => r.store_latency_p99_ms), color: '#9467bd' },
          ...(theirs ? [{ label: 'marker freshness (Kafka engine)', points: pts(b, (r) => r.marker_freshness_ms), color: '#7f7f7f', dots: true }] : []),
          ...(args.users ? [{ label: 'query p99', points: pts(rows, (r) => r.query_p99_ms), color: '#17becf' }] : []),
        ],
      },
      {
        title: 'Autoscaling: ingest in-flight requests and the replicas Knative KPA would choose', unit: 'in-flight requests', rightUnit: 'replicas',
        lines: [
          { label: 'ingest in-flight', points: pts(rows, (r) => r.in_flight), color: '#8c564b' },
          { label: `ingest replicas (target ${s.autoscaling.ingest.target} × ${s.autoscaling.ingest.utilization}, max ${s.autoscaling.ingest.maxScale})`, points: pts(rows, (r) => r.replicas), color: '#000000', step: true, axis: 'right' },
          { label: `analytics replicas (max ${s.autoscaling.analytics.maxScale})`, points: pts(rows, (r) => r.analytics_replicas), color: '#e377c2', step: true, dashed: true, axis: 'right' },
        ],
      },
    ],
  };
}

