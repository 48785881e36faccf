import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';

/**
 * The bench's child processes: each a `node` process of its own (not through npm or tsx's CLI, which
 * would put a wrapper process between, so /proc/<pid> is the process doing the work), its output
 * in a log file, stopped by pid with SIGTERM and, past a deadline, SIGKILL. Every child is
 * killed when the bench exits, however it exits.
 */
export type Child = {
  name: string;
  proc: ChildProcess;
  pid: number;
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null when killed). */
  stop(graceMs?: number): Promise<number | null>;
};

const children = new Set<ChildProcess>();
process.on('exit', () => { for (const c of children) if (c.exitCode === null) c.kill('SIGKILL'); });

export function spawnNode(name: string, args: string[], opts: { env?: NodeJS.ProcessEnv; logFile: string; nodeArgs?: string[]; onLine?: (line: string) => void }): Child {
  const proc = spawn(process.execPath, [...(opts.nodeArgs ?? []), '--import', 'tsx', ...args], {
    env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(proc);
  const log = createWriteStream(opts.logFile, { flags: 'a' });
  proc.stderr!.pipe(log);
  if (opts.onLine) {
    createInterface({ input: proc.stdout! }).on('line', (line) => { log.write(`${line}\n`); opts.onLine!(line); });
  } else {
    proc.stdout!.pipe(log);
  }
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => { children.delete(proc); resolve(code); }));
  return {
    name, proc, pid: proc.pid!, exited,
    async stop(graceMs = 60_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** A port P on 127.0.0.1 with P + 1 free too (the speed layer serves analytics on PORT + 1). */
export async function freePortPair(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const p = await listenFree(0);
    if (p < 65535 && (await listenFree(p + 1).then(() => true, () => false))) return p;
  }
  throw new Error('no two adjacent free ports on 127.0.0.1');
}

function listenFree(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/** Whether `check` came true within the time: the one polling helper (local/wait-for.ts). */
export { waitUntil as waitFor } from '../local/wait-for.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
