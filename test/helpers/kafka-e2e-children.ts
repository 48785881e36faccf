import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import type { Config } from '../../functions/core/config.js';

// Child processes of the Kafka end-to-end harness (kafka-e2e.ts): the dispatcher and, with
// replicaProcesses, the ingest replicas, each a TypeScript entry point run under tsx.
const DISPATCHER_MAIN = resolve(import.meta.dirname, '..', '..', 'local', 'dispatcher', 'main.ts');
const INGEST_MAIN = resolve(import.meta.dirname, '..', '..', 'functions', 'ingest', 'main.ts');
const children = new Set<ChildProcess>();
let exitHook = false;
function killChildrenOnExit(): void {
  if (exitHook) return;
  exitHook = true;
  process.on('exit', () => {
    for (const c of children) c.kill('SIGKILL');
  });
}

export interface Child {
  readonly pid: number | undefined;
  /** stderr so far (the child's JSON log), to explain a failure. */
  output(): string;
  /** kill -9: a crashed pod. Nothing is flushed, committed or handed over. */
  kill9(): Promise<void>;
  /** SIGTERM: a graceful stop (drain, flush or commit); SIGKILL after 20 s. */
  stop(): Promise<void>;
  exited(): boolean;
}
export type DispatcherChild = Child;

/**
 * Runs a TypeScript entry point (`main`) under tsx as a child process and resolves once it is
 * ready: it printed `ready.line` on stdout, or `ready.url` answers 2xx. Killed with this process.
 */
async function spawnChild(what: string, main: string, args: readonly string[], env: NodeJS.ProcessEnv,
  ready: { line: string } | { url: string }, timeoutMs: number): Promise<Child> {
  killChildrenOnExit();
  const proc = spawn(process.execPath, ['--import', 'tsx', main, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  children.add(proc);
  let stdout = '';
  let stderr = '';
  proc.stderr?.on('data', (c: Buffer) => { stderr = (stderr + c.toString()).slice(-20_000); });
  proc.stdout?.on('data', (c: Buffer) => { stdout = (stdout + c.toString()).slice(-20_000); });
  const exit = new Promise<void>((done) => proc.once('exit', () => { children.delete(proc); done(); }));
  const isDone = () => proc.exitCode !== null || proc.signalCode !== null;
  try {
    await new Promise<void>((resolveReady, fail) => {
      let waiting = true;
      const finish = (error?: Error) => {
        if (!waiting) return;
        waiting = false;
        clearTimeout(timer);
        if (error) fail(error);
        else resolveReady();
      };
      const timer = setTimeout(() => finish(new Error(`${what} did not start within ${timeoutMs} ms:\n${stderr}${stdout}`)), timeoutMs);
      if ('line' in ready) {
        proc.stdout?.on('data', () => { if (stdout.includes(ready.line)) finish(); });
      } else {
        void (async () => {
          while (waiting) {
            if (await fetch(ready.url).then((r) => r.ok, () => false)) finish();
            else await new Promise((r) => setTimeout(r, 50));
          }
        })();
      }
      void exit.then(() => finish(new Error(`${what} exited during start (${proc.exitCode ?? proc.signalCode}):\n${stderr}${stdout}`)));
    });
  } catch (error) {
    if (!isDone()) proc.kill('SIGKILL');
    await exit;
    throw error;
  }
  return {
    pid: proc.pid,
    output: () => stderr + stdout,
    exited: isDone,
    async kill9() {
      if (!isDone()) proc.kill('SIGKILL');
      await exit;
    },
    async stop() {
      if (!isDone()) proc.kill('SIGTERM');
      const timer = setTimeout(() => { if (!isDone()) proc.kill('SIGKILL'); }, 20_000);
      await exit;
      clearTimeout(timer);
    },
  };
}

const childLogLevel = () => process.env.TEST_LOG_LEVEL ?? 'warn';

/** Runs `local/dispatcher/main.ts` as a child process and resolves once it has joined its group. */
export function spawnDispatcherChild(args: readonly string[], timeoutMs = 60_000): Promise<DispatcherChild> {
  return spawnChild('dispatcher', DISPATCHER_MAIN, args, { ...process.env, LOG_LEVEL: childLogLevel() }, { line: 'dispatcher running' }, timeoutMs);
}

/**
 * Runs the ingest function (`functions/ingest/main.ts`, as `npm run ingest`) as a child process
 * with `config` (every key as its environment variable) on `port`, and resolves once it is ready.
 * The schema must exist already (CLICKHOUSE_MIGRATE is off); ClickHouse must be a server.
 */
export function spawnIngestChild(config: Config, port: number, timeoutMs = 60_000): Promise<Child> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(config)) env[k] = String(v);
  Object.assign(env, { PORT: String(port), CLICKHOUSE_MIGRATE: 'false', LOG_LEVEL: childLogLevel() });
  return spawnChild(`ingest on port ${port}`, INGEST_MAIN, [], env, { url: `http://127.0.0.1:${port}/readyz` }, timeoutMs);
}
