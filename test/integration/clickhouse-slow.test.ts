// ClickHouse slow under load: every answer from a real ClickHouse server is held 1.5 s on the way
// back (a slow network, through a TCP proxy). The ingest pushes back with 503 + Retry-After once
// its buffer is full instead of growing, acknowledges only what is stored, and every event ends
// up counted once.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startClickHouseServer } from '../helpers/clickhouse-server.js';
import { deliveredOnce, faultEvents, sampleMax, startSenders } from '../helpers/fault-load.js';
import { startSlowProxy } from '../helpers/slow-proxy.js';
import { startStack, type Stack } from '../helpers/stack.js';

const EVENTS = 3_000;
const PER_REQUEST = 50;
const BUFFER_MAX_ROWS = 500;

describe('ClickHouse slow', () => {
  let server: Awaited<ReturnType<typeof startClickHouseServer>>;
  let proxy: Awaited<ReturnType<typeof startSlowProxy>>;
  let stack: Stack;
  beforeAll(async () => {
    server = await startClickHouseServer();
    proxy = await startSlowProxy(Number(new URL(server.url).port));
    stack = await startStack({ CLICKHOUSE_URL: proxy.url, CLICKHOUSE_DATA_DIR: '', BUFFER_MAX_ROWS, BATCH_MAX_AGE_MS: 100 });
  }, 90_000);
  afterAll(async () => {
    proxy?.setDelay(0);
    await stack?.stop().catch(() => undefined);
    await proxy?.close();
    await server?.stop();
  });

  test('503 + Retry-After when the buffer is full, a bounded buffer, and every event stored once', async () => {
    proxy.setDelay(1_500);
    const { requests, sent } = faultEvents({ events: EVENTS, perRequest: PER_REQUEST, users: 30, userBase: 2_000_000, source: '/test/slow', startMs: Date.now() - 3_600_000 });
    const buffered = sampleMax(() => stack.ingest.writer.bufferedRows);
    const load = startSenders(`${stack.ingestUrl}/`, requests, { senders: 16, retryMs: 200 });
    await load.done;
    proxy.setDelay(0);

    expect(load.statuses.filter((s) => s === 503).length).toBeGreaterThan(0);
    expect(load.statuses.filter((s) => s !== 200 && s !== 503)).toEqual([]);
    expect(load.retryAfter.every((v) => v !== null && Number(v) >= 1)).toBe(true);
    expect(buffered.stop()).toBeLessThanOrEqual(BUFFER_MAX_ROWS + PER_REQUEST);

    const report = await deliveredOnce(stack, sent);
    expect(report).toMatchObject({ sent: EVENTS, stored: EVENTS, missing: [], duplicated: [], unexpected: [] });
  }, 240_000);
});
