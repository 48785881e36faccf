import express, { type Express, type Request, type Response, type NextFunction } from 'express';
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { EnvelopeError } from '../core/errors.js';
import { quote } from '../core/result.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';

/**
 * The runtime every function shares (as faas-js-runtime gives Knative functions): liveness,
 * readiness, Prometheus metrics and in-flight accounting. The function mounts its own routes.
 */
export function createHttpApp(deps: { metrics: Metrics; log: Logger; ready: () => boolean | Promise<boolean> }): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use((_req: Request, res: Response, next: NextFunction) => {
    deps.metrics.inFlight.inc();
    res.once('close', () => deps.metrics.inFlight.dec());
    next();
  });
  app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  app.get('/readyz', async (_req, res) => {
    const ok = await Promise.resolve(deps.ready()).catch(() => false);
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not ready' });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  return app;
}

/**
 * Pending connections the kernel keeps for accept() (Linux caps it at net.core.somaxconn, 4096 here).
 * On the per-record path every held request is a connection of its own, and a sender opens
 * thousands at once when its in-flight requests grow; with Node's default of 511 the queue
 * overflowed whenever the event loop was busy for a moment (nstat: 513,706 ListenOverflows in one
 * bench run), and the dropped SYNs came back as 10 s connect timeouts and ECONNRESETs, each a
 * retry with backoff in the dispatcher: a third of the records waited seconds for nothing.
 */
export const LISTEN_BACKLOG = 4096;

/**
 * Listens on `port` (0: any). Idle keep-alive sockets live 65 s, longer than the senders' pools keep
 * them (Node's default is 5 s, which made the dispatcher reconnect or hit ECONNRESET all the time).
 */
export function listen(handler: RequestListener, port: number, host = '0.0.0.0'): Promise<Server> {
  const server = createServer(handler);
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => resolve(server));
  });
}

/**
 * The body of a request, refused with 413 before it is read past `limit` bytes. Listeners rather
 * than `for await`: the async iterator cost a promise and several closures per chunk, per request.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const encoding = req.headers['content-encoding'];
  if (encoding && encoding !== 'identity') return Promise.reject(new EnvelopeError('unsupported_encoding', 'content-encoding', `content-encoding ${quote(encoding)} is not accepted; send the body uncompressed`, 415));
  const tooLarge = () => new EnvelopeError('too_large', undefined, `the body is larger than ${limit} bytes`, 413);
  if (Number(req.headers['content-length'] ?? 0) > limit) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    let first: Buffer | undefined;
    let chunks: Buffer[] | undefined;
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.resume(); // drain the rest, so the 413 can be written
        reject(tooLarge());
        return;
      }
      if (!first) first = chunk;
      else (chunks ??= [first]).push(chunk);
    };
    req.on('data', onData);
    let ended = false;
    req.once('end', () => { ended = true; resolve(chunks ? Buffer.concat(chunks, size) : (first ?? EMPTY)); });
    req.once('error', reject);
    // The sender went away before the end: settled, so nothing waits for ever.
    req.once('close', () => { if (!ended) reject(new Error('the request was aborted')); });
  });
}
const EMPTY = Buffer.alloc(0);

/** Answers with a JSON body, no framework in between (the ingest's hot path). */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/**
 * A 200 answer known in advance (the per-record path's common answers). The body stays a string:
 * node then sends head and body as one chunk; a Buffer body goes out through writev as two.
 */
export type PreparedAnswer = { readonly headers: readonly string[]; readonly body: string };
export function prepareJson(body: unknown): PreparedAnswer {
  const text = JSON.stringify(body);
  return { headers: ['content-type', 'application/json; charset=utf-8', 'content-length', String(Buffer.byteLength(text))], body: text };
}
export function sendPrepared(res: ServerResponse, answer: PreparedAnswer) {
  res.writeHead(200, answer.headers as string[]);
  res.end(answer.body);
}

/** Listens, and on SIGTERM/SIGINT stops taking requests, runs `shutdown` (flush) and exits. */
export async function serve(handler: RequestListener, port: number, log: Logger, shutdown: () => Promise<void>): Promise<Server> {
  const server = await listen(handler, port);
  log.info({ port: (server.address() as { port: number }).port }, 'listening');
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping: finishing in-flight requests and flushing');
    server.close();
    try {
      await shutdown();
    } catch (err) {
      log.error({ err: (err as Error).message }, 'shutdown failed');
    }
    server.closeAllConnections();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  return server;
}
