/** The run's summary: the figures of each phase, the targets, the series; and its printed headline. */
import { availableParallelism, loadavg } from 'node:os';
import { values as chartValues } from '../charts/values.js';
import type { loadConfig } from '../functions/core/config.js';
import type { BenchArgs } from './args.js';
import { gitState } from './helpers.js';
import { simulateKpa, type KpaPoint, type KpaSpec } from './kpa.js';
import type { ProcMonitor } from './proc.js';
import type { OursResult, PhaseResult, TheirsResult } from './run-types.js';
import { valueOf } from './prom.js';
import { flatness, perMinute, sessionFigures } from './session-figures.js';
import { percentiles, round, type Percentiles } from './stats.js';
import { checkTargets, TARGETS } from './targets.js';
import type { VerifyResult } from './verify.js';

function kpaSpecs(): { ingest: KpaSpec; analytics: KpaSpec } {
  const f = chartValues.functions;
  const u = chartValues.inputs.targetUtilization;
  return {
    ingest: { target: f.ingest.targetConcurrency, utilization: u, minScale: f.ingest.minScale, maxScale: f.ingest.maxScale },
    analytics: { target: f.analytics.targetConcurrency, utilization: u, minScale: f.analytics.minScale, maxScale: f.analytics.maxScale },
  };
}

function phaseFigures(args: BenchArgs, p: PhaseResult, v: VerifyResult, procs: ProcMonitor, cpuOf: string[]) {
  const inWindow = (ms: number) => ms >= p.windowStart && ms < p.windowEnd;
  const windowS = (p.windowEnd - p.windowStart) / 1000;
  const sentInWindow = p.load.sentSeries.entries().filter(([s]) => inWindow(p.t0 + s * 1000)).reduce((a, [, n]) => a + n, 0);
  const fresh = p.markers.results(inWindow);
  const freshness: Percentiles & { missing: number } = { ...percentiles(fresh.values), missing: fresh.missing };
  const processes: Record<string, { cpu_s: number | undefined; cores: number | undefined; peak_rss_mib: number | undefined }> = {};
  for (const name of procs.names()) {
    const cpu = procs.cpuBetween(name, p.windowStart, p.windowEnd);
    const span = procs.spanBetween(name, p.windowStart, p.windowEnd);
    processes[name] = { cpu_s: cpu === undefined ? undefined : round(cpu, 2), cores: cpu !== undefined && span ? round(cpu / span, 2) : undefined, peak_rss_mib: Math.round(procs.peakRss(name) ?? 0) };
  }
  const cpuS = cpuOf.reduce((a, n) => a + (procs.cpuBetween(n, p.windowStart, p.windowEnd) ?? 0), 0);
  const ourCpuS = Object.values(processes).reduce((a, x) => a + (x.cpu_s ?? 0), 0);
  const machine = p.machineBusyS === undefined ? undefined : {
    busy_cores: round(p.machineBusyS / windowS, 2),
    // What the rest of the machine (other people's tests, the OS) took while this ran: the figures above are under that contention.
    other_processes_cores: round(Math.max(0, p.machineBusyS - ourCpuS) / windowS, 2),
  };
  const stored = v.window.rows_stored;
  return {
    sent: sentInWindow,
    sent_total: p.load.counters.sent,
    stored,
    stored_total: v.stored.events + v.stored.transactions,
    lost: v.lost.events + v.lost.transactions,
    lost_sample: v.lost.sample,
    duplicates: v.duplicates,
    duplicate_rows: v.duplicate_rows,
    unexpected_rows: v.unexpected_rows,
    events_per_s: Math.round(stored / windowS),
    sent_per_s: Math.round(sentInWindow / windowS),
    freshness_ms: freshness,
    store_latency_ms: v.store_latency_ms,
    cpu_s_per_million: stored > 0 ? round(cpuS / (stored / 1e6), 1) : undefined,
    cpu_s_counted: { processes: cpuOf, cpu_s: round(cpuS, 1) },
    processes,
    clickhouse: { parts_active: v.parts.active, parts_by_table: v.parts.by_table, parts_active_max: partsMax(p) },
    dead_letters: { invalid_sent: v.sent.invalid, stored: v.dead_letters },
    drained: p.drained,
    backlog_at_stop: p.backlogAtStop,
    generator_max_tick_gap_ms: p.maxTickGapMs,
    machine,
  };
}

/** The most active parts seen in any scrape of the run (all tables; the sessionizer counts them every 10 s). */
function partsMax(p: PhaseResult): number | null {
  const seen = p.scrapes.map((x) => valueOf(x, 'speed_layer_clickhouse_active_parts')).filter((n): n is number => n !== null);
  return seen.length ? Math.max(...seen) : null;
}

