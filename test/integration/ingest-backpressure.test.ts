// Back-pressure never costs an event: a request refused with 503 is stored when the sender retries
// it (its ids are not kept as "seen"), and a duplicate is answered 2xx only once its original is
// stored. Real embedded ClickHouse and PostgreSQL through startStack.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CloudEvent } from 'cloudevents';
import { EVENT_CE_TYPE } from '../../functions/cloudevents/index.js';
import { encode, post } from '../../generator/cloudevents.js';
import { eventAt, idOf } from '../unit/builders.js';
import { startStack, waitFor, type Stack } from '../helpers/stack.js';

const t0 = Date.now() - 60_000;
const request = (ids: number[]) =>
  encode('batch', ids.map((n) => new CloudEvent({ id: `ce-${n}`, source: '/test/backpressure', type: EVENT_CE_TYPE, datacontenttype: 'application/json', data: eventAt(t0 + n, { id: n }) }, false)));

describe('ingest under back-pressure', () => {
  let stack: Stack;
  beforeAll(async () => {
    // Room for 5 buffered rows; the batch is flushed by age only (no idle flush), so the buffer
    // stays full meanwhile.
    stack = await startStack({ BUFFER_MAX_ROWS: 5, BATCH_MAX_AGE_MS: 1_500, BATCH_MAX_INSERTS_PER_S: 0 });
  });
  afterAll(async () => stack?.stop());

  const storedIds = async (ids: number[]) =>
    (await stack.query<{ id: string }>('SELECT toString(event_id) AS id FROM {db}.user_events_realtime WHERE event_id IN {ids:Array(UUID)} AND sign = 1', { ids: ids.map(idOf) })).map((r) => r.id).sort();

  test('a 503 answer is not remembered as seen: the retry is stored, and a duplicate waits for its original', async () => {
    const first = post(stack.ingestUrl, request([1, 2, 3, 4, 5]));
    await waitFor(() => (stack.ingest.writer.bufferedRows === 5 ? true : undefined), 'the buffer to fill');

    const refused = await post(stack.ingestUrl, request([6, 7, 8]));
    expect(refused.status).toBe(503);

    // A redelivery of event 1 while its original is still buffered: answered only with the original.
    let duplicateAnswered = false;
    const duplicate = post(stack.ingestUrl, request([1])).then((a) => { duplicateAnswered = true; return a; });
    await new Promise((r) => setTimeout(r, 50));
    expect(duplicateAnswered).toBe(false);

    expect(await first).toMatchObject({ status: 200, body: { stored: 5 } });
    expect(await duplicate).toMatchObject({ status: 200, body: { stored: 0, duplicates: 1 } });
    expect(await storedIds([1, 2, 3, 4, 5])).toEqual([1, 2, 3, 4, 5].map(idOf));

    // The sender retries the refused request: its events are new to the ingest, not duplicates.
    expect(await post(stack.ingestUrl, request([6, 7, 8]))).toMatchObject({ status: 200, body: { stored: 3, duplicates: 0 } });
    expect(await storedIds([1, 2, 3, 4, 5, 6, 7, 8])).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map(idOf));
  });

  test('a duplicate of an event whose batch is lost is not answered 2xx', async () => {
    const replica = await stack.startReplica();
    const original = post(replica.url, request([20, 21])).catch((err: Error) => ({ status: 0, body: err.message }));
    await new Promise((r) => setTimeout(r, 100));
    const duplicate = post(replica.url, request([20])).catch((err: Error) => ({ status: 0, body: err.message }));
    await new Promise((r) => setTimeout(r, 100));
    replica.kill(); // the pod dies with both requests unanswered
    expect((await original).status).not.toBe(200);
    expect((await duplicate).status).not.toBe(200);
    expect(await storedIds([20, 21])).toEqual([]);
  });
});
