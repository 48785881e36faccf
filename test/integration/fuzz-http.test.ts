// Fuzz over real HTTP: 2,000 seeded mutations of valid requests (the generator of the in-process
// fuzz) against a startStack ingest on the embedded ClickHouse and PostgreSQL. Every answer must be
// 200 with a summary or 4xx with a problem body; no 5xx; the process keeps serving; every event
// answered stored is in ClickHouse.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { fuzzRequests } from '../unit/fuzz-mutations.js';

const CASES = Number(process.env.FUZZ_HTTP_CASES ?? 2_000);
const CONCURRENCY = 8;

let stack: Stack;
beforeAll(async () => { stack = await startStack({ BATCH_MAX_AGE_MS: 100 }); });
afterAll(async () => stack?.stop());

describe('fuzz over HTTP', () => {
  test(`${CASES.toLocaleString('en')} mutated requests: only 200 or 4xx, each with a valid body`, async () => {
    const requests = fuzzRequests(424242, CASES, Date.now());
    const statuses: Record<number, number> = {};
    const bad: string[] = [];
    let stored = 0;
    let next = 0;
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onUncaught);
    try {
      await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
        while (next < requests.length) {
          const i = next++;
          const req = requests[i]!;
          const r = await fetch(`${stack.ingestUrl}/`, { method: 'POST', headers: req.headers, body: new Uint8Array(req.body) });
          statuses[r.status] = (statuses[r.status] ?? 0) + 1;
          const text = await r.text();
          let body: Record<string, unknown>;
          try { body = JSON.parse(text) as Record<string, unknown>; } catch { bad.push(`#${i}: ${r.status} not JSON: ${text.slice(0, 100)}`); continue; }
          if (r.status === 200) {
            const ok = ['stored', 'duplicates', 'dead_lettered'].every((k) => Number.isInteger(body[k])) && Array.isArray(body.rejected) && (body.rejected as unknown[]).length === body.dead_lettered;
            if (!ok) bad.push(`#${i}: 200 ${text.slice(0, 200)}`);
            stored += Number(body.stored);
          } else if (r.status >= 400 && r.status < 500) {
            const ok = typeof body.code === 'string' && typeof body.detail === 'string' && (body.detail as string).length <= 512 && Object.keys(body).every((k) => ['code', 'field', 'detail'].includes(k));
            if (!ok) bad.push(`#${i}: ${r.status} ${text.slice(0, 200)}`);
          } else {
            bad.push(`#${i} (${req.mode}): ${r.status} ${text.slice(0, 300)}`);
          }
        }
      }));
    } finally {
      process.off('uncaughtException', onUncaught);
      process.off('unhandledRejection', onUncaught);
    }
    console.log(JSON.stringify({ cases: CASES, statuses, stored, bad: bad.length }));
    expect(bad).toEqual([]);
    expect(uncaught).toEqual([]);
    expect(Object.keys(statuses).every((s) => s === '200' || s.startsWith('4'))).toBe(true);
    // Still serving, and every event answered as stored is in ClickHouse.
    expect((await fetch(`${stack.ingestUrl}/readyz`)).status).toBe(200);
    const [row] = await stack.query<{ n: string }>('SELECT (SELECT count() FROM {db}.user_events_realtime) + (SELECT count() FROM {db}.transactions_realtime) AS n');
    expect(Number(row!.n)).toBe(stored);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
