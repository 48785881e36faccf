import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createRandom } from '../../generator/random.js';
import { chunks, duplicateFigures, startKafkaE2e, type KafkaE2e } from '../helpers/kafka-e2e.js';
import { figureTests } from '../helpers/kafka-e2e-figures.js';
import { waitFor } from '../helpers/stack.js';

/**
 * Issue 8 (Reliability): "kill -9 the ingest function mid-batch, repeatedly, during load on the
 * Kafka path. Pass: 0 missing, 0 duplicated in every table and view."
 *
 * The ingest replicas here are real OS processes (`functions/ingest/main.ts`, as `npm run ingest`
 * runs it) on a real ClickHouse server (test/helpers/clickhouse-server.ts), behind the router, fed
 * by the real broker and the dispatcher (a child process). KILLS times, at seeded random points of
 * the stream, a seeded replica is killed with SIGKILL while its micro-batch is open: the router has
 * requests to it unanswered and its /metrics shows rows buffered just before the kill. The
 * dispatcher gets 502 for those requests and retries them on the other replica; the killed one is
 * started again (a fresh process on the same port) after a short pause. A batch whose insert was
 * under way may still land after its requests failed, so a retried record can be stored twice: the
 * sessionizer (in this process, on the same server) cancels such copies.
 *
 * The load is produced in KILLS + 1 parts, part i + 1 once the replica of kill i is back, and kill
 * i + 1 falls 10% to 60% into that part: every kill happens under load, whatever the machine's
 * speed, and the rest of the part goes to the other replica while the killed one is down.
 */
// A seed whose records reach every partition of both topics (an empty partition has no committed
// offset, which the shared check of committed offsets does not expect).
const SEED = 41;
const KILLS = 6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let e2e: KafkaE2e;
let figures: Awaited<ReturnType<typeof duplicateFigures>> | undefined;
const kills: { slot: number; pid: number | undefined; answered: number; inFlight: number; buffered: number; lost: number }[] = [];

beforeAll(async () => {
  const t0 = Date.now();
  e2e = await startKafkaE2e({ seed: SEED, users: 50, hours: 4, replicas: 2, commitInterval: 'PT0.5S', maxInFlight: 64, replicaProcesses: true });
  const total = e2e.gen.records.length;
  const parts = chunks(e2e.gen.records, KILLS + 1);

  // The kill plan, from the seed: after how many records answered (10% to 60% into the part in
  // flight), which replica, how long it stays down.
  const rnd = createRandom(SEED * 31 + 1);
  let before = 0;
  const plan = parts.slice(0, KILLS).map((part) => {
    const at = before + Math.floor(part.length * (0.1 + 0.5 * rnd.next()));
    before += part.length;
    return { at, slot: rnd.int(0, e2e.replicas.length - 1), downMs: rnd.int(200, 1_000) };
  });
  const { events, transactions, invalid } = e2e.truth.totals;
  e2e.note(`${total} records (${events} events, ${transactions} transactions, ${invalid} invalid); kill -9 plan: ${plan.map((k) => `replica ${k.slot}@${k.at}`).join(', ')}`);

  try {
    await e2e.produce(parts[0]!);
    await e2e.startDispatcher();
    for (const [i, k] of plan.entries()) {
      await e2e.waitAnswered(k.at);
      const slot = e2e.replicas[k.slot]!;
      // Mid-batch: requests to this replica unanswered (they wait for their batch to be stored)
      // and rows in its buffer, read from its /metrics just before the kill.
      const seen = await waitFor(async () => {
        if (e2e.router.inFlight(k.slot) === 0) return undefined;
        const buffered = await slot.bufferedRows();
        const inFlight = e2e.router.inFlight(k.slot);
        return buffered && inFlight > 0 ? { buffered, inFlight } : undefined;
      }, `replica ${k.slot} mid-batch`, 30_000, 2);
      const pid = slot.pid;
      const answered = e2e.router.answered().size;
      const unreachableBefore = e2e.router.stats().unreachable;
      await slot.kill();
      const lost = e2e.router.stats().unreachable - unreachableBefore;
      kills.push({ slot: k.slot, pid, answered, lost, ...seen });
      e2e.note(`kill -9 replica ${k.slot} (pid ${pid}) at ${answered} answered: ${seen.inFlight} requests in flight to it, ${seen.buffered} rows buffered; ${lost} requests failed (502, retried)`);
      // The rest of the part goes to the other replica meanwhile.
      await sleep(k.downMs);
      const restarting = Date.now();
      await slot.start();
      e2e.note(`replica ${k.slot} restarted after ${k.downMs} ms down as pid ${slot.pid} (ready in ${Date.now() - restarting} ms)`);
      // The next part, with the next kill point in it, once both replicas are up again.
      if (parts[i + 1]) await e2e.produce(parts[i + 1]!);
    }
    await e2e.waitDrained();
    await e2e.waitSettled();
  } catch (error) {
    console.log(`kafka-e2e kill -9 failed after ${((Date.now() - t0) / 1000).toFixed(1)} s:\n${e2e.summary()}`);
    throw error;
  }
  figures = await duplicateFigures(e2e);
  const s = e2e.router.stats();
  console.log(`kafka-e2e kill -9 (seed ${SEED}), ${((Date.now() - t0) / 1000).toFixed(1)} s:\n${e2e.timeline.join('\n')}\n` +
    `${kills.length} kills; requests lost to kills: ${s.unreachable} (${s.unreachableRecords} records), each retried and answered; ` +
    `copies cancelled: ${figures.cancelledEventCopies} events, ${figures.cancelledTransactionCopies} transactions\n${JSON.stringify(figures, null, 2)}`);
}, 240_000);

afterAll(async () => {
  if (e2e && !figures) console.log(`kafka-e2e kill -9 did not finish:\n${e2e.summary()}`);
  await e2e?.stop();
});

describe('Kafka end to end: ingest replicas (OS processes) killed -9 mid-batch, repeatedly, under load', () => {
  test(`${KILLS} kills, each of a replica process with requests in flight and rows buffered; every replica is back`, () => {
    expect(kills).toHaveLength(KILLS);
    for (const k of kills) {
      expect(k.pid).toBeGreaterThan(0);
      expect(k.inFlight).toBeGreaterThan(0);
      expect(k.buffered).toBeGreaterThan(0);
    }
    expect(new Set(kills.map((k) => k.pid)).size).toBe(KILLS);
    expect(e2e.replicas.every((r) => r.up)).toBe(true);
  });

  test('the requests the kills cut off failed (502) and their records were retried and answered', () => {
    const s = e2e.router.stats();
    expect(s.unreachable).toBeGreaterThanOrEqual(kills.reduce((n, k) => n + k.lost, 0));
    expect(s.unreachable).toBeGreaterThan(0);
    expect(s.unreachableRecords).toBeGreaterThan(0);
    expect(s.answeredRecords).toBe(e2e.gen.records.length);
  });

  test('every stored copy beyond the first has exactly one cancelling row', () => {
    const f = figures!;
    expect(f.storedEventRows - f.cancelledEventCopies).toBe(f.events);
    expect(f.storedTransactionRows - f.cancelledTransactionCopies).toBe(f.transactions);
  });

  figureTests(() => e2e);
});
