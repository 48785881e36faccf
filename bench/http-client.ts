import { Agent, request } from 'node:http';

/**
 * A lean HTTP/1.1 client for the load generator: keep-alive sockets up to `maxSockets` (requests
 * beyond that wait in the agent's queue, which an open-loop sender counts as latency), the answer's
 * status and body, a timeout. node:http rather than fetch: fetch costs several times more CPU per
 * request, and the bench shares the machine with what it measures.
 */
export type Answer = { status: number; body: string };

export function createHttpClient(maxSockets: number) {
  const agent = new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: 'lifo' });
  let outstanding = 0;
  const send = (method: 'GET' | 'POST', url: URL, headers: Record<string, string>, body: string | undefined, timeoutMs: number) =>
    new Promise<Answer>((resolve, reject) => {
      outstanding++;
      let settled = false;
      const settle = (err: Error | undefined, answer?: Answer) => {
        if (settled) return;
        settled = true;
        outstanding--;
        clearTimeout(timer);
        if (err) reject(err); else resolve(answer!);
      };
      const payload = body === undefined ? undefined : Buffer.from(body);
      const req = request(url, { method, agent, headers: payload ? { ...headers, 'content-length': String(payload.length) } : headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => settle(undefined, { status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (err) => settle(err));
      });
      const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      req.on('error', (err) => settle(err));
      req.end(payload);
    });
  return {
    post: (url: URL, headers: Record<string, string>, body: string, timeoutMs = 60_000) => send('POST', url, headers, body, timeoutMs),
    get: (url: URL, timeoutMs = 30_000) => send('GET', url, {}, undefined, timeoutMs),
    /** Requests sent (or queued for a socket) and not yet answered. */
    get outstanding() { return outstanding; },
    close: () => agent.destroy(),
  };
}
export type HttpClient = ReturnType<typeof createHttpClient>;
