/**
 * CPU per event of the ingest process on the per-record path: one binary CloudEvent per request, as
 * KafkaSource sends, each held until its micro-batch is stored. The ingest runs as its own process
 * (`functions/ingest/main.ts` with functions/core/node-flags.ts's flags, embedded ClickHouse in a
 * temporary folder, PostgreSQL as configured);
 * this process sends open-loop at `--rate` with up to `--in-flight` requests open, and reads the
 * ingest's CPU (user + system, every thread: chDB's included) from /proc over the measured requests,
 * after a warm-up. Prints one JSON line.
 *
 *   npx tsx bench/ingest-micro.ts [--rate 3000] [--requests 60000] [--warmup 15000] [--in-flight 10000]
 *       [--impl DIR]   (another checkout's root, to compare versions on the same machine)
 *
 * A lone-event figure is printed too: `--lone 20` events sent one after another after `--quiet 10`
 * seconds without traffic, each answer's time.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { generate } from '../generator/simulate.js';
import { createHttpClient } from './http-client.js';
import { binaryRequest } from './encode.js';
import { readProc, readThreads, threadDelta } from './proc.js';
import { formatProfile, summarizeProfile } from './profile.js';
import { NODE_FLAGS } from '../functions/core/node-flags.js';

const { values: o } = parseArgs({
  options: {
    rate: { type: 'string', default: '3000' }, requests: { type: 'string', default: '60000' }, warmup: { type: 'string', default: '15000' },
    'in-flight': { type: 'string', default: '10000' }, impl: { type: 'string', default: '.' }, lone: { type: 'string', default: '20' }, quiet: { type: 'string', default: '10' },
    profile: { type: 'boolean', default: false },
    port: { type: 'string', default: String(20_000 + Math.floor(Math.random() * 20_000)) },
  },
});
const rate = Number(o.rate); const total = Number(o.requests); const warmup = Number(o.warmup); const maxInFlight = Number(o['in-flight']);
const dataDir = join(tmpdir(), `ingest-micro-${randomBytes(4).toString('hex')}`);
const url = new URL(`http://127.0.0.1:${o.port}/`);

const gen = generate({ seed: 7, users: 2_000, startMs: Date.now() - 3_600_000, durationMs: 3_600_000 - 1_000, invalidShare: 0 });
const pool = gen.records.filter((r) => r.kind !== 'invalid');
const requests = Array.from({ length: total + Number(o.lone) }, (_, i) => {
  const rec = pool[i % pool.length]!;
  // Every request a new event id (the pool repeats), so nothing is dropped as a duplicate.
  const id = `${randomBytes(4).toString('hex')}-${randomBytes(2).toString('hex')}-4${randomBytes(2).toString('hex').slice(1)}-8${randomBytes(2).toString('hex').slice(1)}-${randomBytes(6).toString('hex')}`;
  const fresh = rec.kind === 'event' ? { ...rec, id, event: { ...rec.event, event_id: id } } : rec.kind === 'transaction' ? { ...rec, id, transaction: { ...rec.transaction, transaction_id: id } } : rec;
  return binaryRequest(fresh);
});

const root = resolve(o.impl!);
const profileDir = join(dataDir, 'profile');
const child = spawn(process.execPath, [...NODE_FLAGS, ...(o.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), '--import', 'tsx', join(root, 'functions/ingest/main.ts')], {
  cwd: root, stdio: ['ignore', 'ignore', 'inherit'],
  env: { ...process.env, PORT: o.port, CLICKHOUSE_DATA_DIR: dataDir, CLICKHOUSE_DATABASE: `micro_${randomBytes(3).toString('hex')}`, LOG_LEVEL: 'warn', TIER_CACHE_WARM_MAX: '0' },
});
const stop = () => { child.kill('SIGKILL'); rmSync(dataDir, { recursive: true, force: true }); };
process.on('exit', stop);

const client = createHttpClient(maxInFlight);
for (let i = 0; ; i++) {
  const ok = await client.get(new URL('/readyz', url), 1_000).then((a) => a.status === 200, () => false);
  if (ok) break;
  if (i > 600) throw new Error('ingest did not start');
  await new Promise((r) => setTimeout(r, 100));
}

let sent = 0; let answered = 0; let failed = 0; let inFlight = 0;
const statuses: Record<string, number> = {};
const errors: Record<string, number> = {};
let cpuAtWarm = 0; let atWarm = 0; let threadsAtWarm = new Map<string, number>();
const done = new Promise<void>((resolveDone) => {
  const t0 = performance.now();
  const tick = setInterval(() => {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate));
    while (sent < due && inFlight < maxInFlight) {
      const r = requests[sent++]!;
      inFlight++;
      void client.post(url, r.headers, r.body, 120_000).then((a) => { statuses[a.status] = (statuses[a.status] ?? 0) + 1; if (a.status !== 200) failed++; }, (err: Error) => { failed++; errors[err.message] = (errors[err.message] ?? 0) + 1; }).finally(() => {
        inFlight--;
        answered++;
        if (answered === warmup) { cpuAtWarm = readProc(child.pid!).cpuS; threadsAtWarm = readThreads(child.pid!); atWarm = performance.now(); }
        if (answered === total) { clearInterval(tick); resolveDone(); }
      });
    }
  }, 10);
});
await done;
const cpuEnd = readProc(child.pid!).cpuS;
const threads = threadDelta(threadsAtWarm, readThreads(child.pid!)).slice(0, 6).map((t) => ({ ...t, us_per_event: Math.round((t.cpu_s / (total - warmup)) * 1e6) }));
const measured = total - warmup;
const seconds = (performance.now() - atWarm) / 1000;

// A lone event at a time, as a person sends by hand: after a quiet spell (the flush policy's
// bucket refills: BATCH_INSERT_BURST / BATCH_MAX_INSERTS_PER_S s), each sent once the last is answered.
await new Promise((res) => setTimeout(res, Number(o.quiet) * 1000));
const lone: number[] = [];
for (let i = 0; i < Number(o.lone); i++) {
  const r = requests[total + i]!;
  const t = performance.now();
  await client.post(url, r.headers, r.body, 10_000);
  lone.push(performance.now() - t);
  await new Promise((res) => setTimeout(res, 50));
}
lone.sort((a, b) => a - b);
console.log(JSON.stringify({
  impl: o.impl, rate, measured, failed, statuses, errors, seconds: Math.round(seconds * 10) / 10,
  ingest_cpu_us_per_event: Math.round(((cpuEnd - cpuAtWarm) / measured) * 1e6),
  ingest_cores: Math.round(((cpuEnd - cpuAtWarm) / seconds) * 100) / 100,
  threads,
  lone_ms: { p50: Math.round(lone[Math.floor(lone.length / 2)]!), max: Math.round(lone[lone.length - 1]!) },
}));
if (o.profile) {
  process.off('exit', stop);
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
  for (const f of readdirSync(profileDir).filter((x) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(x))) console.log(formatProfile(summarizeProfile(join(profileDir, f), 30), 30));
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(0);
