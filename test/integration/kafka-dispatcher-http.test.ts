// The dispatcher's HTTP side without a broker: connection reuse, the delivery timeout, a reset
// on a reused socket, cancellation, Retry-After. A real node:http server on a free port each.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { KafkaMessage } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { Cancellation, sleep } from '../../local/dispatcher/cancel.js';
import { parseDispatcherConfig, type DispatcherConfigInput } from '../../local/dispatcher/config.js';
import { createDelivery, type DeliveryCounters } from '../../local/dispatcher/delivery.js';
import { createHttpSender, type HttpSender } from '../../local/dispatcher/http-sender.js';
import { createLimiter } from '../../local/dispatcher/limiter.js';
import { testLogger } from '../helpers/kafka-env.js';
import { waitFor } from '../../local/wait-for.js';

type Handler = (req: IncomingMessage, res: ServerResponse, seq: number) => void;

interface TestServer {
  readonly url: string;
  /** TCP connections accepted so far. */
  connections(): number;
  /** Connections the client (or the server) has closed. */
  closed(): number;
  requests(): number;
  setHandler(handler: Handler): void;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function startServer(handler: Handler, keepAliveTimeoutMs = 60_000): Promise<TestServer> {
  let current = handler;
  let connections = 0;
  let closed = 0;
  let requests = 0;
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const seq = requests++;
    req.resume();
    req.on('end', () => current(req, res, seq));
  });
  server.keepAliveTimeout = keepAliveTimeoutMs;
  server.on('connection', (socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => { closed += 1; sockets.delete(socket); });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => {
    for (const socket of sockets) socket.destroy();
    server.close(() => resolve());
  }));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    connections: () => connections,
    closed: () => closed,
    requests: () => requests,
    setHandler: (h) => { current = h; },
  };
}

function sender(maxSockets: number, options?: { freeSocketTimeoutMs?: number }): HttpSender {
  const s = createHttpSender(maxSockets, options);
  cleanups.push(() => s.close());
  return s;
}


function record(offset: number): { topic: string; partition: number; message: KafkaMessage } {
  return {
    topic: 't', partition: 0,
    message: { offset: String(offset), key: null, value: Buffer.from('{}'), timestamp: '0', attributes: 0, headers: {} } as unknown as KafkaMessage,
  };
}

function delivery(sink: string, input: DispatcherConfigInput['delivery'], options: { waits?: number[]; freeSocketTimeoutMs?: number } = {}) {
  const config = parseDispatcherConfig({ bootstrapServers: '127.0.0.1:9092', topics: 't', sink, delivery: input });
  const counters: DeliveryCounters = { attempts: 0, retries: 0, failedAttempts: 0, failureReasons: {}, blockedRounds: 0 };
  const { waits } = options;
  const deliver = createDelivery(config, {
    sender: sender(16, { freeSocketTimeoutMs: options.freeSocketTimeoutMs }), counters, logger: testLogger(),
    // Records the waits instead of sleeping, so the test checks what was asked, not the clock.
    sleep: waits ? async (ms) => { waits.push(ms); } : undefined,
  });
  return { deliver, counters };
}

describe('dispatcher HTTP: connection reuse', () => {
  it('keeps every socket of a burst answered at once for the next burst (no reconnects)', async () => {
    // The ingest answers its held requests together when a micro-batch is stored: more than
    // Node's default 256 idle sockets come free at the same moment.
    const held: ServerResponse[] = [];
    const server = await startServer((_req, res) => { held.push(res); });
    const http = sender(1_000);
    const burst = 400;
    const release = async (): Promise<void> => {
      await waitFor(() => held.length === burst, { message: () => `${held.length} of ${burst} requests arrived` });
      for (const res of held.splice(0)) { res.writeHead(200); res.end(); }
    };
    const cancellation = new Cancellation();
    const send = (): Promise<number[]> => Promise.all(Array.from({ length: burst }, () => http.post(server.url, {}, Buffer.from('{}'), 30_000, cancellation).then((r) => r.status)));

    const first = send();
    await release();
    expect(new Set(await first)).toEqual(new Set([200]));
    expect(server.connections()).toBe(burst);

    const second = send();
    await release();
    expect(new Set(await second)).toEqual(new Set([200]));
    expect(server.connections()).toBe(burst);
    expect(cancellation.pending()).toBe(0);
  });

  it('closes idle sockets itself before the server would, and still waits for an answer held longer than that', async () => {
    // This server keeps idle sockets for 60 s (and says so in Keep-Alive); the client's own idle timeout is shorter.
    const server = await startServer((_req, res) => { setTimeout(() => { res.writeHead(200); res.end(); }, 300); });
    const { deliver, counters } = delivery(server.url, { retry: 0 }, { freeSocketTimeoutMs: 100 });
    // The answer takes longer than the idle timeout: an active request is not cut by it.
    expect(await deliver([record(0)], new Cancellation())).toBe('delivered');
    expect(counters).toMatchObject({ attempts: 1, failedAttempts: 0 });
    // Once idle, the client closes the socket (the server keeps it for 60 s).
    await waitFor(() => server.closed() === 1, { message: () => `closed ${server.closed()} of ${server.connections()}` });
    expect(await deliver([record(1)], new Cancellation())).toBe('delivered');
    expect(server.connections()).toBe(2);
    expect(counters).toMatchObject({ attempts: 2, failedAttempts: 0 });
  });
});

