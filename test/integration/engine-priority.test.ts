// The embedded engine's own threads run at a lower CPU priority than the JavaScript thread
// (functions/adapters/engine-priority.ts): every engine thread ends up at the nice asked for, the
// main thread and Node's own threads keep theirs.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { createClickHouse } from '../../functions/adapters/clickhouse.js';
import { lowerEnginePriority } from '../../functions/adapters/engine-priority.js';
import { waitFor } from '../../local/wait-for.js';

const dir = mkdtempSync(join(tmpdir(), 'engine-priority-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Thread = { tid: number; comm: string; nice: number };
function threads(): Thread[] {
  const out: Thread[] = [];
  for (const tid of readdirSync(`/proc/${process.pid}/task`)) {
    try {
      out.push({ tid: Number(tid), comm: readFileSync(`/proc/${process.pid}/task/${tid}/comm`, 'latin1').trim(), nice: getPriority(Number(tid)) });
    } catch {
      // ended since the listing
    }
  }
  return out;
}

test('engine threads go to the nice asked for; the main thread and Node\'s threads keep theirs', async () => {
  const ch = await createClickHouse({ CLICKHOUSE_URL: '', CLICKHOUSE_USER: '', CLICKHOUSE_PASSWORD: '', CLICKHOUSE_DATA_DIR: dir });
  // A parallel query, so the engine's pool has threads of its own.
  await (await ch.query({ query: 'SELECT number % 7 AS k, count() FROM numbers(20000000) GROUP BY k SETTINGS max_threads = 4', format: 'JSONEachRow' })).json();
  const before = new Map(threads().map((t) => [t.tid, t.nice]));
  const mainNice = getPriority(process.pid);
  const target = Math.min(19, mainNice + 7);

  lowerEnginePriority(target, 50);
  const engine = (t: Thread) => t.tid !== process.pid && t.comm !== 'node';
  await waitFor(() => threads().filter(engine).every((t) => t.nice >= target), { message: 'engine threads not reniced' });

  const now = threads();
  expect(now.filter(engine).length).toBeGreaterThan(3);
  expect(getPriority(process.pid)).toBe(mainNice);
  for (const t of now.filter((x) => !engine(x) && before.has(x.tid))) expect(t.nice, `${t.comm} ${t.tid}`).toBe(before.get(t.tid));
  await ch.close();
});
