import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { freePort } from '../../local/kafka/ports.js';

/**
 * A ClickHouse server over HTTP that a test can kill -9 and start again on the same port and data:
 * the server's own HTTP handler from the chDB library, run by local/clickhouse-server/serve.py.
 */
export async function startClickHouseServer() {
  const lib = join(dirname(createRequire(import.meta.url).resolve('@chdb/lib-linux-x64-gnu/package.json')), 'libchdb.so');
  const dataDir = await mkdtemp(join(tmpdir(), 'speed-layer-ch-server-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let proc: ChildProcess | undefined;
  let output = '';

  async function up() {
    output = '';
    proc = spawn('python3', [resolve('local/clickhouse-server/serve.py'), lib, dataDir, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.on('data', (d: Buffer) => { output = (output + d.toString()).slice(-4_000); });
    proc.stderr!.on('data', (d: Buffer) => { output = (output + d.toString()).slice(-4_000); });
    const end = Date.now() + 60_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`ClickHouse server exited (${proc.exitCode}): ${output}`);
      if (await fetch(`${url}/ping`).then((r) => r.ok, () => false)) return;
      if (Date.now() > end) throw new Error(`ClickHouse server did not answer /ping in 60 s: ${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async function kill() {
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((r) => proc!.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
  }

  await up();
  return {
    url,
    /** kill -9: the server dies mid-whatever, its data stays on disk. */
    kill,
    /** Starts it again on the same port and data directory. */
    restart: up,
    async stop() {
      await kill();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
