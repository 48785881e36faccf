import { parseArgs } from 'node:util';
import { defaultPopulation } from './population.js';

/** `npm run bench -- …`: every option, its default and why. */
export const USAGE = `npm run bench -- [options]

  --mode http|batch|kafka   how events reach ingest                                    [kafka]
                            http:  one binary CloudEvent per request, many in flight (the Knative contract)
                            batch: application/cloudevents-batch+json requests of --batch-size events
                            kafka: produced to a local Kafka broker; the KafkaSource-like dispatcher
                                   (its own process) POSTs one CloudEvent per record to ingest
  --rate N                  events per second, sent open-loop (whatever the answers)    [1000]
  --duration S              steady window measured, after the warm-up                   [60]
  --warmup S                first seconds, sent but not measured                        [20]
  --users N                 concurrent dashboard users querying during ingest           [50]
  --out FILE.json           the JSON summary                      [bench/out/<mode>-<rate>.json]
  --plot FILE.png           throughput, freshness and replicas over time     [next to --out, .png]
  --baseline / --no-baseline  also run ClickHouse's Kafka engine on the same stream, same rate
                            (a second phase of the run; default on in kafka mode, off otherwise)
  --profile                 node --cpu-prof the system under test (and the dispatcher); the top
                            costs go into the summary, the .cpuprofile files into the run folder
  --population N            distinct users (put into PostgreSQL once, 5 % left out): enough that every
                            visit under way or inside its 30-minute timeout has a user of its own
                            [derived from --rate: defaultPopulation() in bench/population.ts, 3.1 M at 10k/s]
  --history N               before the run, store N closed sessions of the last 30 days (~10 events
                            each, in user_events_realtime too) in the system's ClickHouse      [0]
  --seed S                                                                              [1]
  --connections N           http/batch modes: sockets to ingest (requests beyond wait)  [10000]
  --batch-size N            batch mode: events per request                              [1000]
  --dispatcher-in-flight N  kafka mode: the dispatcher's maxInFlight (its cap is 10000)  [10000]
  --dispatcher-batch N      kafka mode: 0 = one binary CloudEvent per record (KafkaSource's way);
                            N > 0 = the dispatcher's local extension, cloudevents-batch+json
                            requests of up to N records (KafkaSource itself cannot batch)  [0]
  --baseline-consumers N    the Kafka engine's kafka_num_consumers                      [1]
  --keep                    keep the run folder (.data/bench/<run>): ClickHouse data, logs, sent ids
  -h, --help

Long runs (a soak: --duration 2700 and more): progress every 5 s (stored/s, freshness, session freshness, open sessions, RSS);
Ctrl-C once ends the load early and still drains, verifies and writes the summary; twice aborts.

The system under test is \`scripts/start.ts --rate 0\` (ingest, analytics and the embedded ClickHouse
in one process) started as a child; its settings come from the environment as usual
(e.g. BATCH_MAX_ROWS=20000 BATCH_MAX_AGE_MS=1000 npm run bench -- …).`;

export type Mode = 'http' | 'batch' | 'kafka';
export type BenchArgs = {
  mode: Mode; rate: number; durationS: number; warmupS: number; users: number;
  out: string; plot: string; baseline: boolean; profile: boolean;
  population: number; history: number; seed: number; connections: number; batchSize: number;
  dispatcherInFlight: number; dispatcherBatch: number; baselineConsumers: number; keep: boolean;
};

export function parseBenchArgs(argv: string[]): BenchArgs | 'help' {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      mode: { type: 'string', default: 'kafka' },
      rate: { type: 'string', default: '1000' },
      duration: { type: 'string', default: '60' },
      warmup: { type: 'string', default: '20' },
      users: { type: 'string', default: '50' },
      out: { type: 'string' },
      plot: { type: 'string' },
      baseline: { type: 'boolean' },
      'no-baseline': { type: 'boolean' },
      profile: { type: 'boolean', default: false },
      population: { type: 'string' },
      history: { type: 'string', default: '0' },
      seed: { type: 'string', default: '1' },
      connections: { type: 'string', default: '10000' },
      'batch-size': { type: 'string', default: '1000' },
      'dispatcher-in-flight': { type: 'string', default: '10000' },
      'dispatcher-batch': { type: 'string', default: '0' },
      'baseline-consumers': { type: 'string', default: '1' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (v.help) return 'help';
  const problems: string[] = [];
  const int = (name: string, raw: string | undefined, min: number, max: number) => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) problems.push(`--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    return n;
  };
  const mode = v.mode as Mode;
  if (!['http', 'batch', 'kafka'].includes(mode)) problems.push(`--mode must be http, batch or kafka, got ${JSON.stringify(v.mode)}`);
  const rate = int('rate', v.rate, 1, 1_000_000);
  const out = v.out ?? `bench/out/${mode}-${rate}.json`;
  const args: BenchArgs = {
    mode, rate,
    durationS: int('duration', v.duration, 1, 24 * 3600),
    warmupS: int('warmup', v.warmup, 0, 3600),
    users: int('users', v.users, 0, 10_000),
    out,
    plot: v.plot ?? out.replace(/\.json$/, '') + '.png',
    baseline: v['no-baseline'] ? false : v.baseline ?? mode === 'kafka',
    profile: v.profile ?? false,
    population: v.population === undefined ? defaultPopulation(rate) : int('population', v.population, 1, 100_000_000),
    history: int('history', v.history, 0, 1_000_000_000),
    seed: int('seed', v.seed, 0, 2 ** 31),
    connections: int('connections', v.connections, 1, 15_000),
    batchSize: int('batch-size', v['batch-size'], 1, 100_000),
    dispatcherInFlight: int('dispatcher-in-flight', v['dispatcher-in-flight'], 1, 10_000),
    dispatcherBatch: int('dispatcher-batch', v['dispatcher-batch'], 0, 100_000),
    baselineConsumers: int('baseline-consumers', v['baseline-consumers'], 1, 16),
    keep: v.keep ?? false,
  };
  if (problems.length) throw new Error(`${problems.join('\n')}\n\n${USAGE}`);
  return args;
}
