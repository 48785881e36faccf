// The ingest's own HTTP edge (POST / is plain node:http, the rest express): limits and answers
// that do not depend on the events. Real embedded ClickHouse and PostgreSQL through startStack.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';

describe('ingest HTTP edge', () => {
  let stack: Stack;
  beforeAll(async () => { stack = await startStack(); });
  afterAll(async () => stack?.stop());

  const postRaw = (headers: Record<string, string>, body: string | Uint8Array) =>
    fetch(`${stack.ingestUrl}/`, { method: 'POST', headers, body: body as BodyInit }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));

  test('a body over 32 MiB is refused with 413 and a problem body', async () => {
    const big = Buffer.alloc(32 * 1024 * 1024 + 1, 0x20);
    const a = await postRaw({ 'content-type': 'application/cloudevents-batch+json' }, big);
    expect(a).toEqual({ status: 413, body: { code: 'too_large', detail: 'the body is larger than 33554432 bytes' } });
  });

  test('a compressed body is refused with 415 before it is read', async () => {
    const a = await postRaw({ 'content-type': 'application/cloudevents-batch+json', 'content-encoding': 'gzip' }, Buffer.from([0x1f, 0x8b, 0, 0]));
    expect(a).toEqual({ status: 415, body: { code: 'unsupported_encoding', field: 'content-encoding', detail: 'content-encoding "gzip" is not accepted; send the body uncompressed' } });
  });

  test('an empty batch is answered 200 with nothing stored', async () => {
    expect(await postRaw({ 'content-type': 'application/cloudevents-batch+json' }, '[]')).toEqual({ status: 200, body: { stored: 0, duplicates: 0, dead_lettered: 0, rejected: [] } });
  });

  test('an event id in capitals is the same event: the second copy is a duplicate', async () => {
    const event = { event_id: 'ABCDEF01-2345-4678-89AB-CDEF01234567', user_id: '3f2b8c1e-5d4a-4e6f-9a7b-1c2d3e4f5a6b', event_type: 'login', timestamp: new Date(Date.now() - 60_000).toISOString() };
    const send = (id: string) => postRaw({ 'content-type': 'application/cloudevents-batch+json' },
      JSON.stringify([{ specversion: '1.0', id: `ce-${id}`, source: '/test/case', type: 'ecommerce.user_event.v1', datacontenttype: 'application/json', data: { ...event, event_id: id } }]));
    expect((await send(event.event_id)).body).toMatchObject({ stored: 1, duplicates: 0 });
    expect((await send(event.event_id.toLowerCase())).body).toMatchObject({ stored: 0, duplicates: 1 });
  });

  test('other routes stay on express: health, metrics with the in-flight gauge, 404 elsewhere', async () => {
    expect((await fetch(`${stack.ingestUrl}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${stack.ingestUrl}/metrics`)).text()).toContain('speed_layer_in_flight_requests');
    expect((await fetch(`${stack.ingestUrl}/elsewhere`, { method: 'POST', body: '{}' })).status).toBe(404);
  });

  test('the in-flight gauge returns to zero once requests are answered', async () => {
    await Promise.all(Array.from({ length: 20 }, () => postRaw({ 'content-type': 'application/cloudevents-batch+json' }, '[]')));
    const inFlight = (await stack.metrics.inFlight.get()).values[0]?.value;
    expect(inFlight).toBe(0);
  });
});
