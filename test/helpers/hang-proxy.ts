import { connect, createServer, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a real ClickHouse server that can stop answering: `hang()` keeps every
 * connection open but passes nothing on, either way (a server that froze, or a network that
 * drops everything), new connections included; `pass()` restores a working path (the frozen
 * connections are dropped, as a peer that comes back would reset them).
 */
export async function startHangProxy(upstreamPort: number) {
  let hanging = false;
  const pairs = new Set<{ client: Socket; upstream?: Socket }>();
  const server = createServer((client) => {
    const pair: { client: Socket; upstream?: Socket } = { client };
    pairs.add(pair);
    const close = () => { client.destroy(); pair.upstream?.destroy(); pairs.delete(pair); };
    client.on('error', close).on('close', close);
    if (hanging) return; // accepted, read, never answered
    const upstream = connect(upstreamPort, '127.0.0.1');
    pair.upstream = upstream;
    client.on('data', (d) => { if (!hanging) upstream.write(d); });
    upstream.on('data', (d) => { if (!hanging) client.write(d); });
    upstream.on('error', close).on('close', close);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    hang() { hanging = true; },
    pass() {
      hanging = false;
      for (const p of pairs) { p.client.destroy(); p.upstream?.destroy(); }
      pairs.clear();
    },
    async close() {
      for (const p of pairs) { p.client.destroy(); p.upstream?.destroy(); }
      await new Promise((r) => server.close(r));
    },
  };
}
