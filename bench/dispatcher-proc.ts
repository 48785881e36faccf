/**
 * The KafkaSource stand-in (local/dispatcher) in a process of its own, as in the cluster, so its
 * CPU and memory are measured apart from the ingest's. It prints one JSON line of stats every
 * `statsMs` (delivered, in flight, ...) for the bench to follow, and stops gracefully on SIGTERM.
 *
 *   node --import tsx bench/dispatcher-proc.ts '<DispatcherConfigInput as JSON>' [statsMs]
 */
import { createDispatcher, parseDispatcherConfig, type DispatcherConfigInput } from '../local/dispatcher/index.js';

const input = JSON.parse(process.argv[2] ?? '{}') as DispatcherConfigInput;
const statsMs = Number(process.argv[3] ?? 250);
const dispatcher = createDispatcher(parseDispatcherConfig(input));
const print = () => {
  const s = dispatcher.stats();
  process.stdout.write(`${JSON.stringify({ at: Date.now(), state: s.state, received: s.received, delivered: s.delivered, deadLettered: s.deadLettered, discarded: s.discarded, inFlight: s.inFlight, inFlightRequests: s.inFlightRequests, queued: s.queued, retries: s.retries, failureReasons: s.failureReasons, rebalances: s.rebalances })}\n`);
};
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  clearInterval(timer);
  await dispatcher.stop().catch((err: Error) => process.stderr.write(`dispatcher stop failed: ${err.message}\n`));
  print();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
const timer = setInterval(print, statsMs);
await dispatcher.start();
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
