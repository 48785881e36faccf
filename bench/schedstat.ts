/**
 * Where a process's threads wait for a core: over `seconds`, per thread name (the main thread as
 * MAIN), the CPU they ran and the time they were runnable but waiting (each thread's /proc/<pid>/task/<tid>/schedstat).
 * A thread that runs little but waits much is starved, not idle. Prints one JSON line.
 *
 *   npx tsx bench/schedstat.ts <pid> [seconds=60]
 */
import { readdirSync, readFileSync } from 'node:fs';

const [pid, seconds = '60'] = process.argv.slice(2);
if (!pid) throw new Error('usage: npx tsx bench/schedstat.ts <pid> [seconds]');
type Sample = { comm: string; run: number; wait: number };
function read(): Map<string, Sample> {
  const out = new Map<string, Sample>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const [run = 0, wait = 0] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(' ').map(Number);
      const comm = tid === pid ? 'MAIN' : readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      out.set(tid, { comm, run, wait });
    } catch {
      // the thread ended since the listing
    }
  }
  return out;
}
const before = read();
const t0 = Date.now();
await new Promise((r) => setTimeout(r, Number(seconds) * 1000));
const after = read();
const s = (Date.now() - t0) / 1000;
const byName = new Map<string, { run: number; wait: number; threads: number }>();
for (const [tid, x] of after) {
  const y = before.get(tid) ?? { run: 0, wait: 0 };
  const e = byName.get(x.comm) ?? { run: 0, wait: 0, threads: 0 };
  e.run += x.run - y.run;
  e.wait += x.wait - y.wait;
  e.threads++;
  byName.set(x.comm, e);
}
console.log(JSON.stringify({
  pid: Number(pid), seconds: s,
  threads: [...byName].sort((a, b) => b[1].run - a[1].run).slice(0, 10)
    .map(([comm, e]) => ({ comm, threads: e.threads, cores: +(e.run / 1e9 / s).toFixed(3), waiting_for_a_core_s_per_s: +(e.wait / 1e9 / s).toFixed(3) })),
}));
