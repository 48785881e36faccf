/**
 * One phase of a run: the load loop (the stream's records at the target rate every tick, a marker
 * each second), dashboard users and samplers meanwhile, live progress, then the drain; and the
 * verification of what was stored, in a process of its own.
 */
import { randomUUID } from 'node:crypto';
import type { WriteStream } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { GeneratedRecord } from '../generator/simulate.js';
import type { BenchArgs } from './args.js';
import { fmtRate, say } from './bench-log.js';
import { sleep, spawnNode, waitFor, type Child } from './children.js';
import type { Load } from './load.js';
import { parseScrape, quantilesBetween, valueOf, type Scrape } from './prom.js';
import { readMachineCpu, readThreads, threadDelta, type ProcMonitor } from './proc.js';
import { createMarkers, startMarkerPoller, type createDashboardUsers } from './readers.js';
import type { PhaseResult, Window } from './run-types.js';
import { createStream, PRIME_S, STREAM_DEFAULTS, type Stream } from './stream.js';
import type { VerifyResult } from './verify.js';

const TICK_MS = 10;
const PROGRESS_MS = 5_000;
export const DRAIN_MS = 180_000;

/** The measured window; its end moves earlier when the run is stopped early (Ctrl-C). */
export function windowOf(args: BenchArgs, t0: number): Window {
  const start = t0 + args.warmupS * 1000;
  const w: Window = { start, end: start + args.durationS * 1000, contains: (ms: number) => ms >= w.start && ms < w.end };
  return w;
}

/**
 * The phase's stream, run for PRIME_S of simulated time first (visits under way, users inside their
 * timeout), so the run starts in the steady mix; at 10k/s this takes tens of CPU seconds, before t0.
 */
export function primedStream(args: BenchArgs): Stream {
  const stream = createStream({ seed: args.seed, population: args.population, ...STREAM_DEFAULTS });
  const started = Date.now();
  say(`priming the stream: ${PRIME_S} s of the shop at ${args.rate.toLocaleString('en')}/s (${args.population.toLocaleString('en')} users), nothing sent…`);
  let end = Date.now();
  stream.prime(args.rate, end);
  // Catch up with the time the prime took, else the events due meanwhile would all be sent at once, late.
  for (let now = Date.now(); now - end > 100; now = Date.now()) { stream.prime(args.rate, now, (now - end) / 1000); end = now; }
  say(`stream primed in ${((Date.now() - started) / 1000).toFixed(1)} s: ${stream.pending.toLocaleString('en')} visits under way or due back`);
  return stream;
}

/** Set by the first Ctrl-C: the load loop stops sending, the window ends there, and the run drains briefly and reports. */
export const earlyStop = { requested: false, atMs: 0 };
const EARLY_DRAIN_MS = 30_000;
/** Session freshness in the progress line: over about this last stretch of scrapes. */
const RECENT_MS = 30_000;

