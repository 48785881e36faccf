import { createPgPool, createTierSource } from '../../functions/adapters/tier-source.js';
import { createLogger } from '../../functions/core/log.js';
import { encode, post, toCloudEvent } from '../../generator/cloudevents.js';
import { byTopic } from '../../generator/kafka-records.js';
import { createLiveShop } from '../../generator/live.js';
import type { GeneratedRecord } from '../../generator/simulate.js';
import type { FromShop, ShopOptions, ShopTarget, ToShop } from './shop.js';

/** The live shop's process (see ./shop.ts): seeds its users, then sends what falls due, until told to stop. */
const options = JSON.parse(process.argv[2] ?? '{}') as ShopOptions;
const log = createLogger('live-shop', options.logLevel);
const tell = (m: FromShop) => { if (process.connected) process.send!(m); };

const shop = createLiveShop({ seed: options.seed, rate: options.rate });
// Its users go to PostgreSQL first (5 % left out, so their tier is `unknown`).
const pool = createPgPool(options.databaseUrl, 2);
const known = shop.users.filter((u) => u.inPostgres).map((u) => ({ user_id: u.user_id, tier: u.tier }));
const failed = await createTierSource(pool, options.usersTable).upsert(known).then(() => undefined, (err: Error) => err.message);
await pool.end();
tell({ type: 'seeded', users: known.length, ...(failed ? { failed } : {}) });

let stopping = false;
let tick: NodeJS.Timeout | undefined;
let stopSender: () => Promise<void> = async () => {};
let generated = 0;

async function senderFor(target: ShopTarget): Promise<(records: GeneratedRecord[]) => void> {
  if (target.kind === 'kafka') {
    const { createEventProducer } = await import('../../local/kafka/produce.js');
    const producer = createEventProducer(target.brokers, { logger: log.child({ fn: 'producer' }) });
    stopSender = () => producer.disconnect();
    return (records) => {
      const t = byTopic(records);
      void Promise.all([producer.send('user_events', t.user_events), producer.send('transactions', t.transactions)])
        .catch((err: Error) => { if (!stopping) log.warn({ err: err.message }, 'produce failed'); });
    };
  }
  // Many requests in flight: each is answered only once its batch is stored. Bounded, so a
  // ClickHouse that hangs cannot pile up requests without end.
  let inFlight = 0;
  const postOne = async (msg: ReturnType<typeof encode>) => {
    inFlight++;
    try {
      const r = await post(target.url, msg);
      if (r.status !== 200 && r.status !== 503) log.warn({ status: r.status, body: r.body }, 'ingest answered');
    } catch (err) {
      if (!stopping) log.warn({ err: (err as Error).message }, 'send failed');
    } finally {
      inFlight--;
    }
  };
  return (records) => {
    if (target.mode === 'batch') {
      for (let i = 0; i < records.length; i += 1000) if (inFlight < 2_000) void postOne(encode('batch', records.slice(i, i + 1000).map((r) => toCloudEvent(r))));
    } else {
      for (const r of records) if (inFlight < 2_000) void postOne(encode(target.mode, [toCloudEvent(r)]));
    }
  };
}

let started = false;
async function go(target: ShopTarget) {
  if (started || stopping) return;
  started = true;
  const send = await senderFor(target);
  if (stopping) return;
  // What fell due while the layer was starting is skipped, not sent as one burst; each tick then
  // sends at most 3x its share, so a stall catches up without flooding the ingest.
  log.info({ skipped: shop.due(Date.now()).length }, 'live shop: records due during start-up skipped');
  const perTickMax = Math.ceil((options.rate / 10) * 3);
  let reported = 0;
  tick = setInterval(() => {
    const due = shop.due(Date.now(), perTickMax);
    generated += due.length;
    send(due);
    if (Date.now() - reported >= 1_000) { reported = Date.now(); tell({ type: 'generated', total: generated }); }
  }, 100);
}

async function stop() {
  if (stopping) return;
  stopping = true;
  if (tick) clearInterval(tick);
  tell({ type: 'generated', total: generated });
  await stopSender().catch(() => undefined);
  process.exit(0);
}

process.on('message', (m: ToShop) => void (m.type === 'go' ? go(m.target) : stop()));
// Ctrl-C reaches the whole process group; the parent going away ends the shop too.
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
process.on('disconnect', () => void stop());
