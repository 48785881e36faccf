// `npm start -- --kafka --rate 0` (issue 16): no generator, but the Kafka path runs, broker topics
// and the KafkaSource-like dispatcher, and the start banner says how to produce to it. A record
// produced as the printed kcat line does (key: user id, value: the event's JSON) reaches the ingest.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createPgPool } from '../../functions/adapters/tier-source.js';
import { createEventProducer } from '../../local/kafka/produce.js';
import { freePort, isPortFree } from '../../local/kafka/ports.js';
import { testBrokers } from '../helpers/kafka-env.js';
import { waitFor } from '../helpers/stack.js';

describe('npm start -- --kafka --rate 0', () => {
  const schema = `t_${randomBytes(4).toString('hex')}`;
  let proc: ChildProcess;
  let dataDir = '';
  let output = '';
  let port = 0;
  const brokers = testBrokers();

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'speed-layer-start-kafka-'));
    do port = await freePort(); while (!(await isPortFree(port + 1)));
    proc = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts', '--kafka', '--rate', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env, PORT: String(port), KAFKA_BROKERS: brokers, CLICKHOUSE_URL: '', CLICKHOUSE_DATA_DIR: dataDir,
        CLICKHOUSE_DATABASE: schema, USERS_TABLE: `${schema}.users`, LOG_LEVEL: 'warn', TIER_CACHE_WARM_MAX: '0', BATCH_MAX_AGE_MS: '200',
      },
    });
    proc.stdout!.on('data', (d: Buffer) => { output += d.toString(); });
    proc.stderr!.on('data', (d: Buffer) => { output += d.toString(); });
    await waitFor(() => (output.includes('Ctrl-C stops') ? true : undefined), 'npm start to be running', 90_000);
  }, 120_000);

  afterAll(async () => {
    if (proc && proc.exitCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGINT');
      await exited;
    }
    await rm(dataDir, { recursive: true, force: true });
    const pool = createPgPool(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres', 1);
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await pool.end();
  });

  test('prints the broker and a kcat line, and delivers what is produced to the ingest', async () => {
    expect(output).toContain('generator  off (--rate 0)');
    expect(output).toContain(`kafka      ${brokers}: topics user_events, transactions`);
    expect(output).toMatch(new RegExp(`produce +echo '.*' \\| kcat -P -b ${brokers.split(',')[0]} -t user_events -K '\\|'`));

    // An event of an unknown type: dead-lettered with its payload, so its id can be found in the API.
    const user = randomUUID();
    const id = randomUUID();
    const producer = createEventProducer(brokers);
    await producer.send('user_events', [{ key: user, value: { event_id: id, event_type: 'start_kafka_probe', user_id: user, timestamp: new Date().toISOString() } }]);
    await producer.disconnect();
    const found = await waitFor(async () => {
      const text = await fetch(`http://127.0.0.1:${port + 1}/api/dead-letters?reason=unknown_type&limit=50`).then((r) => r.text());
      return text.includes(id) ? text : undefined;
    }, `the produced event dead-lettered by the ingest:\n${output.slice(-2_000)}`, 60_000, 500);
    expect(found).toContain(user);
  }, 120_000);
});
