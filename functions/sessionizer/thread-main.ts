import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { createClickHouse } from '../adapters/clickhouse.js';
import type { Config } from '../core/config.js';
import { createLogger } from '../core/log.js';
import { recordingMetrics, type MetricName } from '../core/metrics-relay.js';
import { createSessionizer } from './sessionizer.js';
import { SESSIONIZER_NICE, type FromThread, type ToThread } from './thread.js';

// The sessionizer's thread (./thread.ts): its own connections, its metrics relayed to the main thread.
const port = parentPort!;
const { config, metrics: names } = workerData as { config: Config; metrics: MetricName[] };
const post = (m: FromThread) => port.postMessage(m);
const metrics = recordingMetrics(names, (batch) => post({ kind: 'metrics', batch }));
const log = createLogger('speed-layer', config.LOG_LEVEL).child({ fn: 'sessionizer' });
// On Linux a nice value belongs to a thread: 0 is this one (elsewhere it would be the whole process).
if (process.platform === 'linux') setPriority(0, SESSIONIZER_NICE);
const settings = { os_thread_priority: SESSIONIZER_NICE }; // a no-op without CAP_SYS_NICE
const connections = [await createClickHouse(config, settings), await createClickHouse(config, settings)] as const;
const sessionizer = createSessionizer(config, { ch: connections[0], snapshotCh: connections[1], metrics, log });
const stop = async (snapshot: boolean) => {
  await sessionizer.stop({ snapshot });
  await Promise.all(connections.map((c) => c.close()));
};

const answer = (id: number, work: Promise<unknown>) => work.then(
  (value) => post({ kind: 'done', id, value }),
  (err: Error) => post({ kind: 'done', id, error: err.message }),
);
port.on('message', (m: ToThread) => {
  if (m.kind === 'run') void answer(m.id, sessionizer.runOnce(m.now));
  else if (m.kind === 'start') sessionizer.start(m.intervalMs);
  else void answer(m.id, stop(m.snapshot));
});
post({ kind: 'ready' });
