// ClickHouse unavailable for 30 s under load: a real ClickHouse server (HTTP) is killed -9 mid-stream
// and started again on the same data. The ingest answers 503 (with Retry-After) and acknowledges
// nothing it has not stored, its buffer stays bounded, and once the server is back the backlog
// drains: every event is counted exactly once in the table and in the views.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CloudEvent } from 'cloudevents';
import { EVENT_CE_TYPE } from '../../functions/steps/decode.js';
import { encode, post } from '../../generator/cloudevents.js';
import { eventAt, idOf } from '../unit/builders.js';
import { startClickHouseServer } from '../helpers/clickhouse-server.js';
import { checkDelivery, STORED_ROWS_SQL, type Sent, type StoredRow } from '../helpers/fault-checker.js';
import { startStack, waitFor, type Stack } from '../helpers/stack.js';

const EVENTS = 3_000;
const PER_REQUEST = 50;
const BUFFER_MAX_ROWS = 2_000;
const OUTAGE_MS = 30_000;
const t0 = Date.now() - 3_600_000;
const userOf = (n: number) => idOf(1_000_000 + (n % 40));

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
    const requests = Array.from({ length: EVENTS / PER_REQUEST }, (_, r) =>
      encode('batch', Array.from({ length: PER_REQUEST }, (_, i) => {
        const n = r * PER_REQUEST + i;
        return new CloudEvent({ id: `ce-${n}`, source: '/test/outage', type: EVENT_CE_TYPE, datacontenttype: 'application/json', data: eventAt(t0 + n * 1_000, { id: n, user: userOf(n) }) }, false);
      })));
    const statuses: number[] = [];
    let maxBuffered = 0;
    const sampler = setInterval(() => { maxBuffered = Math.max(maxBuffered, stack.ingest.writer.bufferedRows); }, 20);

    // A sender that retries until it gets 200, as KafkaSource does (honouring Retry-After).
    let next = 0;
    const sender = async () => {
      while (next < requests.length) {
        const msg = requests[next++]!;
        for (;;) {
          const a = await post(`${stack.ingestUrl}/`, msg).catch(() => ({ status: 0, body: undefined }));
          statuses.push(a.status);
          if (a.status === 200) break;
          await new Promise((r) => setTimeout(r, 500));
        }
        await new Promise((r) => setTimeout(r, 100)); // ~ 8 senders x 50 events / 0.1 s: a steady stream
      }
    };
    const sending = Promise.all(Array.from({ length: 8 }, sender));

    await waitFor(() => (next >= requests.length / 4 ? true : undefined), 'a quarter of the stream sent', 60_000, 20);
    await server.kill();
    const downAt = statuses.length;
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    const during = statuses.slice(downAt);
    await server.restart();
    await sending;
    clearInterval(sampler);

    expect(during.filter((s) => s === 503).length).toBeGreaterThan(0);
    expect(during.filter((s) => s === 200).length).toBe(0); // nothing acknowledged while nothing could be stored
    expect(statuses.filter((s) => s !== 200 && s !== 503)).toEqual([]);
    expect(maxBuffered).toBeLessThanOrEqual(BUFFER_MAX_ROWS + PER_REQUEST);

    // Copies stored twice (a batch that landed after its senders were told 503 and retried) are
    // cancelled by the sessionizer: every id ends with exactly one net copy, in the table and the views.
    // The producer's log (each event with its user and per-user sequence number) against ClickHouse.
    const sent: Sent[] = Array.from({ length: EVENTS }, (_, n) => ({ event_id: idOf(n), user_id: userOf(n), seq: n }));
    const report = await waitFor(async () => {
      const r = checkDelivery(sent, await stack.query<StoredRow>(STORED_ROWS_SQL));
      return r.missing.length + r.duplicated.length + r.unexpected.length === 0 ? r : undefined;
    }, 'every event stored once net (no missing, duplicated or unexpected event)', 60_000, 500);
    expect(report).toMatchObject({ sent: EVENTS, stored: EVENTS, missing: [], duplicated: [], unexpected: [] });
    const [total] = await stack.query<{ net: string }>('SELECT sum(sign) AS net FROM {db}.user_events_realtime');
    expect(Number(total!.net)).toBe(EVENTS);
    const types = await stack.api<{ events: number }[]>(`/api/event-types?from=${new Date(t0 - 60_000).toISOString()}&to=${new Date(t0 + EVENTS * 1_000 + 60_000).toISOString()}`);
    expect(types.reduce((s, t) => s + t.events, 0)).toBe(EVENTS);
  }, 240_000);
});
