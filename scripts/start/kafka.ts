import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../functions/core/config.js';
import { NODE_FLAGS } from '../../functions/core/node-flags.js';
import type { Logger } from '../../functions/core/log.js';
import { dispatcherInFlight } from './kafka-sizing.js';

/**
 * `npm start -- --kafka`: a local KRaft broker (unless KAFKA_BROKERS names one), the topics, and
 * the KafkaSource-like dispatcher delivering user_events and transactions to the ingest, whether
 * or not the live shop (./shop.ts) produces (with --rate 0 someone else does: kcatLine says how).
 *
 * The dispatcher runs as a process of its own (`npm run dispatcher`), as KafkaSource runs apart
 * from the ingest in the cluster: in the same process its ~120 µs of JavaScript per record shared
 * the ingest's one event loop, and `--rate 5000` stored ~300 events/s.
 */
export async function startKafkaPath(config: Config, opts: { rate: number; ingestUrl: string; log: Logger }) {
  const { startKafkaBroker, ensureTopics } = await import('../../local/kafka/index.js');
  const { log } = opts;
  const broker = config.KAFKA_BROKERS ? undefined : await startKafkaBroker({ logger: log.child({ fn: 'kafka' }) });
  const brokers = config.KAFKA_BROKERS || broker!.brokers;
  await ensureTopics(brokers);
  const maxInFlight = dispatcherInFlight(opts.rate, config.BATCH_MAX_AGE_MS);
  const dispatcher = await spawnDispatcher(dispatcherArgs({ brokers, sink: opts.ingestUrl, maxInFlight }), log);
  log.info({ brokers, maxInFlight, dispatcherPid: dispatcher.pid }, 'Kafka path: the live shop produces -> Kafka -> dispatcher (its own process) -> ingest');
  return {
    brokers,
    maxInFlight,
    async stop() {
      await dispatcher.stop();
      await broker?.stop();
    },
  };
}

/** The dispatcher's command line: unordered (one partition may carry most of the load, so it may use the whole limit). */
export function dispatcherArgs(o: { brokers: string; sink: string; maxInFlight: number }): string[] {
  return [
    '--brokers', o.brokers, '--topics', 'user_events,transactions', '--sink', o.sink,
    '--name', 'speed-layer-events', '--namespace', 'speed-layer', '--group', 'speed-layer-ingest', '--ordering', 'unordered',
    '--max-in-flight', String(o.maxInFlight), '--max-in-flight-per-partition', String(o.maxInFlight),
    '--retry', '5', '--backoff-policy', 'exponential', '--backoff-delay', 'PT0.2S', '--dead-letter-topic', 'dead_letter_events',
    '--stats-interval', 'PT0S',
  ];
}

/** Starts `local/dispatcher/main.ts`; settles once it has joined its consumer group. Its log lines go to our stderr. */
async function spawnDispatcher(args: string[], log: Logger) {
  const main = fileURLToPath(new URL('../../local/dispatcher/main.ts', import.meta.url));
  const child = spawn(process.execPath, [...NODE_FLAGS, '--import', 'tsx', main, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let stopping = false;
  // Ctrl-C reaches the dispatcher too (one process group): it drains and exits 0 on its own.
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => {
    if (!stopping && code !== 0) log.error({ code }, 'the dispatcher exited; records are no longer delivered (see its log above)');
    resolve(code);
  }));
  const running = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('dispatcher running')) resolve(); });
    void exited.then((code) => reject(new Error(`the dispatcher exited (${code}) before it joined its consumer group`)));
  });
  await running;
  return {
    pid: child.pid,
    async stop() {
      stopping = true;
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      // Its own drain (in-flight requests, offsets) is bounded by --drain-timeout (15 s).
      const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/** How to produce one event by hand to `brokers` with kcat (key: the user id, value: the event). */
export function kcatLine(brokers: string): string {
  const user = '9b2f6c1e-3f1a-4c2b-9d7e-1a2b3c4d5e6f';
  return `echo '${user}|{"event_id":"'$(cat /proc/sys/kernel/random/uuid)'","event_type":"page_view","user_id":"${user}","timestamp":"'$(date -u +%FT%T.000Z)'","page_url":"/"}' | kcat -P -b ${brokers.split(',')[0]} -t user_events -K '|'`;
}
