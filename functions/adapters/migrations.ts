import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ClickHouseClient } from '@clickhouse/client';

const SQL_DIR = fileURLToPath(new URL('../../sql/', import.meta.url));

/** The DDL files of sql/, in order, with the database name filled in. */
export function migrationStatements(database: string, dir = SQL_DIR): { file: string; sql: string }[] {
  return readdirSync(dir)
    .filter((f) => /^\d+_.+\.sql$/.test(f))
    .sort()
    .map((file) => ({ file, sql: readFileSync(`${dir}/${file}`, 'utf8').replaceAll('{db}', database).trim() }));
}

/** Applies every file of sql/ in order. Each is idempotent (IF NOT EXISTS), so this runs at every start. */
export async function migrate(ch: ClickHouseClient, database: string): Promise<string[]> {
  const applied: string[] = [];
  for (const { file, sql } of migrationStatements(database)) {
    await ch.command({ query: sql });
    applied.push(file);
  }
  return applied;
}
