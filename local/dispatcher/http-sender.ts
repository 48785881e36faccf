import type { IncomingHttpHeaders } from 'node:http';
import { Client, type Dispatcher } from 'undici';
import type { Cancellation, CancelHook } from './cancel.js';

/** Bytes of a failed response kept for knativeerrordata (Knative caps it at 1024 as well). */
export const ERROR_BODY_LIMIT = 1024;

/**
 * How long an idle keep-alive socket is kept: below Node's default server keepAliveTimeout (5 s),
 * so the client always closes first and never writes a request into a socket the server is
 * closing (ECONNRESET). A longer `Keep-Alive: timeout=N` from the server does not extend it.
 */
export const FREE_SOCKET_TIMEOUT_MS = 4_000;

export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The first ERROR_BODY_LIMIT bytes of the body. */
  readonly body: Buffer;
}

export interface HttpSender {
  /**
   * POSTs `body`; rejects on a transport error, when no complete answer came within `timeoutMs`
   * (the request is destroyed), or with the cancellation's reason once it is cancelled.
   */
  post(url: string, headers: Readonly<Record<string, string>>, body: Buffer, timeoutMs: number, cancellation: Cancellation): Promise<HttpResponse>;
  close(): void;
}

/**
 * Keep-alive connections, as many as requests may be in flight, so each POST skips the TCP
 * handshake: undici `Client`s (one connection each, pipelining 1) on a LIFO free list of our own,
 * rather than node's http Agent. With thousands of held requests the Agent's per-socket bookkeeping
 * (`removeSocket`, `addRequest` walk its socket lists) and the ClientRequest machinery were a
 * quarter of the dispatcher's CPU (issue 14's profile); undici's dispatch API costs one handler
 * object per request. Not undici's Pool: it marks a connection free only a tick after its answer,
 * so a burst sent right after a burst was answered opened new connections instead of reusing them.
 * - every connection of a burst stays open: the sink (ingest) answers thousands of held requests
 *   at once when a micro-batch is stored, and the next records reuse them;
 * - LIFO: the most recently used connection first, so under a lower load the surplus stays idle
 *   and is closed after FREE_SOCKET_TIMEOUT_MS (a server's shorter Keep-Alive hint less 1 s wins,
 *   as with node's Agent); a closed connection's Client reconnects when next used;
 * - a POST is never resent: a request that fails on a reused connection (ECONNRESET, "other side
 *   closed") is a failed attempt, retried with backoff by the delivery, as KafkaSource's dispatcher
 *   (Vert.x WebClient, which does not resend a POST by itself) counts it too.
 */
export function createHttpSender(maxSockets: number, options: { readonly freeSocketTimeoutMs?: number } = {}): HttpSender {
  const idleMs = options.freeSocketTimeoutMs ?? FREE_SOCKET_TIMEOUT_MS;
  const clientOptions: Client.Options = {
    pipelining: 1, keepAliveTimeout: idleMs, keepAliveMaxTimeout: idleMs, keepAliveTimeoutThreshold: 1_000,
    // The delivery's own timer bounds each request (below); undici's would cut a held answer.
    headersTimeout: 0, bodyTimeout: 0,
  };
  type Origin = { readonly free: Client[]; readonly all: Client[]; readonly waiting: ((c: Client) => void)[] };
  const origins = new Map<string, Origin>();
  const targets = new Map<string, { origin: Origin; url: string; path: string }>();
  // The sink URL is the same for every request: parsed once, not once per record.
  const targetOf = (url: string) => {
    let t = targets.get(url);
    if (!t) {
      const u = new URL(url);
      let origin = origins.get(u.origin);
      if (!origin) origins.set(u.origin, (origin = { free: [], all: [], waiting: [] }));
      t = { origin, url: u.origin, path: `${u.pathname}${u.search}` };
      targets.set(url, t);
    }
    return t;
  };
  const acquire = (t: { origin: Origin; url: string }, use: (c: Client) => void): void => {
    const c = t.origin.free.pop();
    if (c) return use(c);
    if (t.origin.all.length < maxSockets) {
      const fresh = new Client(t.url, clientOptions);
      t.origin.all.push(fresh);
      return use(fresh);
    }
    t.origin.waiting.push(use);
  };
  const release = (origin: Origin, c: Client): void => {
    const next = origin.waiting.shift();
    if (next) next(c);
    else origin.free.push(c);
  };

  const post: HttpSender['post'] = (url, headers, body, timeoutMs, cancellation) =>
    new Promise((resolvePost, reject) => {
      if (cancellation.reason !== undefined) return reject(cancellation.reason);
      const target = targetOf(url);
      let controller: Dispatcher.DispatchController | undefined;
      let abortReason: Error | undefined;
      let settled = false;
      const finish = (error: Error | undefined, response?: HttpResponse): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        cancellation.remove(onCancel);
        if (error) reject(error); else resolvePost(response!);
      };
      const abort = (reason: Error): void => {
        abortReason ??= reason;
        if (controller && !controller.aborted) controller.abort(reason);
        finish(reason);
      };
      // One timer and one Set entry per request: no AbortSignal listener (see cancel.ts).
      const onCancel: CancelHook = (reason) => abort(reason);
      cancellation.add(onCancel);
      const timer = setTimeout(() => abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      acquire(target, (client) => {
        if (abortReason) return release(target.origin, client); // cancelled while waiting for a connection
        let status = 0;
        let responseHeaders: IncomingHttpHeaders = {};
        const chunks: Buffer[] = [];
        let kept = 0;
        let done = false;
        const end = (error: Error | undefined, response?: HttpResponse) => {
          if (done) return;
          done = true;
          release(target.origin, client);
          finish(error, response);
        };
        client.dispatch({ path: target.path, method: 'POST', headers: { ...headers, 'content-length': String(body.length) }, body }, {
          onRequestStart(c) {
            controller = c;
            if (abortReason) c.abort(abortReason);
          },
          onResponseStart(_c, statusCode, h) { status = statusCode; responseHeaders = h as IncomingHttpHeaders; },
          onResponseData(_c, chunk) {
            if (kept < ERROR_BODY_LIMIT) { chunks.push(chunk); kept += chunk.length; }
          },
          onResponseEnd() {
            end(undefined, { status, headers: responseHeaders, body: (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).subarray(0, ERROR_BODY_LIMIT) });
          },
          onResponseError(_c, error) { end(abortReason ?? error); },
        });
      });
    });

  return {
    post,
    close: () => {
      for (const o of origins.values()) for (const c of o.all) void c.destroy().catch(() => undefined);
      origins.clear();
      targets.clear();
    },
  };
}
