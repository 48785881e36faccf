import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/** Bytes of a failed response kept for knativeerrordata (Knative caps it at 1024 as well). */
export const ERROR_BODY_LIMIT = 1024;

export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The first ERROR_BODY_LIMIT bytes of the body. */
  readonly body: Buffer;
}

export interface HttpSender {
  post(url: string, headers: Readonly<Record<string, string>>, body: Buffer, timeoutMs: number, signal: AbortSignal): Promise<HttpResponse>;
  close(): void;
}

/** Keep-alive connections, as many as requests may be in flight, so each POST skips the TCP handshake. */
export function createHttpSender(maxSockets: number): HttpSender {
  const httpAgent = new HttpAgent({ keepAlive: true, maxSockets });
  const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets });

  const post: HttpSender['post'] = (url, headers, body, timeoutMs, signal) =>
    new Promise((resolvePost, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const target = new URL(url);
      const isHttps = target.protocol === 'https:';
      const req = (isHttps ? httpsRequest : httpRequest)(target, {
        method: 'POST',
        agent: isHttps ? httpsAgent : httpAgent,
        headers: { ...headers, 'content-length': String(body.length) },
      });
      const onAbort = (): void => { req.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted')); };
      signal.addEventListener('abort', onAbort, { once: true });
      const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      const done = (): void => { clearTimeout(timer); signal.removeEventListener('abort', onAbort); };
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
