// ClickHouse unavailable for 30 s under load: a real ClickHouse server (HTTP) is killed -9 mid-stream
// and started again on the same data. The ingest answers 503 (with Retry-After) and acknowledges
// nothing it has not stored, its buffer stays bounded, and once the server is back the backlog
// drains: every event is counted exactly once in the table and in the views.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startClickHouseServer } from '../helpers/clickhouse-server.js';
import { deliveredOnce, faultEvents, sampleMax, startSenders } from '../helpers/fault-load.js';
import { startStack, waitFor, type Stack } from '../helpers/stack.js';

const EVENTS = 3_000;
const PER_REQUEST = 50;
const BUFFER_MAX_ROWS = 2_000;
const OUTAGE_MS = 30_000;
const t0 = Date.now() - 3_600_000;

describe('ClickHouse down for 30 s', () => {
  let server: Awaited<ReturnType<typeof startClickHouseServer>>;
  let stack: Stack;
  beforeAll(async () => {
    server = await startClickHouseServer();
    stack = await startStack({ CLICKHOUSE_URL: server.url, CLICKHOUSE_DATA_DIR: '', INSERT_MAX_RETRIES: 3, BUFFER_MAX_ROWS, BATCH_MAX_AGE_MS: 200 });
  }, 90_000);
  afterAll(async () => {
    await stack?.stop().catch(() => undefined);
    await server?.stop();
  });

  test('503 while it is down, nothing acknowledged unstored, bounded buffer, every event counted once after', async () => {
    const { requests, sent } = faultEvents({ events: EVENTS, perRequest: PER_REQUEST, users: 40, userBase: 1_000_000, source: '/test/outage', startMs: t0 });
    const buffered = sampleMax(() => stack.ingest.writer.bufferedRows);
    // ~ 8 senders x 50 events every 0.1 s: a steady stream.
    const load = startSenders(`${stack.ingestUrl}/`, requests, { senders: 8, retryMs: 500, pauseMs: 100 });

    await waitFor(() => (load.started >= requests.length / 4 ? true : undefined), 'a quarter of the stream sent', 60_000, 20);
    await server.kill();
    const downAt = load.statuses.length;
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    const during = load.statuses.slice(downAt);
    await server.restart();
    await load.done;

    expect(during.filter((s) => s === 503).length).toBeGreaterThan(0);
    expect(during.filter((s) => s === 200).length).toBe(0); // nothing acknowledged while nothing could be stored
    expect(load.statuses.filter((s) => s !== 200 && s !== 503)).toEqual([]);
    expect(buffered.stop()).toBeLessThanOrEqual(BUFFER_MAX_ROWS + PER_REQUEST);

    // Copies stored twice (a batch that landed after its senders were told 503 and retried) are
    // cancelled by the sessionizer: every id ends with exactly one net copy, in the table and the views.
    const report = await deliveredOnce(stack, sent);
    expect(report).toMatchObject({ sent: EVENTS, stored: EVENTS, missing: [], duplicated: [], unexpected: [] });
    const [total] = await stack.query<{ net: string }>('SELECT sum(sign) AS net FROM {db}.user_events_realtime');
    expect(Number(total!.net)).toBe(EVENTS);
    const types = await stack.api<{ events: number }[]>(`/api/event-types?from=${new Date(t0 - 60_000).toISOString()}&to=${new Date(t0 + EVENTS * 1_000 + 60_000).toISOString()}`);
    expect(types.reduce((s, t) => s + t.events, 0)).toBe(EVENTS);
  }, 240_000);
});