export function buildSummary(args: BenchArgs, runId: string, config: ReturnType<typeof loadConfig>, ours: OursResult, theirs: TheirsResult | undefined, procs: ProcMonitor) {
  const p = ours.phase;
  const inWindow = (ms: number) => ms >= p.windowStart && ms < p.windowEnd;
  const fig = phaseFigures(args, p, ours.verify, procs, ['sut', ...(args.mode === 'kafka' ? ['dispatcher'] : [])]);
  const spec = kpaSpecs();
  const kpaIngest = simulateKpa(p.inFlight, spec.ingest);
  const kpaAnalytics = simulateKpa(p.analyticsInFlight, spec.analytics);
  const inWin = (k: KpaPoint[]) => k.filter((x) => inWindow(p.t0 + x.t * 1000));
  const q = p.users;
  const byEndpoint = q ? Object.fromEntries([...q.byPath.entries()].map(([path, r]) => { const x = r.percentiles(); return [path, { p50: x.p50, p99: x.p99, count: x.count }]; })) : {};
  const theirsFig = theirs ? phaseFigures(args, theirs.phase, theirs.verify, procs, ['baseline']) : undefined;
  const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b ? round(a / b, 2) : undefined);
  const qp = q?.latency.percentiles();
  const sessions = sessionFigures(p, procs);
  const minutes = perMinute(p, procs);
  const soak = args.durationS >= TARGETS.soak.minS ? flatness(minutes, TARGETS.soak.compareS) : null;
  const targets = checkTargets(args, {
    eventsPerS: fig.events_per_s, sentPerS: fig.sent_per_s, lost: fig.lost, freshness: fig.freshness_ms,
    queryP99Ms: qp?.p99, queryCount: qp?.count ?? 0,
    sessionFreshnessP99S: sessions.session_freshness_s.p99, sessionizerRunP99S: sessions.sessionizer_run_s.p99, sessionizerCores: sessions.sessionizer_cpu.cores,
  });
  return {
    run: runId,
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`,
    mode: args.mode,
    rate_target: args.rate,
    duration_s: args.durationS,
    stopped_early: p.stoppedEarly || undefined,
    measured_s: round((p.windowEnd - p.windowStart) / 1000, 1),
    history_sessions: args.history,
    warmup_s: args.warmupS,
    concurrent_users: args.users,
    sent: fig.sent,
    stored: fig.stored,
    lost: fig.lost,
    lost_note: (fig.drained ? 'every valid id sent and not stored; the run drained' : `every valid id sent and not stored; the run did not drain: ${fig.backlog_at_stop} records were still waiting (in Kafka or unanswered) when it stopped, so missing ids include that backlog`)
      + (p.load.counters.failed ? `; the load generator gave up on ${p.load.counters.failed} records after refusals (503) or transport errors: never acknowledged, those of them not stored count here` : ''),
    duplicates: fig.duplicates,
    events_per_s: fig.events_per_s,
    sent_per_s: fig.sent_per_s,
    freshness_ms: fig.freshness_ms,
    query_ms: qp ? { p50: qp.p50, p95: qp.p95, p99: qp.p99, max: qp.max, count: qp.count, failures: q!.failures, failure_reasons: q!.failureReasons, by_endpoint: byEndpoint } : undefined,
    request_ms: { ...p.load.latency.percentiles(), what: args.mode === 'kafka' ? (p.load.latency.count ? 'produce call to broker ack (kafkajs)' : 'not measured: kcat acknowledges asynchronously') : 'intended send to final answer (incl. retries)', retries: p.load.counters.retries, transport_errors: p.load.counters.errors, failed_records: p.load.counters.failed, statuses: p.load.counters.statuses },
    cpu_s_per_million: fig.cpu_s_per_million,
    sessions: { ...sessions, stored: ours.verify.sessions ?? null, soak_flatness_last_over_first: soak ?? undefined },
    baseline: theirsFig && theirs ? {
      what: theirs.settings,
      sent: theirsFig.sent, stored: theirsFig.stored, lost: theirsFig.lost, duplicates: theirsFig.duplicates,
      unexpected_rows: theirsFig.unexpected_rows, dead_letters: theirsFig.dead_letters,
      events_per_s: theirsFig.events_per_s, freshness_ms: theirsFig.freshness_ms, store_latency_ms: theirsFig.store_latency_ms,
      cpu_s_per_million: theirsFig.cpu_s_per_million, processes: { baseline: theirsFig.processes.baseline, broker: theirsFig.processes.broker },
      threads_cpu_s_in_window: (theirs.phase.threads.baseline ?? []).slice(0, 12),
      parts_active: theirsFig.clickhouse.parts_active, drained: theirsFig.drained, backlog_at_stop: theirsFig.backlog_at_stop,
      ratio_ours_to_theirs: { events_per_s: ratio(fig.events_per_s, theirsFig.events_per_s), cpu_s_per_million: ratio(fig.cpu_s_per_million, theirsFig.cpu_s_per_million) },
    } : undefined,
    details: {
      sent_total: fig.sent_total, stored_total: fig.stored_total, lost_sample: fig.lost_sample, duplicate_rows: fig.duplicate_rows,
      unexpected_rows: fig.unexpected_rows, store_latency_ms: fig.store_latency_ms, dead_letters: fig.dead_letters,
      drained: fig.drained, backlog_at_stop: fig.backlog_at_stop, generator_max_tick_gap_ms: fig.generator_max_tick_gap_ms, markers: { sent: p.markers.sent, seen: p.markers.seenCount },
      dispatcher: p.dispatcher, metrics: p.metrics, sut_exit_code: ours.sutExit,
    },
    cpu: fig.cpu_s_counted,
    processes: fig.processes,
    threads_cpu_s_in_window: Object.fromEntries(Object.entries(p.threads).map(([n, list]) => [n, list.slice(0, 12)])),
    clickhouse: fig.clickhouse,
    autoscaling: {
      source: process.env.KUBECONFIG ? 'simulated KPA (KUBECONFIG is set, but reading real replica counts is not implemented: no cluster to test against here)' : 'simulated KPA from the observed in-flight requests (no cluster here)',
      in_flight_measured: args.mode === 'kafka' ? 'requests the dispatcher has in flight to ingest (what the queue-proxy would count)' : 'requests the load generator has in flight to ingest (incl. those waiting for a socket)',
      gauge_note: 'speed_layer_in_flight_requests (scraped every 5 s from ingest, in the series) counts the ingest function only',
      ingest: { ...spec.ingest, from: 'charts/values.ts', max_replicas: Math.max(0, ...kpaIngest.map((k) => k.desired)), replicas_in_window: summarizeReplicas(inWin(kpaIngest)), max_in_flight_avg_1s: Math.round(Math.max(0, ...p.inFlight)), panicked: kpaIngest.some((k) => k.panicking) },
      analytics: { ...spec.analytics, from: 'charts/values.ts', max_replicas: Math.max(0, ...kpaAnalytics.map((k) => k.desired)), replicas_in_window: summarizeReplicas(inWin(kpaAnalytics)), max_in_flight_avg_1s: Math.round(Math.max(0, ...p.analyticsInFlight)) },
    },
    targets,
    profile: ours.profiles.length ? ours.profiles.map((s) => ({ file: s.file, busy_s: round(s.busy_ms / 1000, 1), areas: s.areas.slice(0, 12), self: s.self.slice(0, 15), total: s.total.slice(0, 15) })) : undefined,
    environment: {
      cores: availableParallelism(), loadavg_at_end: loadavg().map((x) => round(x, 2)),
      machine_in_window: fig.machine,
      git: gitState(),
      speed_layer_config: { BATCH_MAX_ROWS: config.BATCH_MAX_ROWS, BATCH_MAX_AGE_MS: config.BATCH_MAX_AGE_MS, BUFFER_MAX_ROWS: config.BUFFER_MAX_ROWS, DEDUPE_WINDOW: config.DEDUPE_WINDOW },
      population: args.population, seed: args.seed, connections: args.mode === 'kafka' ? undefined : args.connections,
      batch_size: args.mode === 'batch' ? args.batchSize : undefined, dispatcher_in_flight: args.mode === 'kafka' ? args.dispatcherInFlight : undefined, dispatcher_batch: args.mode === 'kafka' ? args.dispatcherBatch : undefined,
    },
    series: {
      t0: new Date(p.t0).toISOString(),
      per_second: seriesRows(p, ours.verify, kpaIngest, kpaAnalytics),
      per_minute: minutes,
      gauge_in_flight: p.gauge.map(([t, v]) => [round(t, 1), v]),
      baseline: theirs ? seriesRows(theirs.phase, theirs.verify) : undefined,
    },
  };
}
export type Summary = ReturnType<typeof buildSummary>;

function summarizeReplicas(points: KpaPoint[]) {
  if (!points.length) return undefined;
  const d = points.map((x) => x.desired);
  return { min: Math.min(...d), max: Math.max(...d), mean: round(d.reduce((a, b) => a + b, 0) / d.length, 2) };
}

function seriesRows(p: PhaseResult, v: VerifyResult, kpa?: KpaPoint[], kpaA?: KpaPoint[]) {
  const stored = new Map(v.per_second.map((r) => [r.s, r]));
  const last = Math.max(p.inFlight.length - 1, ...v.per_second.map((r) => r.s), 0);
  const q = new Map(p.users?.p99PerSecond() ?? []);
  return Array.from({ length: last + 1 }, (_, s) => ({
    s,
    sent: p.load.sentSeries.get(s),
    acked: p.load.ackedSeries.get(s) || undefined,
    stored: stored.get(s)?.stored ?? 0,
    store_latency_p99_ms: stored.get(s)?.latency_p99,
    marker_freshness_ms: p.markers.freshness.get(s) || undefined,
    in_flight: Math.round(p.inFlight[s] ?? 0),
    replicas: kpa?.[s]?.desired,
    analytics_in_flight: kpaA ? round(p.analyticsInFlight[s] ?? 0, 1) : undefined,
    analytics_replicas: kpaA?.[s]?.desired,
    query_p99_ms: q.get(s),
  }));
}


const fmtS = (v: number | null) => (v === null ? '–' : `${v} s`);

export function printHeadline(s: Summary) {
  const f = s.freshness_ms;
  console.log(`
${s.mode} at ${s.rate_target.toLocaleString('en')} events/s for ${s.measured_s} s${s.stopped_early ? ` (stopped early by hand; ${s.duration_s} s planned)` : ''} (after ${s.warmup_s} s warm-up), ${s.concurrent_users} dashboard users
  sent ${s.sent_per_s.toLocaleString('en')}/s · stored ${s.events_per_s.toLocaleString('en')}/s · lost ${s.lost} · duplicates ${s.duplicates}
  freshness p50/p95/p99 ${f.p50}/${f.p95}/${f.p99} ms (${f.count} markers, ${f.missing} never seen) · stored p99 ${s.details.store_latency_ms?.p99 ?? '–'} ms
  query p50/p99 ${s.query_ms ? `${s.query_ms.p50}/${s.query_ms.p99} ms (${s.query_ms.count} queries, ${s.query_ms.failures} failed)` : '–'}
  request p50/p99 ${s.request_ms.p50}/${s.request_ms.p99} ms (${s.request_ms.what})
  CPU s per million events ${s.cpu_s_per_million ?? '–'} (${s.cpu.processes.join(' + ')}) · ` +
    Object.entries(s.processes).map(([n, p]) => `${n} ${p.cores ?? '–'} cores, peak ${p.peak_rss_mib} MiB`).join(' · ') + `
  sessions: freshness p50/p99 ${fmtS(s.sessions.session_freshness_s.p50)}/${fmtS(s.sessions.session_freshness_s.p99)} · sessionizer run p50/p99 ${fmtS(s.sessions.sessionizer_run_s.p50)}/${fmtS(s.sessions.sessionizer_run_s.p99)} (${s.sessions.sessionizer_run_s.count ?? '–'} runs, busy ${s.sessions.sessionizer_cpu.run_busy_share ?? '–'} of the time; sut ${s.sessions.sessionizer_cpu.sut_cores ?? '–'} cores) · stored ${s.sessions.stored?.stored ?? '–'} (${s.sessions.stored?.closed ?? '–'} closed) · open ${s.sessions.open_sessions.at_end ?? '–'}
  ClickHouse active parts ${s.clickhouse.parts_active} at the end, ${s.clickhouse.parts_active_max ?? '–'} at most · KPA ingest replicas max ${s.autoscaling.ingest.max_replicas} (max-scale ${s.autoscaling.ingest.maxScale})` +
    (s.baseline ? `
  baseline (ClickHouse Kafka engine): stored ${s.baseline.events_per_s.toLocaleString('en')}/s, lost ${s.baseline.lost}, freshness p99 ${s.baseline.freshness_ms.p99} ms, ${s.baseline.cpu_s_per_million ?? '–'} CPU s per million
  ours/theirs: events/s ${s.baseline.ratio_ours_to_theirs.events_per_s ?? '–'} · CPU s per million ${s.baseline.ratio_ours_to_theirs.cpu_s_per_million ?? '–'}` : '') + `
  targets: ${Object.entries(s.targets).filter(([k]) => k !== 'required').map(([k, v]) => `${k} ${v === null ? '–' : v ? 'yes' : 'NO'}`).join(' · ')}
`);
}

