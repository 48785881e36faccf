import { readdirSync, readFileSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/**
 * The embedded engine's own threads (its query pool, merges, schedulers) at a lower CPU priority
 * than the JavaScript thread, which every event passes through: the ingest's parsing and answers,
 * the sessionizer's fold, the dashboards' answers. On 2 shared cores the engine's 100+ threads left
 * the main thread runnable but waiting 0.55 s of every second (/proc schedstat, kafka bench at
 * 10,000/s). Threads named `node` (Node's and V8's own, chDB's worker) and the main thread are left
 * alone. Linux only; the engine makes threads as it goes, so they are looked at every `everyMs`.
 * Raising a thread's nice needs no privilege (lowering it back would). One sweep per process, however
 * many connections open it.
 */
let running = false;
export function lowerEnginePriority(nice: number, everyMs = 1_000): void {
  if (running || nice <= 0 || process.platform !== 'linux') return;
  running = true;
  const tasks = `/proc/${process.pid}/task`;
  const sweep = () => {
    let tids: string[];
    try { tids = readdirSync(tasks); } catch { return; }
    for (const tid of tids) {
      const id = Number(tid);
      if (id === process.pid) continue;
      try {
        if (getPriority(id) >= nice) continue;
        if (readFileSync(`${tasks}/${tid}/comm`, 'latin1').trim() === 'node') continue;
        setPriority(id, nice);
      } catch {
        // The thread ended since the listing.
      }
    }
  };
  sweep();
  setInterval(sweep, everyMs).unref();
}
