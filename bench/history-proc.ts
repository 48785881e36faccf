/**
 * The history load in a process of its own (chDB binds one data directory per process, and the
 * system under test opens it next): applies sql/ to the data directory, stores the history,
 * prints progress lines and then one JSON line with what it stored.
 *
 *   node --import tsx bench/history-proc.ts '{"dataDir":…,"database":…,"sessions":…,"seed":…,"population":…,"nowMs":…}'
 */
import { loadConfig } from '../functions/core/config.js';
import { createLogger } from '../functions/core/log.js';
import { openClickHouse } from '../functions/core/runtime.js';
import { loadHistory } from './history.js';

const o = JSON.parse(process.argv[2] ?? '{}') as { dataDir: string; database: string; sessions: number; seed: number; population: number; nowMs: number };
const config = loadConfig(process.env, { CLICKHOUSE_URL: '', CLICKHOUSE_DATA_DIR: o.dataDir, CLICKHOUSE_DATABASE: o.database, LOG_LEVEL: 'warn' });
const ch = await openClickHouse(config, createLogger('history', 'warn'));
try {
  const r = await loadHistory(ch, o.database, { ...o, log: (m) => console.log(m) });
  console.log(JSON.stringify(r));
} finally {
  await ch.close();
}
