import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../functions/core/log.js';
import type { Mode } from '../../generator/cloudevents.js';

/**
 * `npm start`'s live shop runs as a process of its own (./shop-main.ts), as a shop's producers run
 * apart from the speed layer: at --rate 5000 its 2.1 M simulated users take a ~1 GB heap, and its
 * start-up simulates ten minutes of visits at once; in the ingest's process that garbage and that
 * pause landed on the event loop holding every request.
 *
 * The two talk over the IPC channel: the shop seeds its users into PostgreSQL and says `seeded`
 * (the parent then warms its tier cache), the parent says `go` with where to send, and the shop
 * reports what it generated every second.
 */
export type ShopOptions = { readonly seed: number; readonly rate: number; readonly databaseUrl: string; readonly usersTable: string; readonly logLevel: string };
export type ShopTarget = { readonly kind: 'http'; readonly url: string; readonly mode: Mode } | { readonly kind: 'kafka'; readonly brokers: string };
export type ToShop = { readonly type: 'go'; readonly target: ShopTarget } | { readonly type: 'stop' };
export type FromShop = { readonly type: 'seeded'; readonly users: number; readonly failed?: string } | { readonly type: 'generated'; readonly total: number };

export type Shop = {
  readonly pid: number | undefined;
  /** Events and transactions generated so far (as last reported). */
  readonly generated: () => number;
  /** Starts sending. */
  go(target: ShopTarget): void;
  /** Stops generating; settles once the shop has exited. */
  stop(): Promise<void>;
};

/** Starts the shop; settles once its users are in PostgreSQL (or it said why they are not). */
export async function spawnShop(options: ShopOptions, log: Logger): Promise<Shop> {
  const main = fileURLToPath(new URL('./shop-main.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', main, JSON.stringify(options)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let generated = 0;
  let stopping = false;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => {
    if (!stopping && code !== 0) log.error({ code }, 'the live shop exited; nothing more is generated (see its log above)');
    resolve(code);
  }));
  const seeded = new Promise<void>((resolve, reject) => {
    child.on('message', (m: FromShop) => {
      if (m.type === 'generated') generated = m.total;
      if (m.type !== 'seeded') return;
      if (m.failed) log.warn({ err: m.failed }, 'could not seed users into PostgreSQL');
      else log.info({ users: m.users }, 'live shop: users seeded into PostgreSQL');
      resolve();
    });
    void exited.then((code) => reject(new Error(`the live shop exited (${code}) before it was ready`)));
  });
  await seeded;
  const tell = (m: ToShop) => { if (child.connected) child.send(m); };
  return {
    pid: child.pid,
    generated: () => generated,
    go: (target) => tell({ type: 'go', target }),
    async stop() {
      stopping = true;
      if (child.exitCode !== null) return;
      tell({ type: 'stop' });
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    },
  };
}
