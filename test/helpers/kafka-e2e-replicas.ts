import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../../functions/core/log.js';
import { createMetrics } from '../../functions/core/metrics.js';
import type { Ingest } from '../../functions/ingest/app.js';
import { listen as listenOn } from '../../functions/adapters/http-server.js';
import { freePort } from '../../local/kafka/ports.js';
import { spawnIngestChild, type Child } from './kafka-e2e-children.js';
import type { Router } from './kafka-e2e-router.js';
import { waitFor, type Stack } from './stack.js';

// The ingest replica slots behind the Kafka end-to-end harness's router (kafka-e2e.ts): in this
// process on the stack's connections, or OS processes on a real ClickHouse server.
/** One ingest replica slot: a port that stays the same while the replica behind it dies and comes back. */
export interface ReplicaSlot {
  readonly index: number;
  readonly port: number;
  readonly up: boolean;
  /** The replica's process id (process replicas only). */
  readonly pid: number | undefined;
  /** speed_layer_buffered_rows from the replica's /metrics (undefined when it does not answer). */
  bufferedRows(): Promise<number | undefined>;
  /** A pod crash: connections reset, buffer lost; the router stops routing to it. */
  kill(): Promise<void>;
  /** A fresh replica (empty memory) on the same port. */
  start(): Promise<void>;
  /** Graceful: stop routing, flush, close. */
  stop(): Promise<void>;
}

export function createReplicaSlot(index: number, stack: Stack, router: Router): ReplicaSlot {
  // A killed replica's waiting requests fail with 'aborted' (logged as errors): expected here, so quiet unless asked.
  const log = createLogger(`test-ingest-${index}`, process.env.TEST_LOG_LEVEL ?? 'fatal');
  let port = 0;
  let current: { ingest: Ingest; server: Server } | undefined;
  const dead: Promise<unknown>[] = [];
  const listen = (ingest: Ingest, p: number) => listenOn(ingest.handler, p, '127.0.0.1');
  const slot: ReplicaSlot = {
    index,
    get port() { return port; },
    get up() { return current !== undefined; },
    pid: undefined,
    bufferedRows: () => scrapeBufferedRows(port),
    async start() {
      if (current) return;
      const ingest = stack.layer.newIngest({ metrics: createMetrics(), log });
      // The port was just released by the killed replica; bounded retries in case the kernel lags.
      let server: Server | undefined;
      for (let attempt = 0; !server; attempt++) {
        try {
          server = await listen(ingest, port);
        } catch (err) {
          if (attempt >= 20) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      port = (server.address() as AddressInfo).port;
      server.keepAliveTimeout = 60_000;
      current = { ingest, server };
      router.setSlot(index, port);
    },
    async kill() {
      if (!current) return;
      const { ingest, server } = current;
      current = undefined;
      server.closeAllConnections();
      const closed = new Promise((r) => server.close(r));
      ingest.abort();
      router.setSlot(index, undefined);
      await closed;
      // What a dead pod leaves behind in this process (its dead-letter producer) is released.
      dead.push(ingest.close().catch(() => undefined));
    },
    async stop() {
      if (current) {
        const { ingest, server } = current;
        current = undefined;
        router.setSlot(index, undefined);
        server.closeAllConnections();
        await new Promise((r) => server.close(r));
        await ingest.close().catch(() => undefined);
      }
      await Promise.all(dead);
    },
  };
  return slot;
}

async function scrapeBufferedRows(port: number): Promise<number | undefined> {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => (r.ok ? r.text() : ''), () => '');
  const m = /^speed_layer_buffered_rows (\S+)$/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

/**
 * A replica slot whose replica is an OS process (spawnIngestChild) on a fixed port: `kill()` is
 * SIGKILL (the router marks the slot down once the process is gone; until then requests to it fail
 * as they would to a dead pod), `start()` a fresh process on the same port.
 */
export function createProcessReplicaSlot(index: number, stack: Stack, router: Router): ReplicaSlot {
  let port = 0;
  let current: Child | undefined;
  const slot: ReplicaSlot = {
    index,
    get port() { return port; },
    get up() { return current !== undefined; },
    get pid() { return current?.pid; },
    bufferedRows: () => scrapeBufferedRows(port),
    async start() {
      if (current) return;
      port ||= await freePort();
      // The port was just released by the killed process; bounded retries in case the kernel lags.
      for (let attempt = 0; !current; attempt++) {
        try {
          current = await spawnIngestChild(stack.config, port);
        } catch (err) {
          if (attempt >= 3 || !/EADDRINUSE/.test((err as Error).message)) throw err;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      router.setSlot(index, port);
    },
    async kill() {
      if (!current) return;
      const child = current;
      current = undefined;
      await child.kill9();
      // Until the router notices, requests to the dead process fail (reset or refused), as to a dead pod.
      await waitFor(() => (router.inFlight(index) === 0 ? true : undefined), 'requests to the killed replica to fail', 5_000, 5).catch(() => undefined);
      router.setSlot(index, undefined);
    },
    async stop() {
      if (!current) return;
      const child = current;
      current = undefined;
      router.setSlot(index, undefined);
      await child.stop();
    },
  };
  return slot;
}