export async function drive(o: {
  name: string; args: BenchArgs; t0: number; window: Window; load: Load; log: WriteStream; stream: Stream;
  users?: ReturnType<typeof createDashboardUsers>;
  fetchMarkers: () => Promise<string[]>;
  procs: ProcMonitor; procNames: string[];
  inFlight: () => number; analyticsInFlight: () => number; acked: () => number;
  /** The system under test's /metrics text (scraped every 5 s). */
  scrape?: () => Promise<string>;
  /** Called once a second (e.g. to count the baseline's rows). */
  poll?: () => Promise<void>;
  drainedExtra?: () => boolean;
  /** Records handed over but not yet taken in by the system when the drain ended (in Kafka, or requests unanswered). */
  backlog: () => number;
  /** Processes whose threads to account for, by name. */
  threadPids?: Record<string, number>;
}): Promise<PhaseResult> {
  const { args, t0, window, load } = o;
  const { stream } = o;
  const markers = createMarkers(randomUUID());
  await sleep(Math.max(0, t0 - Date.now()));
  const poller = startMarkerPoller(markers, o.fetchMarkers, t0);
  o.users?.start(t0);

  const inFlightSamples: { s: number; v: number; a: number }[] = [];
  const scrapes: Scrape[] = [];
  const sampler = setInterval(() => inFlightSamples.push({ s: Math.floor((Date.now() - t0) / 1000), v: o.inFlight(), a: o.analyticsInFlight() }), 100);
  let polling = false;
  let ticks = 0;
  const secondly = setInterval(() => {
    if (polling) return;
    polling = true;
    void (async () => {
      // /metrics every 5 s, not every second: prom-client's default metrics read /proc/self/fd and list
      // active handles, which costs the system under test O(open sockets) per scrape (10,000+ here).
      if (o.scrape && ticks++ % 5 === 0) {
        const text = await o.scrape().catch(() => undefined);
        if (text !== undefined) scrapes.push(parseScrape(text));
      }
      await o.poll?.().catch(() => undefined);
    })().finally(() => { polling = false; });
  }, 1000);
  let lastProgress = { at: t0, sent: 0, acked: 0 };
  const progress = setInterval(() => {
    const now = Date.now();
    const dt = (now - lastProgress.at) / 1000;
    const acked = o.acked();
    const stage = now < window.start ? 'warm-up' : now < window.end ? 'measured' : 'draining';
    const recentQ = o.users ? o.users.p99PerSecond().filter(([s]) => s >= (now - t0) / 1000 - 5).map(([, v]) => v) : [];
    const cores = o.procNames.map((n) => {
      const s = o.procs.samples(n);
      const a = s.find((x) => x.atMs >= now - PROGRESS_MS);
      const b = s[s.length - 1];
      return a && b && b.atMs > a.atMs ? `${n} ${((b.cpuS - a.cpuS) / ((b.atMs - a.atMs) / 1000)).toFixed(2)}` : undefined;
    }).filter(Boolean).join(' ');
    const last = markers.freshness.entries().at(-1);
    const [sa, sb] = [scrapes.find((x) => x.atMs >= now - RECENT_MS - 5_000), scrapes.at(-1)];
    const storedRate = sa && sb && sb.atMs > sa.atMs ? ((valueOf(sb, 'speed_layer_events_stored_total') ?? 0) - (valueOf(sa, 'speed_layer_events_stored_total') ?? 0)) / ((sb.atMs - sa.atMs) / 1000) : undefined;
    const sessionP99 = quantilesBetween(sa, sb, 'speed_layer_session_freshness_seconds').p99;
    const open = valueOf(sb, 'speed_layer_open_sessions');
    say(`${o.name} ${stage.padEnd(8)} t=${((now - t0) / 1000).toFixed(0).padStart(4)}s  sent ${fmtRate((load.counters.sent - lastProgress.sent) / dt)}/s  ` +
      `${o.name === 'baseline' ? 'stored' : args.mode === 'kafka' ? 'delivered' : 'answered'} ${fmtRate((acked - lastProgress.acked) / dt)}/s  in-flight ${o.inFlight()}  ` +
      `freshness ${last ? `${(last[1] / 1000).toFixed(1)} s` : '–'} (oldest unseen ${(markers.lag(now) / 1000).toFixed(1)} s)  ` +
      (o.scrape ? `stored ${storedRate === undefined ? '–' : fmtRate(storedRate)}/s  session freshness p99 ${sessionP99 === null ? '–' : `${sessionP99} s`}  open sessions ${open ?? '–'}  ` : '') +
      (o.users ? `queries p99 ${recentQ.length ? Math.max(...recentQ) : '–'} ms  ` : '') +
      `cores: ${cores}  RSS ${o.procNames.map((n) => `${n} ${Math.round(o.procs.last(n)?.rssMiB ?? 0)}`).join(' ')} MiB`);
    lastProgress = { at: now, sent: load.counters.sent, acked };
  }, PROGRESS_MS);

  let machineAtStart: ReturnType<typeof readMachineCpu> | undefined;
  let machineBusyS: number | undefined;
  const threadsAtStart = new Map<string, Map<string, number>>();
  const threads: Record<string, { thread: string; cpu_s: number }[]> = {};
  let atWindowEnd: (() => void) | undefined;
  const machineTimers = [
    setTimeout(() => {
      machineAtStart = readMachineCpu();
      for (const [n, pid] of Object.entries(o.threadPids ?? {})) threadsAtStart.set(n, readThreads(pid));
    }, Math.max(0, window.start - Date.now())),
    setTimeout(atWindowEnd = () => {
      atWindowEnd = undefined;
      // Scaled to the window's length: a late timer would otherwise count more than the window.
      if (machineAtStart) { const now = readMachineCpu(); machineBusyS = ((now.busyS - machineAtStart.busyS) / (now.totalS - machineAtStart.totalS)) * availableParallelism() * ((window.end - window.start) / 1000); }
      for (const [n, pid] of Object.entries(o.threadPids ?? {})) threads[n] = threadDelta(threadsAtStart.get(n) ?? new Map(), readThreads(pid));
    }, Math.max(0, window.end - Date.now())),
  ];
  // The generator: every tick, the records due by now at the target rate, plus a marker each second.
  let generated = 0;
  let nextMarker = t0;
  let maxTickGapMs = 0;
  let lastTick = t0;
  const sendEnd = window.end;
  const markerSet = new Set<GeneratedRecord>();
  while (Date.now() < sendEnd && !earlyStop.requested) {
    const now = Date.now();
    maxTickGapMs = Math.max(maxTickGapMs, now - lastTick);
    lastTick = now;
    const due = Math.floor((args.rate * (Math.min(now, sendEnd) - t0)) / 1000) - generated;
    const records = due > 0 ? stream.take(due, now) : [];
    generated += Math.max(0, due);
    if (now >= nextMarker) {
      const m = markers.make(now, randomUUID);
      markerSet.add(m);
      records.push(m);
      nextMarker += 1000;
    }
    if (records.length) load.send(records, now, markerSet);
    await sleep(Math.max(0, TICK_MS - (Date.now() - now)));
  }
  const early = earlyStop.requested;
  if (early) {
    // Stopped early: the window ends where sending did (a stop during the warm-up measures all of it).
    window.end = Math.min(window.end, Math.max(earlyStop.atMs, t0 + 1000));
    if (window.end <= window.start) window.start = t0;
    clearTimeout(machineTimers[1]);
    atWindowEnd?.();
  }
  const drainMs = early ? EARLY_DRAIN_MS : DRAIN_MS;
  say(`${o.name}: sending stopped after ${load.counters.sent.toLocaleString('en')} records; waiting for every answer and the last marker (up to ${drainMs / 1000} s)…`);
  const drainEnd = Date.now() + drainMs;
  let drained = await load.drain(drainMs);
  if (o.drainedExtra) drained = (await waitFor(o.drainedExtra, Math.max(0, drainEnd - Date.now()), 250)) && drained;
  await waitFor(() => markers.allSeen(), Math.max(5_000, Math.min(30_000, drainEnd - Date.now())), 200);
  const backlogAtStop = Math.max(0, o.backlog());
  o.users?.stop();
  await poller.stop();
  clearInterval(sampler); clearInterval(secondly); clearInterval(progress);
  for (const t of machineTimers) clearTimeout(t);
  await new Promise<void>((r) => o.log.end(r));
  o.procs.sample();
  say(`${o.name}: ${drained ? 'drained' : `NOT drained after ${drainMs / 1000} s: ${backlogAtStop.toLocaleString('en')} records not yet taken in`}; markers seen ${markers.seenCount}/${markers.sent}`);

  const perSecond = (key: 'v' | 'a') => {
    const sums = new Map<number, { sum: number; n: number }>();
    for (const x of inFlightSamples) {
      const e = sums.get(x.s) ?? { sum: 0, n: 0 };
      e.sum += x[key]; e.n++;
      sums.set(x.s, e);
    }
    const last = Math.max(0, ...sums.keys());
    return Array.from({ length: last + 1 }, (_, s) => { const e = sums.get(s); return e ? e.sum / e.n : 0; });
  };
  return {
    name: o.name, t0, windowStart: window.start, windowEnd: window.end, sendEnd, load, markers, users: o.users,
    inFlight: perSecond('v'), analyticsInFlight: perSecond('a'), maxTickGapMs, scrapes, stoppedEarly: early,
    gauge: scrapes.flatMap((x) => { const v = valueOf(x, 'speed_layer_in_flight_requests'); return v === null ? [] : [[(x.atMs - t0) / 1000, v] as [number, number]]; }), drained, backlogAtStop, machineBusyS, threads,
  };
}

export async function runVerify(runDir: string, dataDir: string, database: string, sentFile: string, phase: PhaseResult, children: Child[], sinceMs?: number): Promise<VerifyResult> {
  say(`verifying ${database}: every id sent against what ClickHouse stored…`);
  let out = '';
  const child = spawnNode('verify', ['bench/verify.ts', JSON.stringify({ dataDir, database, sentFile, t0Ms: phase.t0, windowStartMs: phase.windowStart, windowEndMs: phase.windowEnd, sinceMs })], {
    logFile: join(runDir, `verify-${database}.log`), onLine: (l) => { if (l.startsWith('{')) out = l; },
  });
  children.push(child);
  const timer = setTimeout(() => void child.stop(5_000), 10 * 60_000);
  const code = await child.exited;
  clearTimeout(timer);
  if (code !== 0 || !out) throw new Error(`verification failed (exit ${code}); see ${join(runDir, `verify-${database}.log`)}`);
  return JSON.parse(out) as VerifyResult;
}

