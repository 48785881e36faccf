// ClickHouse slow under load: every answer from a real ClickHouse server is held 1 s on the way
// back (a slow network, through a TCP proxy). Each request is a batch of its own (BATCH_MAX_ROWS =
// its size), so ten requests queue ten 1-s inserts: rows taken then could not be acknowledged within
// ACK_BUDGET_MS, and the breaker must open, whatever the machine's speed. The buffer refuses rows past
// BUFFER_MAX_ROWS: 503 + Retry-After instead of growing. The ingest acknowledges only what is stored,
// the breaker closes once ClickHouse is fast again, and every event is counted once.
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startClickHouseServer } from '../helpers/clickhouse-server.js';
import { deliveredOnce, faultEvents, sampleMax, startSenders } from '../helpers/fault-load.js';
import { startSlowProxy } from '../helpers/slow-proxy.js';
import { startStack, waitFor, type Stack } from '../helpers/stack.js';

const EVENTS = 3_000;
const PER_REQUEST = 200;
const BUFFER_MAX_ROWS = 10 * PER_REQUEST;
const DELAY_MS = 1_000;
// Ten queued 1-s inserts predict about 10 s; half that opens the breaker with room to spare.
const ACK_BUDGET_MS = 5_000;

describe('ClickHouse slow', () => {
  let server: Awaited<ReturnType<typeof startClickHouseServer>>;
  let proxy: Awaited<ReturnType<typeof startSlowProxy>>;
  let stack: Stack;
  beforeAll(async () => {
    server = await startClickHouseServer();
    proxy = await startSlowProxy(Number(new URL(server.url).port));
    stack = await startStack({ CLICKHOUSE_URL: proxy.url, CLICKHOUSE_DATA_DIR: '', BUFFER_MAX_ROWS, BATCH_MAX_ROWS: PER_REQUEST, BATCH_MAX_AGE_MS: 100, ACK_BUDGET_MS });
  }, 90_000);
  afterAll(async () => {
    proxy?.setDelay(0);
    await stack?.stop().catch(() => undefined);
    await proxy?.close();
    await server?.stop();
  });

  test('the breaker opens, 503 + Retry-After, a bounded buffer, the breaker closes, and every event stored once', async () => {
    proxy.setDelay(DELAY_MS);
    const { requests, sent } = faultEvents({ events: EVENTS, perRequest: PER_REQUEST, users: 30, userBase: 2_000_000, source: '/test/slow', startMs: Date.now() - 3_600_000 });
    const buffered = sampleMax(() => stack.ingest.writer.bufferedRows);
    const breakerOpen = sampleMax(() => (stack.ingest.writer.breakerOpen ? 1 : 0));
    const load = startSenders(`${stack.ingestUrl}/`, requests, { senders: 16, retryMs: 200 });
    // While the breaker is open a request is refused at the door: answered before its body is read
    // (one announced and never finished), so a sender's retries cost no parsing.
    await waitFor(() => (stack.ingest.writer.refusal() ? true : undefined), 'the breaker to open', 60_000, 0);
    const atTheDoor = await unfinishedRequest(`${stack.ingestUrl}/`);
    expect(atTheDoor.status).toBe(503);
    expect(Number(atTheDoor.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(atTheDoor.body)).toMatchObject({ code: 'unavailable' });
    await load.done;
    proxy.setDelay(0);

    expect(load.statuses.filter((s) => s === 503).length).toBeGreaterThan(0);
    expect(load.statuses.filter((s) => s !== 200 && s !== 503)).toEqual([]);
    expect(load.retryAfter.every((v) => v !== null && Number(v) >= 1)).toBe(true);
    expect(buffered.stop()).toBeLessThanOrEqual(BUFFER_MAX_ROWS + PER_REQUEST);
    expect(breakerOpen.stop()).toBe(1);
    const opens = (await stack.metrics.clickhouseBreakerOpens.get()).values;
    expect(opens.find((v) => v.labels.reason === 'slow')?.value ?? 0).toBeGreaterThanOrEqual(1);
    expect(opens.find((v) => v.labels.reason === 'failing')).toBeUndefined();

    const report = await deliveredOnce(stack, sent);
    expect(report).toMatchObject({ sent: EVENTS, stored: EVENTS, missing: [], duplicated: [], unexpected: [] });
    // Fast again: an idle writer takes each request as a probe, and the fast probes close the breaker.
    let probes = 0;
    await waitFor(async () => {
      const probe = faultEvents({ events: 1, perRequest: 1, users: 1, userBase: 2_100_000, source: '/test/slow-after', startMs: Date.now() - 60_000, firstId: EVENTS + probes++ });
      const res = await fetch(`${stack.ingestUrl}/`, { method: 'POST', ...probe.requests[0]! });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ stored: 1 });
      return stack.ingest.writer.breakerOpen ? undefined : true;
    }, 'the breaker closed after fast probes', 30_000, 0);
    expect(await stack.metrics.clickhouseBreakerOpen.get()).toMatchObject({ values: [{ value: 0 }] });
  }, 240_000);
});

/** POSTs a body announced as 100 kB of which only a few bytes are ever sent; resolves with the answer. */
function unfinishedRequest(url: string) {
  return new Promise<{ status: number; retryAfter: string | undefined; body: string }>((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/cloudevents-batch+json', 'content-length': '100000' } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => { body += c; }).on('end', () => {
        resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], body });
        req.destroy();
      });
    });
    // No answer while the body is unfinished: what a check after reading the body would give.
    const timer = setTimeout(() => { resolve({ status: 0, retryAfter: undefined, body: '{}' }); req.destroy(); }, 5_000);
    req.on('close', () => clearTimeout(timer));
    req.on('error', (err) => { if (!req.destroyed) reject(err); });
    req.write('[{"specversion":"1.0"');
  });
}
