/**
 * `npm run bench`: an open-loop load generator through one path of the speed layer (one HTTP
 * CloudEvent per event, batch mode, or Kafka through the KafkaSource-like dispatcher), with dashboard
 * users querying meanwhile, and, side by side on the same stream, ClickHouse's own Kafka engine.
 * See USAGE in args.ts, and bench/RESULTS.md for what it found.
 *
 * Processes (each measured from /proc): this one (load generator, dashboard users, samplers); the
 * system under test `scripts/start.ts --rate 0` (ingest + analytics + embedded ClickHouse); in kafka
 * mode the Kafka broker (JVM) and the dispatcher; for the baseline a chDB process with the Kafka
 * engine; after each phase a verification process that reads the stopped engine's data directory.
 * Every process is stopped by pid when the run ends, also on Ctrl-C or a time-out.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { loadConfig } from '../functions/core/config.js';
import { createEventProducer, ensureTopics, startKafkaBroker, type EventProducer, type KafkaBroker } from '../local/kafka/index.js';
import { parseBenchArgs, USAGE } from './args.js';
import { say } from './bench-log.js';
import type { Child } from './children.js';
import { DRAIN_MS, earlyStop } from './drive.js';
import { retry } from './helpers.js';
import { runBaseline } from './phase-baseline.js';
import { runOurs } from './phase-ours.js';
import { renderSvg, writePng } from './plot.js';
import { minutePlotSvg } from './plot-minutes.js';
import { createProcMonitor } from './proc.js';
import { STREAM_DEFAULTS } from './stream.js';
import { buildSummary, printHeadline } from './summary.js';
import { plotOf } from './summary-plot.js';
import { ensureBenchUsers } from './users-table.js';

async function main() {
  const parsed = parseBenchArgs(process.argv.slice(2));
  if (parsed === 'help') { console.log(USAGE); return; }
  const args = parsed;
  const runId = `${args.mode}-${args.rate}-${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}`;
  const runDir = resolve('.data/bench', runId);
  mkdirSync(runDir, { recursive: true });
  mkdirSync(dirname(resolve(args.out)), { recursive: true });
  const config = loadConfig();
  const phases = args.baseline ? 2 : 1;
  // A history load (~25,000 sessions/s here, then its merges) comes before the run's own time.
  const historyMs = Math.ceil(args.history / 10_000) * 1000 + (args.history ? 20 * 60_000 : 0);
  const limitMs = phases * ((args.warmupS + args.durationS) * 1000 + DRAIN_MS + 6 * 60_000) + 5 * 60_000 + historyMs;
  say(`run ${runId}: ${args.mode} at ${args.rate.toLocaleString('en')} events/s, ${args.warmupS} s warm-up + ${args.durationS} s measured, ${args.users} dashboard users${args.baseline ? ', then the ClickHouse Kafka engine baseline' : ''}; folder ${runDir}; time limit ${Math.round(limitMs / 60_000)} min`);

  const procs = createProcMonitor(1000);
  procs.watch('bench', process.pid);
  const children: Child[] = [];
  let broker: KafkaBroker | undefined;
  let producer: EventProducer | undefined;
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    for (const c of children.reverse()) await c.stop(20_000).catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
    await broker?.stop().catch(() => undefined);
    procs.stop();
  };
  const watchdog = setTimeout(() => {
    say(`time limit of ${Math.round(limitMs / 60_000)} min reached: stopping everything`);
    void cleanup().finally(() => { removeRunDir(); process.exit(3); });
  }, limitMs);
  watchdog.unref();
  const removeRunDir = () => { if (!args.keep) rmSync(runDir, { recursive: true, force: true }); };
  // The first Ctrl-C (or SIGTERM) ends the run early but still drains, verifies and writes the summary
  // (a soak stopped by hand keeps its figures); a second one stops every process at once.
  const hardStop = (sig: string) => { say(`${sig} again: stopping every process`); void cleanup().finally(() => { removeRunDir(); process.exit(130); }); };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      earlyStop.requested = true;
      earlyStop.atMs = Date.now();
      say(`${sig}: stopping the load now; the run drains briefly, verifies and writes its summary (${sig} again to abort)`);
      process.once(sig, () => hardStop(sig));
    });
  }

  try {
    await ensureBenchUsers(config.DATABASE_URL, { seed: args.seed, population: args.population, unknownShare: STREAM_DEFAULTS.unknownShare }, say);
    if (args.mode === 'kafka' || args.baseline) {
      say('starting a Kafka broker (Kafka 3.9.1, its own folder and port)…');
      broker = await startKafkaBroker({ port: 0, dataDir: join(runDir, 'kafka') });
      procs.watch('broker', broker.pid());
      await retry(() => ensureTopics(broker!.brokers), 5);
      producer = createEventProducer(broker.brokers, { clientId: 'bench' });
      say(`broker ${broker.brokers} (pid ${broker.pid()})`);
    }

    const ours = await runOurs(args, runDir, procs, children, broker, producer);
    const theirs = args.baseline ? await runBaseline(args, runDir, procs, children, broker!, producer!) : undefined;

    const summary = buildSummary(args, runId, config, ours, theirs, procs);
    writeFileSync(args.out, `${JSON.stringify(summary, null, 2)}\n`);
    say(`summary written to ${args.out}`);
    const png = await writePng(renderSvg(plotOf(args, summary, ours, theirs)), args.plot).catch((err: Error) => { say(`plot: ${err.message}`); return false; });
    say(png ? `plot written to ${args.plot}` : `plot: Chromium did not start; wrote the SVG next to ${args.plot} instead`);
    const minutesSvg = args.out.replace(/\.json$/, '') + '.minutes.svg';
    writeFileSync(minutesSvg, minutePlotSvg(`speed-layer bench ${runId}: per minute`, summary.series.per_minute));
    say(`per-minute plot written to ${minutesSvg}`);
    printHeadline(summary);
  } finally {
    await cleanup();
    clearTimeout(watchdog);
    removeRunDir();
    if (args.keep) say(`run folder kept: ${runDir}`);
  }
}


main().catch((err: Error) => {
  console.error(`bench failed: ${err.stack ?? err.message}`);
  process.exitCode = 1;
});
