import { createServer, connect, type Socket } from 'node:net';

/**
 * A TCP proxy that holds every answer chunk from the upstream for `delayMs` (in order) before
 * passing it on: the network between a function and ClickHouse made slow, not ClickHouse faked.
 */
export async function startSlowProxy(upstreamPort: number) {
  let delayMs = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(upstreamPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    let tail = Promise.resolve();
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d) => {
      const wait = delayMs;
      tail = tail.then(() => new Promise<void>((r) => setTimeout(r, wait))).then(() => { if (!client.destroyed) client.write(d); });
    });
    const close = () => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream); };
    client.on('close', close).on('error', close);
    upstream.on('close', () => void tail.then(close)).on('error', close);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    setDelay(ms: number) { delayMs = ms; },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
