import { readdirSync, readFileSync } from 'node:fs';

/** CPU time and memory of a process, read from /proc (Linux). */
export type ProcSample = { atMs: number; cpuS: number; rssMiB: number; peakRssMiB: number; alive: boolean };

const TICKS_PER_S = 100; // USER_HZ; `getconf CLK_TCK` is 100 on Linux x86_64

export function readProc(pid: number, atMs = Date.now()): ProcSample {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime, stime are fields 14 and 15 (1-based, so 11 and 12 after pid, comm and state are cut).
    const cpuS = (Number(f[11]) + Number(f[12])) / TICKS_PER_S;
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { atMs, cpuS, rssMiB: kib('VmRSS') / 1024, peakRssMiB: kib('VmHWM') / 1024, alive: true };
  } catch {
    return { atMs, cpuS: 0, rssMiB: 0, peakRssMiB: 0, alive: false };
  }
}

/** Samples named processes every `intervalMs`; keeps the last live sample of each, and per-second series. */
export function createProcMonitor(intervalMs = 1000) {
  const procs = new Map<string, { pid: number; samples: ProcSample[]; last?: ProcSample; peak: number }>();
  const sampleAll = () => {
    const now = Date.now();
    for (const p of procs.values()) {
      const s = readProc(p.pid, now);
      if (!s.alive) continue;
      p.samples.push(s);
      p.last = s;
      p.peak = Math.max(p.peak, s.peakRssMiB, s.rssMiB);
    }
  };
  const timer = setInterval(sampleAll, intervalMs);
  timer.unref();
  return {
    watch(name: string, pid: number | undefined) {
      if (pid === undefined) return;
      procs.set(name, { pid, samples: [], peak: 0 });
      sampleAll();
    },
    sample: sampleAll,
    /** CPU seconds used by `name` between two times (the samples nearest inside the range). */
    cpuBetween(name: string, fromMs: number, toMs: number): number | undefined {
      const s = procs.get(name)?.samples ?? [];
      const a = s.find((x) => x.atMs >= fromMs);
      const b = [...s].reverse().find((x) => x.atMs <= toMs);
      return a && b && b.atMs > a.atMs ? b.cpuS - a.cpuS : undefined;
    },
    /** Seconds actually covered by cpuBetween's samples (to turn CPU seconds into cores). */
    spanBetween(name: string, fromMs: number, toMs: number): number | undefined {
      const s = procs.get(name)?.samples ?? [];
      const a = s.find((x) => x.atMs >= fromMs);
      const b = [...s].reverse().find((x) => x.atMs <= toMs);
      return a && b && b.atMs > a.atMs ? (b.atMs - a.atMs) / 1000 : undefined;
    },
    last: (name: string) => procs.get(name)?.last,
    peakRss: (name: string) => procs.get(name)?.peak,
    names: () => [...procs.keys()],
    samples: (name: string) => procs.get(name)?.samples ?? [],
    stop: () => clearInterval(timer),
  };
}
export type ProcMonitor = ReturnType<typeof createProcMonitor>;

/** Busy and total CPU seconds of the whole machine so far (first line of /proc/stat), to tell what other processes took. */
export function readMachineCpu(): { busyS: number; totalS: number } {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    return { busyS: (total - idle) / TICKS_PER_S, totalS: total / TICKS_PER_S };
  } catch {
    return { busyS: 0, totalS: 0 };
  }
}

/** CPU seconds per thread name (/proc/<pid>/task/<tid>/comm) so far: the JS main thread, libuv workers, V8 GC, ClickHouse's pools. */
export function readThreads(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[] = [];
  try { tids = readdirSync(`/proc/${pid}/task`); } catch { return out; }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // The main thread's name is the process's; name it for what it runs.
      const name = tid === String(pid) ? `${comm} (main thread)` : comm.replace(/[\d_-]+$/, '') || comm;
      out.set(name, (out.get(name) ?? 0) + (Number(f[11]) + Number(f[12])) / TICKS_PER_S);
    } catch { /* the thread ended meanwhile */ }
  }
  return out;
}

/** CPU seconds per thread name between two readThreads snapshots, largest first. */
export function threadDelta(before: Map<string, number>, after: Map<string, number>): { thread: string; cpu_s: number }[] {
  return [...after.entries()].map(([thread, s]) => ({ thread, cpu_s: Math.round((s - (before.get(thread) ?? 0)) * 100) / 100 }))
    .filter((x) => x.cpu_s > 0).sort((a, b) => b.cpu_s - a.cpu_s);
}
