/**
 * CLI: `npx tsx local/dispatcher/main.ts --sink http://127.0.0.1:8080/ --topics user_events,transactions
 * --ordering unordered ...` (see --help). Runs until SIGINT/SIGTERM, then stops gracefully.
 */
import { readFileSync } from 'node:fs';
import { createLocalLogger } from '../logger.js';
import { parseIsoDurationMs } from './duration.js';
import { configInputFromJson, DispatcherConfigError, parseDispatcherConfig, type DispatcherConfigInput } from './config.js';
import { mergeConfigInput, parseCliArgs, USAGE } from './cli-args.js';
import { createDispatcher } from './dispatcher.js';

const logger = createLocalLogger('dispatcher');

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

let cli: ReturnType<typeof parseCliArgs>;
try {
  cli = parseCliArgs(process.argv.slice(2));
} catch (error) {
  fail(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
}
if (cli.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

let fileInput: DispatcherConfigInput = {};
if (cli.configFile) {
  try {
    fileInput = configInputFromJson(JSON.parse(readFileSync(cli.configFile, 'utf8')));
  } catch (error) {
    fail(`cannot read --config ${cli.configFile}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

let config: ReturnType<typeof parseDispatcherConfig>;
try {
  config = parseDispatcherConfig(mergeConfigInput(fileInput, cli.overrides, process.env));
} catch (error) {
  if (error instanceof DispatcherConfigError) fail(error.message);
  throw error;
}
const statsIntervalMs = parseIsoDurationMs(cli.statsInterval ?? 'PT10S');
if (statsIntervalMs === undefined) fail(`--stats-interval: "${cli.statsInterval}" is not an ISO-8601 duration such as PT10S`);

const dispatcher = createDispatcher(config, { logger });
let stopping = false;
const shutdown = (signal: string): void => {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'stopping');
  dispatcher.stop().then(() => process.exit(0), (error: unknown) => {
    logger.error({ err: error }, 'stop failed');
    process.exit(1);
  });
};
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));

try {
  await dispatcher.start();
} catch (error) {
  logger.error({ err: error }, 'dispatcher failed to start');
  process.exit(1);
}
process.stdout.write(`dispatcher running: ${config.topics.join(',')} -> ${config.sink}\n`);
if (statsIntervalMs > 0) {
  setInterval(() => {
    const { state, received, delivered, deadLettered, discarded, inFlight, queued, retries, failureReasons, blockedRounds } = dispatcher.stats();
    logger.info({ state, received, delivered, deadLettered, discarded, inFlight, queued, retries, failureReasons, blockedRounds }, 'stats');
  }, statsIntervalMs).unref();
}
