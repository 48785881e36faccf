import { afterAll, beforeAll, describe } from 'vitest';
import { createRandom } from '../../generator/random.js';
import { chunks, duplicateFigures, startKafkaE2e, type KafkaE2e } from '../helpers/kafka-e2e.js';
import { figureTests, redeliveryTest } from '../helpers/kafka-e2e-figures.js';

/**
 * Issue 4, second end-to-end test against the real broker: as kafka-e2e-faults.test.ts, with the
 * broker itself restarted (SIGTERM, then started again on the same port and data) in the middle of
 * the stream, while records are in flight between the dispatcher and the ingest and the ingest's
 * dead-letter producer is connected; plus an ingest replica crash before and a dispatcher kill -9
 * after, at seeded random points. Half of the ~1,700 records are produced before the restart, the
 * rest after it. In the end every figure equals the ground truth and nothing is lost.
 */
const SEED = 23;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let e2e: KafkaE2e;
let figures: Awaited<ReturnType<typeof duplicateFigures>> | undefined;

beforeAll(async () => {
  const t0 = Date.now();
  e2e = await startKafkaE2e({ seed: SEED, users: 45, hours: 4, replicas: 2, commitInterval: 'PT0.5S', maxInFlight: 64 });
  const { gen } = e2e;
  const total = gen.records.length;
  const rnd = createRandom(SEED * 31 + 1);
  const replicaAt = Math.floor(total * (0.1 + 0.1 * rnd.next()));
  const bounceAt = Math.floor(total * (0.3 + 0.15 * rnd.next()));
  const dispatcherAt = Math.floor(total * (0.65 + 0.15 * rnd.next()));
  const slot = rnd.int(0, e2e.replicas.length - 1);
  e2e.note(`${total} records (${e2e.truth.totals.events} events, ${e2e.truth.totals.transactions} transactions, ${e2e.truth.totals.invalid} invalid); ` +
    `replica ${slot}@${replicaAt}, broker restart@${bounceAt}, dispatcher@${dispatcherAt}`);

  // Half is produced before the broker restart, the rest once it is back.
  const [before, after] = chunks(gen.records, 2) as [typeof gen.records, typeof gen.records];
  try {
    await e2e.produce(before);
    await e2e.startDispatcher();

    await e2e.waitAnswered(replicaAt);
    await e2e.replicas[slot]!.kill();
    e2e.note(`ingest replica ${slot} killed at ${e2e.router.answered().size} answered`);
    await sleep(rnd.int(100, 1_000));
    await e2e.replicas[slot]!.start();
    e2e.note(`ingest replica ${slot} restarted`);

    await e2e.waitAnswered(bounceAt);
    e2e.note(`broker restart begins at ${e2e.router.answered().size} answered, ${e2e.router.stats().requests} requests so far`);
    const bounceStart = Date.now();
    await e2e.broker.restart();
    e2e.note(`broker back (same port, same data) after ${Date.now() - bounceStart} ms`);
    await e2e.produce(after);
    e2e.note(`produced the rest (${after.length} records)`);

    await e2e.waitAnswered(dispatcherAt, 120_000);
    await e2e.killDispatcher();
    await sleep(rnd.int(0, 1_000));
    await e2e.startDispatcher();

    await e2e.waitDrained();
    await e2e.waitSettled();
  } catch (error) {
    console.log(`kafka-e2e broker restart failed after ${((Date.now() - t0) / 1000).toFixed(1)} s:\n${e2e.summary()}`);
    throw error;
  }
  figures = await duplicateFigures(e2e);
  e2e.note('figures read');
  console.log(`kafka-e2e broker restart (seed ${SEED}), ${((Date.now() - t0) / 1000).toFixed(1)} s:\n${e2e.timeline.join('\n')}\n${JSON.stringify(figures, null, 2)}`);
}, 200_000);

afterAll(async () => {
  // A hook that timed out never reaches its own report: say how far it got.
  if (e2e && !figures) console.log(`kafka-e2e broker restart did not finish:\n${e2e.summary()}`);
  await e2e?.stop();
});

describe('Kafka end to end: a broker restart in the middle, with ingest and dispatcher crashes', () => {
  redeliveryTest(() => figures!);

  figureTests(() => e2e);
});
