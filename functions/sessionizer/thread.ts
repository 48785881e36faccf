import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import { applyRelayed, metricNames, type RelayedCalls } from '../core/metrics-relay.js';
import type { Sessionizer } from './sessionizer.js';

/*
 * The sessionizer in a thread of its own, for a process that runs every function (`npm start`, the
 * bench's system under test). In the cluster it is a process of its own; sharing the ingest's event
 * loop instead, at 10,000 events/s the two took the main thread whole (a run's fold waited behind
 * requests, requests behind the fold, and one garbage collector paused both), and runs fell behind
 * for good (bench/RESULTS.md). Here it has its own event loop and heap, its own ClickHouse
 * connections (the embedded engine is one per process, shared by every thread), and its metrics are
 * relayed to the process's registry (functions/core/metrics-relay.ts).
 *
 * The thread lives as long as the process: stopping it ends its runs and closes its connections,
 * and it then idles. Ending a thread that used the embedded engine leaves the engine unusable for
 * the rest of the process, so a thread that ends anyway takes the process with it (its runs' own
 * failures are caught and retried inside it, as in the sessionizer process).
 */

/**
 * The thread's nice value, and its queries' threads' in the engine (`os_thread_priority`): when the
 * cores are short, the ingest (what must not lose anything) gets them first and sessions lag
 * instead, catching up once the load falls. Beside the ingest at 10,000 events/s on 2 cores, a
 * sessionizer at the same priority took the engine with its writes until the ingest's inserts
 * passed its acknowledgement budget, and the retries of the refused requests took the rest.
 */
export const SESSIONIZER_NICE = 10;

export type ToThread = { kind: 'run'; id: number; now?: number } | { kind: 'start'; intervalMs: number } | { kind: 'stop'; id: number; snapshot: boolean };
export type FromThread =
  | { kind: 'ready' }
  | { kind: 'metrics'; batch: RelayedCalls[] }
  | { kind: 'done'; id: number; value?: unknown; error?: string };

const require = createRequire(import.meta.url);
/** tsx's ESM API, through its package's export map (its CommonJS build registers the wrong path from a worker). */
const TSX_ESM_API = (() => {
  const pkg = require('tsx/package.json') as { exports: Record<string, { import: { default: string } }> };
  return pathToFileURL(join(dirname(require.resolve('tsx/package.json')), pkg.exports['./esm/api']!.import.default)).href;
})();
// The worker loads TypeScript as the process does (tsx), whether or not the process was started with it.
const BOOT = `const { workerData } = require('node:worker_threads');
import(workerData.tsx).then(({ register }) => { register(); return import(workerData.entry); });`;

export async function startSessionizerThread(config: Config, deps: { metrics: Metrics; log: Logger }): Promise<Sessionizer> {
  const { log } = deps;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  let stopping: Promise<void> | undefined;
  let alive = false;

  const worker = new Worker(BOOT, {
    eval: true,
    workerData: { tsx: TSX_ESM_API, entry: new URL('./thread-main.ts', import.meta.url).href, config, metrics: metricNames(deps.metrics) },
  });
  await new Promise<void>((ready, failed) => {
    worker.on('message', (m: FromThread) => {
      if (m.kind === 'ready') {
        alive = true;
        ready();
      } else if (m.kind === 'metrics') {
        applyRelayed(deps.metrics, m.batch);
      } else {
        const p = pending.get(m.id);
        pending.delete(m.id);
        if (m.error !== undefined) p?.reject(new Error(m.error));
        else p?.resolve(m.value);
      }
    });
    worker.on('error', (err) => log.error({ err: err.message, stack: err.stack }, 'sessionizer thread failed'));
    worker.on('exit', (code) => {
      const wasRunning = alive;
      alive = false;
      for (const p of pending.values()) p.reject(new Error('the sessionizer thread stopped'));
      pending.clear();
      if (!wasRunning) return failed(new Error(`the sessionizer thread exited (${code}) before it was ready`));
      if (stopping) return;
      // A thread's end tears down its share of the embedded engine, which leaves the engine unusable
      // (a DROP then waits for ever): the process goes, as a crashed sessionizer pod would.
      log.fatal({ code }, 'the sessionizer thread ended; stopping the process');
      process.exit(1);
    });
  });

  const send = (m: ToThread) => worker.postMessage(m);
  const ask = <T>(m: { kind: 'run'; now?: number } | { kind: 'stop'; snapshot: boolean }): Promise<T> => new Promise((resolve, reject) => {
    if (!alive) return reject(new Error('the sessionizer thread is not running'));
    const id = nextId++;
    pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    send({ ...m, id } as ToThread);
  });

  return {
    runOnce: (now?: number) => ask<Awaited<ReturnType<Sessionizer['runOnce']>>>({ kind: 'run', ...(now === undefined ? {} : { now }) }),
    start(intervalMs: number) {
      send({ kind: 'start', intervalMs });
    },
    /** Once: the thread's last run ends, its snapshot is written, its connections close; it then idles. */
    stop(opts: { snapshot?: boolean } = {}) {
      return (stopping ??= (async () => {
        await ask({ kind: 'stop', snapshot: opts.snapshot ?? false }).catch((err: Error) => log.warn({ err: err.message }, 'sessionizer thread did not stop cleanly'));
        alive = false;
        worker.unref();
      })());
    },
  };
}
