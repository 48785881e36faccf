// The embedded engine binds query parameters in the client (functions/adapters/bind-params.ts): the
// values come back exactly, a hostile string stays a value, and parameterized statements no longer
// wait for each other (chDB runs its own parameterized statements one at a time per process).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createClickHouse, type ClickHouseClient } from '../../functions/adapters/clickhouse.js';

let dir: string;
let a: ClickHouseClient;
let b: ClickHouseClient;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'embedded-params-'));
  const config = { CLICKHOUSE_URL: '', CLICKHOUSE_USER: '', CLICKHOUSE_PASSWORD: '', CLICKHOUSE_DATA_DIR: dir };
  [a, b] = [await createClickHouse(config), await createClickHouse(config)];
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('embedded engine: parameters bound in the client', () => {
  test('values of every type the functions use come back as given', async () => {
    const hostile = `x'); DROP DATABASE default; --\\`;
    const params = { s: hostile, t: '2026-12-07 05:00:00.123', u: '0b6f1e2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b', us: ['0b6f1e2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b'], empty: [], n: 4_294_967_295, big: [1_796_621_235_248, -1] };
    const rows = await (await a.query({
      query: `SELECT {s:String} AS s, toString({t:DateTime64(3, 'UTC')}) AS t, toString({u:UUID}) AS u, arrayMap(x -> toString(x), {us:Array(UUID)}) AS us,
                     length({empty:Array(UUID)}) AS empty, {n:UInt32} AS n, {big:Array(Int64)} AS big`,
      query_params: params, format: 'JSONEachRow', clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    })).json<Record<string, unknown>>();
    expect(rows).toEqual([{ s: hostile, t: params.t, u: params.u, us: params.us, empty: 0, n: params.n, big: params.big }]);
    expect((await (await a.query({ query: 'SELECT count() AS n FROM system.databases WHERE name = {d:String}', query_params: { d: 'default' }, format: 'JSONEachRow' })).json<{ n: string }>())[0]!.n).toBe('1');
  });

  test('a bound statement past the engine\'s 256 KiB text limit runs (the sessionizer binds 10,000 user ids)', async () => {
    const ids = Array.from({ length: 20_000 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    const rows = await (await a.query({ query: 'SELECT length({ids:Array(UUID)}) AS n, toString({ids:Array(UUID)}[20000]) AS last', query_params: { ids }, format: 'JSONEachRow' })).json<{ n: string; last: string }>();
    expect(rows).toEqual([{ n: '20000', last: ids[19_999] }]);
  });

  test('two parameterized statements on two connections run side by side: a short one ends before a long one started first', async () => {
    const order: string[] = [];
    const long = a.query({ query: 'SELECT sleep(1), {x:UInt8} AS x', query_params: { x: 1 }, format: 'JSONEachRow' }).then(() => order.push('long'));
    await new Promise((r) => setTimeout(r, 100));
    const short = b.query({ query: 'SELECT {x:UInt8} AS x', query_params: { x: 2 }, format: 'JSONEachRow' }).then(() => order.push('short'));
    await Promise.all([long, short]);
    expect(order).toEqual(['short', 'long']);
  });
});

describe('embedded engine: settings are per call, as over HTTP', () => {
  // chDB applies a call's settings as SET statements on its session, where a server takes them per
  // request: a deduplication token given to one insert stayed set for the next insert on that
  // connection, and an insert without a token into a table with a deduplication window was dropped
  // as a copy of the earlier one.
  test('an insert without a token after one with a token is stored', async () => {
    await a.command({ query: 'CREATE TABLE IF NOT EXISTS default.dedupe_token_probe (n UInt32) ENGINE = MergeTree ORDER BY n SETTINGS non_replicated_deduplication_window = 100' });
    await a.insert({ table: 'default.dedupe_token_probe', values: [{ n: 1 }], format: 'JSONEachRow', clickhouse_settings: { insert_deduplication_token: 'probe-1' } });
    await a.insert({ table: 'default.dedupe_token_probe', values: [{ n: 2 }], format: 'JSONEachRow' });
    await a.insert({ table: 'default.dedupe_token_probe', values: [{ n: 1 }], format: 'JSONEachRow', clickhouse_settings: { insert_deduplication_token: 'probe-1' } });
    const rows = await (await a.query({ query: 'SELECT n FROM default.dedupe_token_probe ORDER BY n', format: 'JSONEachRow' })).json<{ n: number }>();
    expect(rows).toEqual([{ n: 1 }, { n: 2 }]);
  });
});
