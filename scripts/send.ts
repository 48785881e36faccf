import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CloudEvent } from 'cloudevents';
import { EVENT_CE_TYPE, KAFKA_CE_TYPE, kafkaSourceUri, TRANSACTION_CE_TYPE } from '../functions/cloudevents/index.js';
import { EVENT_TYPES } from '../functions/schemas/events.js';
import { encode, post, toCloudEvent, MODES, type Mode } from '../generator/cloudevents.js';
import { generate, type GeneratedRecord } from '../generator/simulate.js';

/**
 * `npm run send`: the tool to try the ingest function by hand. It sends one example event, a
 * generated batch, or a file of events (JSON lines) as CloudEvents in the mode asked for, and prints
 * every answer.
 */
const USAGE = `npm run send -- [options]
  --url URL           ingest endpoint                                   [http://127.0.0.1:8080/]
  --mode MODE         binary | structured | batch | kafka               [binary]
                      (kafka: binary mode shaped as KafkaSource sends it)
  --example TYPE      send one valid example: ${EVENT_TYPES.join(', ')}, transaction
  --invalid           with --example: break it (drop a required field) to see a dead letter
  --generate N        send N generated records (valid and a few invalid)
  --file PATH         send each line of a JSON-lines file (user events or transactions, as they are)
  --seed S            seed for --example and --generate                  [1]
  --batch-size N      events per request in batch mode                  [500]
Examples:
  npm run send -- --example purchase
  npm run send -- --example search --invalid --mode structured
  npm run send -- --generate 5000 --mode batch`;

const { values: a } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://127.0.0.1:8080/' }, mode: { type: 'string', default: 'binary' },
    example: { type: 'string' }, invalid: { type: 'boolean', default: false }, generate: { type: 'string' },
    file: { type: 'string' }, seed: { type: 'string', default: '1' }, 'batch-size': { type: 'string', default: '500' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
const fail = (msg: string): never => { console.error(`${msg}\n\n${USAGE}`); process.exit(2); };
if (a.help) { console.log(USAGE); process.exit(0); }
const kafkaShape = a.mode === 'kafka';
const mode = (kafkaShape ? 'binary' : a.mode) as Mode;
if (!MODES.includes(mode)) fail(`unknown --mode ${a.mode}`);

/** A JSON-lines file: each line becomes a CloudEvent as it is (the ingest judges it, not this tool). */
function fileEvents(path: string): CloudEvent<unknown>[] {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.trim()).map((line, i) => {
    let data: unknown;
    try { data = JSON.parse(line); } catch { data = undefined; }
    const o = (data ?? {}) as Record<string, unknown>;
    const tx = 'transaction_id' in o;
    return new CloudEvent({
      id: String(o.event_id ?? o.transaction_id ?? `${path}:${i + 1}`), source: '/speed-layer/send',
      type: tx ? TRANSACTION_CE_TYPE : EVENT_CE_TYPE,
      ...(data === undefined ? { datacontenttype: 'text/plain', data: line } : { datacontenttype: 'application/json', data }),
    }, false);
  });
}

function records(): GeneratedRecord[] {
  const seed = Number(a.seed);
  if (a.example) {
    const gen = generate({ seed, users: 30, startMs: Date.now() - 3 * 3600_000, durationMs: 3 * 3600_000 - 1000, invalidShare: 0 });
    const found = gen.records.find((r) => (a.example === 'transaction' ? r.kind === 'transaction' : r.kind === 'event' && r.event.event_type === a.example));
    if (!found) return fail(`--example must be one of ${EVENT_TYPES.join(', ')}, transaction`);
    if (!a.invalid) return [found];
    const data: Record<string, unknown> = { ...(found.kind === 'event' ? found.event : found.kind === 'transaction' ? found.transaction : {}) };
    const drop = found.kind === 'transaction' ? 'total_amount' : 'user_id';
    delete data[drop];
    return [{ kind: 'invalid', id: found.id, as: found.kind === 'transaction' ? 'transaction' : 'event', raw: JSON.stringify(data), reason: 'schema_violation' }];
  }
  if (a.generate) {
    const n = Number(a.generate);
    if (!Number.isInteger(n) || n < 1) fail('--generate takes a positive integer');
    const users = Math.max(5, Math.ceil(n / 34));
    return generate({ seed, users, startMs: Date.now() - 4 * 3600_000, durationMs: 4 * 3600_000 - 1000 }).records.slice(0, n);
  }
  return fail('say what to send: --example TYPE, --generate N or --file PATH');
}

/** The event as KafkaSource delivers a record of its topic (the mapping in functions/cloudevents/kafka.ts). */
function asKafkaSource(e: CloudEvent<unknown>, i: number): CloudEvent<unknown> {
  const topic = e.type === TRANSACTION_CE_TYPE ? 'transactions' : 'user_events';
  const data = e.data as Record<string, unknown> | string;
  const key = typeof data === 'object' && data ? String(data.user_id ?? '') : '';
  return new CloudEvent({
    id: `partition:0/offset:${i}`, source: kafkaSourceUri({ namespace: 'speed-layer', name: 'speed-layer-events' }, topic),
    type: KAFKA_CE_TYPE, subject: `partition:0#${i}`, key, datacontenttype: 'application/json', data: e.data,
  }, false);
}

const base = a.file ? fileEvents(a.file) : records().map((r) => toCloudEvent(r, '/speed-layer/send'));
const events = kafkaShape ? base.map(asKafkaSource) : base;
const size = mode === 'batch' ? Number(a['batch-size']) : 1;
const tally: Record<string, number> = {};
const t0 = performance.now();
for (let i = 0; i < events.length; i += size) {
  const chunk = events.slice(i, i + size);
  const msg = encode(mode, chunk);
  const answer = await post(a.url!, msg).catch((err: Error) => ({ status: 0, body: `${err.message} (is the ingest function running? npm start)` }));
  tally[answer.status] = (tally[answer.status] ?? 0) + chunk.length;
  if (events.length <= 20 || answer.status !== 200) {
    console.log(`${answer.status} ${chunk.length === 1 ? chunk[0]!.id : `${chunk.length} events`}\n  ${JSON.stringify(answer.body)}`);
  }
}
console.log(`sent ${events.length} events in ${Math.ceil(events.length / size)} ${mode} request(s) in ${Math.round(performance.now() - t0)} ms; answers by status: ${JSON.stringify(tally)}`);
