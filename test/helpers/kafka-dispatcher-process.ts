import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { onCleanup } from './kafka-dispatcher.js';

const MAIN = resolve(import.meta.dirname, '..', '..', 'local', 'dispatcher', 'main.ts');

export interface DispatcherProcess {
  readonly proc: ChildProcess;
  /** stderr so far (JSON log lines), to explain a failure. */
  output(): string;
  /** Sends the signal and resolves with the exit code (null when killed by the signal). */
  signal(signal: NodeJS.Signals): Promise<number | null>;
}

/**
 * Runs the dispatcher CLI as a child process, so a test can SIGKILL it like a crashed pod.
 * Resolves once it says it is running (group joined).
 */
export async function spawnDispatcher(args: readonly string[], timeoutMs = 60_000): Promise<DispatcherProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn' },
  });
  let stdout = '';
  let stderr = '';
  proc.stderr?.on('data', (c: Buffer) => { stderr += c.toString(); });
  const exited = new Promise<number | null>((done) => proc.once('exit', (code) => done(code)));
  onCleanup(async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await exited;
  });
  await new Promise<void>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`dispatcher did not start within ${timeoutMs} ms:\n${stderr}`)), timeoutMs);
    proc.stdout?.on('data', (c: Buffer) => {
      stdout += c.toString();
      if (stdout.includes('dispatcher running')) { clearTimeout(timer); ready(); }
    });
    void exited.then((code) => { clearTimeout(timer); fail(new Error(`dispatcher exited with ${code} during start:\n${stderr}`)); });
  });
  return {
    proc,
    output: () => stderr,
    signal: async (signal) => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}
