// ClickHouse slow under load: every answer from a real ClickHouse server is held 1.5 s on the way
// back (a slow network, through a TCP proxy). The ingest pushes back with 503 + Retry-After once
// its buffer is full instead of growing, acknowledges only what is stored, and every event ends
// up counted once.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CloudEvent } from 'cloudevents';
import { EVENT_CE_TYPE } from '../../functions/steps/decode.js';
import { encode } from '../../generator/cloudevents.js';
import { eventAt, idOf } from '../unit/builders.js';
import { startClickHouseServer } from '../helpers/clickhouse-server.js';
import { startSlowProxy } from '../helpers/slow-proxy.js';
import { checkDelivery, STORED_ROWS_SQL, type Sent, type StoredRow } from '../helpers/fault-checker.js';
import { startStack, waitFor, type Stack } from '../helpers/stack.js';

const EVENTS = 3_000;
const PER_REQUEST = 50;
const BUFFER_MAX_ROWS = 500;
const t0 = Date.now() - 3_600_000;

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
    const requests = Array.from({ length: EVENTS / PER_REQUEST }, (_, r) =>
      encode('batch', Array.from({ length: PER_REQUEST }, (_, i) => {
        const n = r * PER_REQUEST + i;
        return new CloudEvent({ id: `ce-${n}`, source: '/test/slow', type: EVENT_CE_TYPE, datacontenttype: 'application/json', data: eventAt(t0 + n * 1_000, { id: n, user: idOf(2_000_000 + (n % 30)) }) }, false);
      })));
    const statuses: number[] = [];
    const retryAfter: (string | null)[] = [];
    let maxBuffered = 0;
    const sampler = setInterval(() => { maxBuffered = Math.max(maxBuffered, stack.ingest.writer.bufferedRows); }, 20);
    let next = 0;
    const sender = async () => {
      while (next < requests.length) {
        const msg = requests[next++]!;
        for (;;) {
          const res = await fetch(`${stack.ingestUrl}/`, { method: 'POST', headers: msg.headers, body: msg.body });
          await res.arrayBuffer();
          statuses.push(res.status);
          if (res.status === 200) break;
          retryAfter.push(res.headers.get('retry-after'));
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    };
    await Promise.all(Array.from({ length: 16 }, sender));
    clearInterval(sampler);
    proxy.setDelay(0);

    expect(statuses.filter((s) => s === 503).length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s !== 200 && s !== 503)).toEqual([]);
    expect(retryAfter.every((v) => v !== null && Number(v) >= 1)).toBe(true);
    expect(maxBuffered).toBeLessThanOrEqual(BUFFER_MAX_ROWS + PER_REQUEST);

    // The producer's log (each event with its user and per-user sequence number) against ClickHouse.
    const sent: Sent[] = Array.from({ length: EVENTS }, (_, n) => ({ event_id: idOf(n), user_id: idOf(2_000_000 + (n % 30)), seq: n }));
    const report = await waitFor(async () => {
      const r = checkDelivery(sent, await stack.query<StoredRow>(STORED_ROWS_SQL));
      return r.missing.length + r.duplicated.length + r.unexpected.length === 0 ? r : undefined;
    }, 'every event stored once net (no missing, duplicated or unexpected event)', 60_000, 500);
    expect(report).toMatchObject({ sent: EVENTS, stored: EVENTS, missing: [], duplicated: [], unexpected: [] });
  }, 240_000);
});
