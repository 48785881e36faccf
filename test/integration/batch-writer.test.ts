// The batch writer against the real embedded ClickHouse: a row ClickHouse refuses for good (it
// passed validation, but the engine cannot parse it) goes to dead_letter_events with reason
// storage_rejected, and the stream goes on; it must not be retried as if ClickHouse were down.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
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