describe('dispatcher HTTP: failed attempts', () => {
  it('a hung request is destroyed at the delivery timeout and retried', async () => {
    const server = await startServer((_req, res, seq) => {
      if (seq === 0) return; // never answered
      res.writeHead(200);
      res.end();
    });
    const { deliver, counters } = delivery(server.url, { retry: 2, backoffDelay: 'PT0.01S', timeout: 'PT0.3S' });
    expect(await deliver([record(0)], new Cancellation())).toBe('delivered');
    expect(counters).toMatchObject({ attempts: 2, retries: 1, failedAttempts: 1, failureReasons: { 'no answer within 300 ms': 1 } });
    // The hung request's connection was closed by the client.
    await waitFor(() => server.closed() >= 1, { message: 'the hung connection stayed open' });
  });

  it('a reset on a reused keep-alive socket is a failed attempt, retried on a new connection (as KafkaSource counts it)', async () => {
    const server = await startServer((req, res, seq) => {
      // The second request arrives on the kept socket; the server drops the connection instead
      // of answering, as one closing an idle socket at that moment would.
      if (seq === 1) { req.socket.destroy(); return; }
      res.writeHead(200);
      res.end();
    });
    const { deliver, counters } = delivery(server.url, { retry: 2, backoffDelay: 'PT0.01S' });
    expect(await deliver([record(0)], new Cancellation())).toBe('delivered');
    expect(server.connections()).toBe(1);
    expect(await deliver([record(1)], new Cancellation())).toBe('delivered');
    expect(server.requests()).toBe(3);
    expect(server.connections()).toBe(2);
    expect(counters).toMatchObject({ attempts: 3, retries: 1, failedAttempts: 1 });
    expect(Object.values(counters.failureReasons)).toEqual([1]);
  });

  it('honours Retry-After on 503 and 429 up to retryAfterMax, and ignores it without retryAfterMax (Knative default)', async () => {
    const answers: { status: number; retryAfter?: string }[] = [];
    const server = await startServer((_req, res) => {
      const answer = answers.shift() ?? { status: 200 };
      res.writeHead(answer.status, answer.retryAfter ? { 'retry-after': answer.retryAfter } : {});
      res.end();
    });

    const waits: number[] = [];
    const honoured = delivery(server.url, { retry: 5, backoffPolicy: 'exponential', backoffDelay: 'PT0.2S', retryAfterMax: 'PT5S' }, { waits });
    answers.push({ status: 503, retryAfter: '3' }, { status: 429, retryAfter: '60' }, { status: 503, retryAfter: '0' }, { status: 500, retryAfter: '3' });
    expect(await honoured.deliver([record(0)], new Cancellation())).toBe('delivered');
    // 3 s asked; 60 s capped at 5 s; 0 s asked, the backoff (0.8 s) is longer; a 500's Retry-After is not read.
    expect(waits).toEqual([3_000, 5_000, 800, 1_600]);

    waits.length = 0;
    const ignored = delivery(server.url, { retry: 5, backoffPolicy: 'exponential', backoffDelay: 'PT0.2S' }, { waits });
    answers.push({ status: 503, retryAfter: '3' });
    expect(await ignored.deliver([record(1)], new Cancellation())).toBe('delivered');
    expect(waits).toEqual([200]);
  });
});

describe('dispatcher HTTP: cancellation (a lane aborted by a rebalance)', () => {
  it('destroys the requests in flight and rejects with the reason, leaving nothing registered', async () => {
    const server = await startServer(() => undefined); // never answers
    const http = sender(8);
    const cancellation = new Cancellation();
    const posts = Array.from({ length: 5 }, () => http.post(server.url, {}, Buffer.from('{}'), 60_000, cancellation));
    await waitFor(() => server.requests() === 5, { message: () => `${server.requests()} of 5 requests arrived` });
    expect(cancellation.pending()).toBe(5);
    const reason = new Error('lane t/0 aborted');
    cancellation.cancel(reason);
    for (const post of posts) await expect(post).rejects.toBe(reason);
    await waitFor(() => server.closed() === 5, { message: () => `${server.closed()} of 5 connections closed` });
    expect(cancellation.pending()).toBe(0);
    await expect(http.post(server.url, {}, Buffer.from('{}'), 60_000, cancellation)).rejects.toBe(reason);
  });

  it('ends a backoff sleep and a wait for a limiter slot', async () => {
    const cancellation = new Cancellation();
    const limiter = createLimiter(1);
    await limiter.acquire(new Cancellation());
    const waiting = limiter.acquire(cancellation);
    const sleeping = sleep(60_000, cancellation);
    expect(cancellation.pending()).toBe(2);
    const reason = new Error('aborted');
    cancellation.cancel(reason);
    await expect(waiting).rejects.toBe(reason);
    await expect(sleeping).rejects.toBe(reason);
    // The cancelled waiter does not take the slot: releasing frees it.
    limiter.release();
    expect(limiter.inUse()).toBe(0);
    await limiter.acquire(new Cancellation());
    expect(limiter.inUse()).toBe(1);
  });

  it('hands a released slot to the next waiter that is still waiting', async () => {
    const limiter = createLimiter(1);
    await limiter.acquire(new Cancellation());
    const gone = new Cancellation();
    const first = limiter.acquire(gone);
    let secondGotIt = false;
    const second = limiter.acquire(new Cancellation()).then(() => { secondGotIt = true; });
    gone.cancel(new Error('aborted'));
    await expect(first).rejects.toThrow('aborted');
    limiter.release();
    await second;
    expect(secondGotIt).toBe(true);
    expect(limiter.inUse()).toBe(1);
  });
});
