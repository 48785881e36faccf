import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { urlToHttpOptions } from 'node:url';
import type { Cancellation, CancelHook } from './cancel.js';

/** Bytes of a failed response kept for knativeerrordata (Knative caps it at 1024 as well). */
export const ERROR_BODY_LIMIT = 1024;

/**
 * How long an idle keep-alive socket is kept: below Node's default server keepAliveTimeout (5 s),
 * so the client always closes first and never writes a request into a socket the server is
 * closing (ECONNRESET). When the server announces its own `Keep-Alive: timeout=N`, Node's agent
 * uses N - 1 s if that is shorter (it ignores the hint when no agent timeout is set at all).
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

interface Target {
  readonly isHttps: boolean;
  readonly options: RequestOptions;
}

/**
 * Keep-alive connections, as many as requests may be in flight, so each POST skips the TCP
 * handshake:
 * - `maxFreeSockets` = `maxSockets`: the sink (ingest) answers thousands of held requests at
 *   once when a micro-batch is stored; with Node's default (256 idle sockets kept) the rest were
 *   closed and reopened for the next records (25 % of the dispatcher's CPU in `internalConnect`
 *   at 1,000 records/s, bench/RESULTS.md).
 * - `scheduling: 'lifo'`: the most recently used socket first, so under a lower load the
 *   surplus sockets stay idle and time out instead of all being kept barely alive.
 * - idle sockets are closed after FREE_SOCKET_TIMEOUT_MS (see there).
 * A request that fails on a reused socket (ECONNRESET, "socket hang up") is not resent here: it
 * is a failed attempt, retried with backoff by the delivery, as KafkaSource's dispatcher
 * (Vert.x WebClient, which does not resend a POST by itself) counts it too.
 */
export function createHttpSender(maxSockets: number, options: { readonly freeSocketTimeoutMs?: number } = {}): HttpSender {
  const agentOptions = {
    keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: 'lifo', timeout: options.freeSocketTimeoutMs ?? FREE_SOCKET_TIMEOUT_MS,
  } as const;
  const httpAgent = new HttpAgent(agentOptions);
  const httpsAgent = new HttpsAgent(agentOptions);
  // The sink URL is the same for every request: parse it once, not once per record.
  const targets = new Map<string, Target>();
  const targetOf = (url: string): Target => {
    let target = targets.get(url);
    if (!target) {
      const u = new URL(url);
      const isHttps = u.protocol === 'https:';
      target = { isHttps, options: { ...urlToHttpOptions(u), method: 'POST', agent: isHttps ? httpsAgent : httpAgent } };
      targets.set(url, target);
    }
    return target;
  };

  const post: HttpSender['post'] = (url, headers, body, timeoutMs, cancellation) =>
    new Promise((resolvePost, reject) => {
      if (cancellation.reason !== undefined) return reject(cancellation.reason);
      const { isHttps, options } = targetOf(url);
      const req = (isHttps ? httpsRequest : httpRequest)({ ...options, headers: { ...headers, 'content-length': String(body.length) } });
      // One timer and one Set entry per request: no AbortSignal listener (see cancel.ts).
      const onCancel: CancelHook = (reason) => { req.destroy(reason); };
      cancellation.add(onCancel);
      const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      const done = (): void => { clearTimeout(timer); cancellation.remove(onCancel); };
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        res.on('data', (chunk: Buffer) => {
          if (kept < ERROR_BODY_LIMIT) { chunks.push(chunk); kept += chunk.length; }
        });
        res.on('end', () => {
          done();
          resolvePost({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).subarray(0, ERROR_BODY_LIMIT) });
        });
        res.on('error', (error) => { done(); reject(error); });
      });
      req.on('error', (error) => { done(); reject(error); });
      req.end(body);
    });

  return {
    post,
    close: () => { httpAgent.destroy(); httpsAgent.destroy(); },
  };
}
