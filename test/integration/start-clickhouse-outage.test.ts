// `npm start` with CLICKHOUSE_URL when that ClickHouse stops answering (issue 16): the process keeps
// serving and says so on its status line, recovers when ClickHouse answers again, and a SIGTERM
// while ClickHouse hangs still ends it (it used to crash on the status line, then ignore signals).
// ClickHouse is a real server (local/clickhouse-server/serve.py) behind a proxy that can freeze.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createPgPool } from '../../functions/adapters/tier-source.js';
import { freePort, isPortFree } from '../../local/kafka/ports.js';
import { startClickHouseServer } from '../helpers/clickhouse-server.js';
import { startHangProxy } from '../helpers/hang-proxy.js';
import { waitFor } from '../helpers/stack.js';

const STATUS_LINE = /^\[\d\d:\d\d:\d\d\] in \d+\/s · stored (\d+)\/s.*$/gm;

describe('npm start through a ClickHouse outage', () => {
  const schema = `t_${randomBytes(4).toString('hex')}`;
  let server: Awaited<ReturnType<typeof startClickHouseServer>>;
  let proxy: Awaited<ReturnType<typeof startHangProxy>>;
  let proc: ChildProcess;
  let output = '';
  let port = 0;
  const statusLines = () => [...output.matchAll(STATUS_LINE)].map((m) => ({ line: m[0], stored: Number(m[1]) }));

  beforeAll(async () => {
    server = await startClickHouseServer();
    proxy = await startHangProxy(Number(new URL(server.url).port));
    // npm start puts analytics on PORT + 1.
    do port = await freePort(); while (!(await isPortFree(port + 1)));
    proc = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts', '--rate', '50', '--status-every', '1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env, PORT: String(port), CLICKHOUSE_URL: proxy.url, CLICKHOUSE_DATA_DIR: '', CLICKHOUSE_DATABASE: schema,
        USERS_TABLE: `${schema}.users`, LOG_LEVEL: 'warn', TIER_CACHE_WARM_MAX: '0',
      },
    });
    proc.stdout!.on('data', (d: Buffer) => { output += d.toString(); });
    proc.stderr!.on('data', (d: Buffer) => { output += d.toString(); });
  }, 90_000);

  afterAll(async () => {
    if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await proxy?.close();
    await server?.stop();
    const pool = createPgPool(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres', 1);
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await pool.end();
  });

  test('keeps serving and reports the outage, recovers, and stops on SIGTERM while ClickHouse hangs', async () => {
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    await waitFor(() => (statusLines().some((s) => s.stored > 0) ? true : undefined), `events stored before the outage:\n${output}`, 90_000);

    proxy.hang();
    const before = statusLines().length;
    await waitFor(() => (statusLines().slice(before).filter((s) => s.line.includes('ClickHouse DOWN')).length >= 2 ? true : undefined),
      `two status lines saying ClickHouse is down:\n${output.slice(-3_000)}`, 60_000);
    expect(proc.exitCode).toBeNull();
    expect(output).not.toContain('TypeError');
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);

    proxy.pass();
    const down = statusLines().length;
    await waitFor(() => (statusLines().slice(down).some((s) => !s.line.includes('ClickHouse DOWN') && s.stored > 0) ? true : undefined),
      `a status line with ClickHouse back and events stored:\n${output.slice(-3_000)}`, 90_000);

    proxy.hang();
    const again = statusLines().length;
    await waitFor(() => (statusLines().slice(again).some((s) => s.line.includes('ClickHouse DOWN')) ? true : undefined), 'the second outage reported', 60_000);
    proc.kill('SIGTERM');
    // The stop has an 8 s deadline; 10 s is what the issue allows, the rest is slack for a busy machine.
    const code = await Promise.race([exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), 15_000))]);
    expect(code, output.slice(-3_000)).not.toBe('still running');
    expect(proc.signalCode).toBeNull(); // it exited itself, it was not killed by the signal
    expect(output).toContain('stopping: flushing buffered events');
  }, 300_000);
});
