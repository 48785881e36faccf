import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A real HTTP server standing in for the function behind KafkaSource: it records every request
 * and answers what the test's responder says (default 200 at once).
 */
export interface SinkRequest {
  readonly seq: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly startedAt: number;
  endedAt: number | undefined;
  status: number | undefined;
}

export interface SinkAnswer {
  readonly status?: number;
  readonly delayMs?: number;
  readonly body?: string;
  readonly headers?: Record<string, string>;
}

export type Responder = (request: SinkRequest) => SinkAnswer | undefined;

export interface SinkServer {
  readonly url: string;
  readonly port: number;
  readonly requests: SinkRequest[];
  setResponder(responder: Responder): void;
  /** ce-id of every request answered 2xx (for binary mode). */
  answeredIds(): Set<string>;
  /** Requests whose answer has not been sent yet. */
  inFlight(): number;
  close(): Promise<void>;
}

export async function startSinkServer(options: { readonly port?: number; readonly responder?: Responder } = {}): Promise<SinkServer> {
  const requests: SinkRequest[] = [];
  let responder: Responder = options.responder ?? (() => undefined);
  let active = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const entry: SinkRequest = { seq: requests.length, headers: req.headers, body: Buffer.concat(chunks), startedAt: Date.now(), endedAt: undefined, status: undefined };
      requests.push(entry);
      active += 1;
      const answer = responder(entry) ?? {};
      const reply = (): void => {
        entry.status = answer.status ?? 200;
        entry.endedAt = Date.now();
        active -= 1;
        res.writeHead(entry.status, answer.headers ?? {});
        res.end(answer.body ?? '');
      };
      if (answer.delayMs) setTimeout(reply, answer.delayMs);
      else reply();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    requests,
    setResponder: (r) => { responder = r; },
    answeredIds: () => new Set(requests.filter((r) => r.status !== undefined && r.status >= 200 && r.status < 300)
      .map((r) => `${String(r.headers['ce-source'])} ${String(r.headers['ce-id'])}`)),
    inFlight: () => active,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** `partition:P/offset:O` → [P, O]. */
export function parseKafkaEventId(id: string): [number, number] {
  const match = /^partition:(\d+)\/offset:(\d+)$/.exec(id);
  if (!match) throw new Error(`not a KafkaSource event id: ${id}`);
  return [Number(match[1]), Number(match[2])];
}
