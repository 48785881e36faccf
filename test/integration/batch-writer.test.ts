// The batch writer against the real embedded ClickHouse: a row ClickHouse refuses for good (it
// passed validation, but the engine cannot parse it) goes to dead_letter_events with reason
// storage_rejected, and the stream goes on; it must not be retried as if ClickHouse were down.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createBatchWriter } from '../../functions/adapters/batch-writer.js';
import { createLogger } from '../../functions/core/log.js';
import { loadConfig } from '../../functions/core/config.js';
import { createMetrics } from '../../functions/core/metrics.js';
import { eventRow } from '../../functions/steps/to-row.js';
import { eventAt, idOf } from '../unit/builders.js';
import { startStack, type Stack } from '../helpers/stack.js';

describe('batch writer: rows ClickHouse will never take', () => {
  let stack: Stack;
  beforeAll(async () => { stack = await startStack({ BATCH_MAX_AGE_MS: 50, INSERT_MAX_RETRIES: 2 }); });
  afterAll(async () => stack?.stop());

  const row = (n: number, patch: Record<string, unknown> = {}) => ({ ...eventRow(eventAt(Date.now() - 60_000 + n, { id: n }), 'Gold', Date.now()), ...patch });

  test.each([
    ['an id ClickHouse cannot parse as a UUID (code 376)', { event_id: 'urn:uuid:0b1c2d3e-4f50-4617-8829-3a4b5c6d7e8f' }],
    ['a lone surrogate in a string (code 25)', { page_url: '/p/\ud800' }],
    ['a time ClickHouse cannot read (code 41)', { timestamp: 'half past ten' }],
  ])('%s: dead-lettered as storage_rejected, and the next batch is stored', async (_what, patch) => {
    const n = Math.floor(Math.random() * 1e9);
    const rejected = async () => Number((await stack.query<{ n: string }>("SELECT count() AS n FROM {db}.dead_letter_events WHERE reason = 'storage_rejected'"))[0]!.n);
    const before = await rejected();
    await stack.ingest.writer.add({ user_events_realtime: [row(n, patch)] });
    expect(stack.ingest.writer.healthy).toBe(true);
    await stack.ingest.writer.add({ user_events_realtime: [row(n + 1)] });
    expect(await rejected()).toBe(before + 1);
    const stored = await stack.query<{ n: string }>('SELECT count() AS n FROM {db}.user_events_realtime WHERE event_id = {id:UUID}', { id: idOf(n + 1) });
    expect(Number(stored[0]!.n)).toBe(1);
  });
});

describe('batch writer: the speed_layer_buffered_rows gauge', () => {
  let stack: Stack;
  beforeAll(async () => { stack = await startStack({ BATCH_MAX_AGE_MS: 50 }); });
  afterAll(async () => stack?.stop());
  const gauge = async () => (await stack.metrics.bufferedRows.get()).values[0]?.value;
  const row = (n: number) => eventRow(eventAt(Date.now() - 60_000 + n, { id: n }), 'Gold', Date.now());

  // Was set only when rows were added: after the last batch was stored it kept saying rows were
  // waiting (a dashboard, an alert or a test judging "mid-batch" from /metrics was misled).
  test('counts rows while they wait and drops back to 0 once they are stored', async () => {
    const n = 2_000_000_000 + Math.floor(Math.random() * 1e6);
    const stored = stack.ingest.writer.add({ user_events_realtime: [row(n), row(n + 1), row(n + 2)] });
    expect(await gauge()).toBe(3);
    await stored;
    expect(await gauge()).toBe(0);
    const text = await (await fetch(`${stack.ingestUrl}/metrics`)).text();
    expect(text).toMatch(/^speed_layer_buffered_rows 0$/m);
  });

  test('drops to 0 when the buffer is lost (abort, as a crash)', async () => {
    const metrics = createMetrics();
    const replica = createBatchWriter({ database: stack.db, maxRows: 10_000, maxAgeMs: 5_000, bufferMaxRows: 10_000, maxRetries: 1, ackBudgetMs: 60_000, insertsPerS: loadConfig().BATCH_MAX_INSERTS_PER_S },
      { ch: stack.ch, metrics, log: createLogger('test', 'fatal') });
    const lost = replica.add({ user_events_realtime: [row(1), row(2)] }).catch((e: Error) => e.message);
    expect((await metrics.bufferedRows.get()).values[0]?.value).toBe(2);
    replica.abort();
    expect(await lost).toBe('aborted');
    expect((await metrics.bufferedRows.get()).values[0]?.value).toBe(0);
  });
});
