/**
 * Session figures of a phase, from the system under test's /metrics scrapes (bench/prom.ts):
 * session freshness and sessionizer run percentiles over the measured window, open sessions, and a
 * per-minute series (stored/s, session freshness p99, run p99, RSS of each process). A metric the
 * system does not export yet reads null.
 */
import type { ProcMonitor } from './proc.js';
import { quantilesBetween, valueOf, type Scrape } from './prom.js';
import type { PhaseResult } from './run-types.js';

const FRESHNESS = 'speed_layer_session_freshness_seconds';
const RUN = 'speed_layer_sessionizer_run_duration_seconds';
const OPEN = 'speed_layer_open_sessions';
const STORED = 'speed_layer_events_stored_total';
/** A scrape counts for a window edge when it is this close to it (scrapes are 5 s apart). */
const EDGE_MS = 3_000;

/** The scrapes nearest inside [fromMs, toMs]: the first at or after the start, the last at or before the end. */
export function scrapesAround(scrapes: Scrape[], fromMs: number, toMs: number): [Scrape | undefined, Scrape | undefined] {
  const a = scrapes.find((x) => x.atMs >= fromMs - EDGE_MS);
  const b = [...scrapes].reverse().find((x) => x.atMs <= toMs + EDGE_MS);
  return a && b && b.atMs > a.atMs ? [a, b] : [undefined, undefined];
}

export function sessionFigures(p: PhaseResult, procs: ProcMonitor) {
  const [a, b] = scrapesAround(p.scrapes, p.windowStart, p.windowEnd);
  const spanS = a && b ? (b.atMs - a.atMs) / 1000 : null;
  const run = quantilesBetween(a, b, RUN);
  const sutCpu = procs.cpuBetween('sut', p.windowStart, p.windowEnd);
  const sutSpan = procs.spanBetween('sut', p.windowStart, p.windowEnd);
  const opens = p.scrapes.filter((x) => x.atMs >= p.windowStart && x.atMs <= p.windowEnd).map((x) => valueOf(x, OPEN)).filter((v): v is number => v !== null);
  return {
    session_freshness_s: quantilesBetween(a, b, FRESHNESS),
    sessionizer_run_s: { ...run, runs_per_s: run.count !== null && spanS ? Math.round((run.count / spanS) * 100) / 100 : null },
    sessionizer_cpu: {
      sut_cores: sutCpu !== undefined && sutSpan ? Math.round((sutCpu / sutSpan) * 100) / 100 : null,
      // Wall-clock share of the window a run was under way (its run-duration sum over the window).
      run_busy_share: run.sum !== null && spanS ? Math.round((run.sum / spanS) * 1000) / 1000 : null,
      cores: null as number | null,
      note: 'the sessionizer runs inside the system under test (scripts/start.ts), its queries in the same embedded ClickHouse, which keeps no system.query_log: its own CPU cannot be told apart here; sut_cores bounds it, run_busy_share says how much of the time a run was under way',
    },
    open_sessions: { at_end: valueOf(b, OPEN), max_in_window: opens.length ? Math.max(...opens) : null },
    scrapes: { count: p.scrapes.length, window_s: spanS },
  };
}
export type SessionFigures = ReturnType<typeof sessionFigures>;

/** One row per whole minute since t0 that has two scrapes, with the RSS of every watched process at the minute's end. */
export function perMinute(p: PhaseResult, procs: ProcMonitor) {
  const rows = [];
  const lastMs = p.scrapes.at(-1)?.atMs ?? p.t0;
  for (let m = 0; p.t0 + (m + 1) * 60_000 <= lastMs + EDGE_MS; m++) {
    const from = p.t0 + m * 60_000, to = from + 60_000;
    const [a, b] = scrapesAround(p.scrapes, from, to);
    const spanS = a && b ? (b.atMs - a.atMs) / 1000 : null;
    const stored = (s: Scrape | undefined) => valueOf(s, STORED);
    const sa = stored(a), sb = stored(b);
    const rss: Record<string, number> = {};
    for (const name of procs.names()) {
      const s = [...procs.samples(name)].reverse().find((x) => x.atMs <= to);
      if (s && s.atMs >= from) rss[name] = Math.round(s.rssMiB);
    }
    rows.push({
      minute: m,
      measured: from >= p.windowStart - EDGE_MS && to <= p.windowEnd + EDGE_MS,
      stored_per_s: sa !== null && sb !== null && spanS ? Math.round((sb - sa) / spanS) : null,
      session_freshness_p99_s: quantilesBetween(a, b, FRESHNESS).p99,
      sessionizer_run_p99_s: quantilesBetween(a, b, RUN).p99,
      open_sessions: valueOf(b, OPEN),
      rss_mib: rss,
    });
  }
  return rows;
}
export type MinuteRow = ReturnType<typeof perMinute>[number];

/** A soak's flatness: the first `spanS` of the measured window against the last, for each figure (ratio last / first). */
export function flatness(rows: MinuteRow[], spanS: number) {
  const measured = rows.filter((r) => r.measured);
  const k = Math.floor(spanS / 60);
  if (measured.length < 2 * k || k === 0) return null;
  const mean = (xs: (number | null)[]) => { const v = xs.filter((x): x is number => x !== null); return v.length ? v.reduce((s, x) => s + x, 0) / v.length : null; };
  const ratio = (f: (r: MinuteRow) => number | null) => {
    const first = mean(measured.slice(0, k).map(f)), last = mean(measured.slice(-k).map(f));
    return first && last !== null ? Math.round((last / first) * 100) / 100 : null;
  };
  const names = [...new Set(measured.flatMap((r) => Object.keys(r.rss_mib)))];
  return {
    minutes_compared: k,
    session_freshness_p99: ratio((r) => r.session_freshness_p99_s),
    sessionizer_run_p99: ratio((r) => r.sessionizer_run_p99_s),
    stored_per_s: ratio((r) => r.stored_per_s),
    rss: Object.fromEntries(names.map((n) => [n, ratio((r) => r.rss_mib[n] ?? null)])),
  };
}
