/**
 * CPU per event of the sessionizer's runs, ClickHouse included, on realistic visits (the bench
 * stream: ~20 s between a visit's events, so nearly every event changes an open session). One
 * process per implementation: embedded ClickHouse in a temporary folder, that checkout's migrations
 * and sessionizer; events are inserted into user_events_realtime at `--rate` in `--inserts` inserts
 * a second (as ingest does, each insert's rows one stored_at) on a simulated clock, and the
 * sessionizer runs every `--interval` ms of it. Only the runs are measured (inserts and runs take
 * turns): process CPU over every thread (process.cpuUsage), per thread from /proc, run wall time,
 * inbox rows read into JavaScript per run (from the run's debug log). Snapshots are off (their own
 * cost, every 5 minutes). Prints one JSON line per implementation; with --profile, the main thread's
 * profile of the measured runs alone (the load's making left out).
 *
 *   npx tsx bench/sessionizer-micro.ts [--rate 10000] [--seconds 180] [--warmup 40] [--interval 2000] [--inserts 10]
 *       [--impl DIR]... (checkouts' roots, measured one after another; default: this one) [--profile]
 *       [--backlog S [--max-rows N]]: after the warm-up, S seconds stored with no run, then worked off by
 *       runs back to back (a sessionizer catching up), at most N rows a run; events are the rows read
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { readThreads, threadDelta } from './proc.js';
import { defaultPopulation } from './population.js';
import { createStream } from './stream.js';
import { formatProfile, summarizeProfile } from './profile.js';
import { NODE_FLAGS } from '../functions/core/node-flags.js';

const { values: o } = parseArgs({
  options: {
    rate: { type: 'string', default: '10000' }, seconds: { type: 'string', default: '180' }, warmup: { type: 'string', default: '40' },
    interval: { type: 'string', default: '2000' }, inserts: { type: 'string', default: '10' }, impl: { type: 'string', multiple: true },
    backlog: { type: 'string', default: '0' }, 'max-rows': { type: 'string' }, profile: { type: 'boolean', default: false }, windows: { type: 'string' }, child: { type: 'boolean', default: false }, seed: { type: 'string', default: '11' },
  },
});
const rate = Number(o.rate), seconds = Number(o.seconds), warmupS = Number(o.warmup), intervalMs = Number(o.interval), insertsPerS = Number(o.inserts);
const impls = o.impl?.length ? o.impl : ['.'];
const backlogS = Number(o.backlog);

if (!o.child) {
  const self = fileURLToPath(import.meta.url);
  for (const impl of impls) {
    const profileDir = join(tmpdir(), `sess-micro-prof-${randomBytes(4).toString('hex')}`);
    // The system under test's V8 flags (functions/core/node-flags.ts): the default 16 MiB semi-space costs the runs ~10 µs an event more in GC.
    const args = [...(o.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), ...NODE_FLAGS, '--max-old-space-size=8000', '--import', 'tsx', self, '--child',
      '--impl', resolve(impl), '--rate', o.rate!, '--seconds', o.seconds!, '--warmup', o.warmup!, '--interval', o.interval!, '--inserts', o.inserts!, '--seed', o.seed!,
      '--backlog', o.backlog!, ...(o['max-rows'] ? ['--max-rows', o['max-rows']] : [])];
    const windowsFile = join(tmpdir(), `sess-micro-windows-${randomBytes(4).toString('hex')}.json`);
    if (o.profile) args.push('--windows', windowsFile);
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    await new Promise((r) => child.once('exit', r));
    process.stdout.write(out.split('\n').filter((l) => l.startsWith('{')).map((l) => `${l}\n`).join(''));
    if (o.profile) {
      const windows = JSON.parse(readFileSync(windowsFile, 'utf8')) as [number, number][];
      // The main thread's profile is the largest; the others are tsx's loader threads.
      const [main] = readdirSync(profileDir).filter((x) => x.endsWith('.cpuprofile')).map((f) => join(profileDir, f)).sort((a, b) => readFileSync(b).length - readFileSync(a).length);
      if (main) console.log(formatProfile(summarizeProfile(main, 40, windows), 40));
      console.log(`profiles in ${profileDir}`);
    }
  }
  process.exit(0);
}

// The child: one implementation.
const root = resolve(impls[0]!);
const { createClickHouse } = await import(join(root, 'functions/adapters/clickhouse.ts')) as typeof import('../functions/adapters/clickhouse.js');
const { migrate } = await import(join(root, 'functions/adapters/migrations.ts')) as typeof import('../functions/adapters/migrations.js');
const { createSessionizer } = await import(join(root, 'functions/sessionizer/sessionizer.ts')) as typeof import('../functions/sessionizer/sessionizer.js');
const { createMetrics } = await import(join(root, 'functions/core/metrics.ts')) as typeof import('../functions/core/metrics.js');
const { eventRow, transactionRow } = await import(join(root, 'functions/steps/to-row.ts')) as typeof import('../functions/steps/to-row.js');
const { default: pino } = await import('pino');

const dataDir = join(tmpdir(), `sess-micro-${randomBytes(4).toString('hex')}`);
mkdirSync(dataDir, { recursive: true });
process.on('exit', () => rmSync(dataDir, { recursive: true, force: true }));
const db = 'micro';
const ch = await createClickHouse({ CLICKHOUSE_URL: '', CLICKHOUSE_USER: 'default', CLICKHOUSE_PASSWORD: '', CLICKHOUSE_DATA_DIR: dataDir });
await migrate(ch, db);

// Each run's debug line (rows read, phases), as the sessionizer logs it.
const runLogs: Record<string, unknown>[] = [];
const log = pino({ level: 'debug' }, new Writable({ write(chunk: Buffer, _e, cb) { const x = JSON.parse(chunk.toString()) as Record<string, unknown>; if (x.msg === 'sessionizer run') runLogs.push(x); cb(); } }));
const sessionizer = createSessionizer({ CLICKHOUSE_DATABASE: db, SESSION_GAP_MS: 30 * 60_000, ALLOWED_LATENESS_MS: 60_000, IDLE_TIMEOUT_MS: 10_000, SESSIONIZER_SNAPSHOT_MS: 1e12, ...(o['max-rows'] ? { maxRowsPerRun: Number(o['max-rows']) } : {}) },
  { ch, metrics: createMetrics(), log: log as never });

const stream = createStream({ seed: Number(o.seed), population: defaultPopulation(rate), invalidShare: 0, unknownShare: 0.05 });
// Simulated time ends about now: stored_at stays inside the inbox view's day.
const start = Date.now() - (seconds + 10) * 1000;
stream.prime(rate, start);
const iso = (ms: number) => new Date(ms).toISOString();
const TIERS = ['Bronze', 'Silver', 'Gold', 'Platinum'];

const runWindows: [number, number][] = [];
const usNow = () => Number(process.hrtime.bigint() / 1000n);
type RunSample = { ms: number; cpuUs: number; events: number; rows: number; written: number; phases: Record<string, number> };
const samples: RunSample[] = [];
const threadsRun = new Map<string, number>();
let insertCpuUs = 0, events = 0;
const perInsert = Math.round(rate / insertsPerS);
const end = start + (seconds + backlogS) * 1000;
for (let t = start; t < end; t += intervalMs) {
  let stepEvents = 0;
  const c0 = process.cpuUsage();
  for (let at = t + 1000 / insertsPerS; at <= t + intervalMs; at += 1000 / insertsPerS) {
    const recs = stream.take(perInsert, at);
    const stored = iso(at);
    const ev: Record<string, unknown>[] = [], tx: Record<string, unknown>[] = [];
    for (const r of recs) {
      const tier = TIERS[r.id.charCodeAt(0) & 3]!;
      if (r.kind === 'event') { ev.push({ ...eventRow(r.event, tier, at), stored_at: stored }); stepEvents++; }
      else if (r.kind === 'transaction') tx.push({ ...transactionRow(r.transaction, tier, at), stored_at: stored });
    }
    await ch.insert({ table: `${db}.user_events_realtime`, values: ev, format: 'JSONEachRow' });
    if (tx.length) await ch.insert({ table: `${db}.transactions_realtime`, values: tx, format: 'JSONEachRow' });
  }
  const c1 = process.cpuUsage(c0);
  const measured = t - start >= warmupS * 1000;
  if (measured) insertCpuUs += c1.user + c1.system;
  events += stepEvents;
  // --backlog: the last seconds are stored with no run, then worked off below.
  if (t - start >= seconds * 1000) continue;
  // The run at the end of the interval, as the timer would start it.
  const th0 = readThreads(process.pid);
  const u0 = process.cpuUsage();
  const w0 = performance.now();
  const before = runLogs.length;
  const from = usNow();
  const r = await sessionizer.runOnce(t + intervalMs);
  const ms = performance.now() - w0;
  if (measured) runWindows.push([from, usNow()]);
  const u1 = process.cpuUsage(u0);
  const th1 = readThreads(process.pid);
  if (!measured || backlogS) continue;
  for (const [k, v] of th1) threadsRun.set(k, (threadsRun.get(k) ?? 0) + v - (th0.get(k) ?? 0));
  const line = runLogs[before] as { rows?: number; phases?: Record<string, number> } | undefined;
  samples.push({ ms, cpuUs: u1.user + u1.system, events: stepEvents, rows: line?.rows ?? 0, written: r.written, phases: line?.phases ?? {} });
}

// The backlog worked off by runs back to back, as the timer does when a run outlasts its interval;
// each run's events are the rows it read.
for (let k = 1; backlogS; k++) {
  const th0 = readThreads(process.pid);
  const u0 = process.cpuUsage();
  const w0 = performance.now();
  const before = runLogs.length;
  const from = usNow();
  const r = await sessionizer.runOnce(end + 1_000 + k); // past the settle time: every stored row is due
  const ms = performance.now() - w0;
  runWindows.push([from, usNow()]);
  const u1 = process.cpuUsage(u0);
  for (const [name, v] of readThreads(process.pid)) threadsRun.set(name, (threadsRun.get(name) ?? 0) + v - (th0.get(name) ?? 0));
  const line = runLogs[before] as { rows?: number; phases?: Record<string, number> } | undefined;
  samples.push({ ms, cpuUs: u1.user + u1.system, events: r.read, rows: line?.rows ?? 0, written: r.written, phases: line?.phases ?? {} });
  if (r.read === 0) break;
}

const q = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return Math.round(s[Math.min(s.length - 1, Math.floor(p * s.length))]!); };
const measuredEvents = samples.reduce((a, s) => a + s.events, 0);
const cpuUs = samples.reduce((a, s) => a + s.cpuUs, 0);
const phaseSum: Record<string, number> = {};
for (const s of samples) for (const [k, v] of Object.entries(s.phases)) phaseSum[k] = (phaseSum[k] ?? 0) + v;
console.log(JSON.stringify({
  impl: root, rate, seconds, warmup_s: warmupS, backlog_s: backlogS, max_rows: o['max-rows'] ?? 'default',
  backlog_wall_s: backlogS ? Math.round(samples.reduce((a, s) => a + s.ms, 0) / 100) / 10 : undefined, runs: samples.length, events_measured: measuredEvents,
  run_cpu_us_per_event: Math.round((cpuUs / measuredEvents) * 10) / 10,
  run_cores: Math.round((cpuUs / 1e6 / ((samples.length * intervalMs) / 1000)) * 1000) / 1000,
  run_ms: { p50: q(samples.map((s) => s.ms), 0.5), p99: q(samples.map((s) => s.ms), 0.99), max: q(samples.map((s) => s.ms), 1) },
  rows_read_per_run: { p50: q(samples.map((s) => s.rows), 0.5), max: q(samples.map((s) => s.rows), 1) },
  written_per_event: Math.round((samples.reduce((a, s) => a + s.written, 0) / measuredEvents) * 100) / 100,
  phase_ms_per_run: Object.fromEntries(Object.entries(phaseSum).map(([k, v]) => [k, Math.round(v / samples.length)])),
  run_threads_us_per_event: threadDelta(new Map(), threadsRun).slice(0, 8).map((x) => ({ thread: x.thread, us: Math.round((x.cpu_s / measuredEvents) * 1e6 * 10) / 10 })),
  insert_cpu_us_per_event: Math.round(insertCpuUs / measuredEvents),
  open_sessions: samples.length ? (runLogs.at(-1) as { open?: number }).open : 0,
  total_events: events,
}));
if (o.windows) writeFileSync(o.windows, JSON.stringify(runWindows));
await ch.close();
process.exit(0);
