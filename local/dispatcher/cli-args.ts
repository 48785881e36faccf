import { parseArgs } from 'node:util';
import type { DispatcherConfigInput } from './config.js';

export const USAGE = `Usage: npx tsx local/dispatcher/main.ts [options]   (or: npm run dispatcher -- [options])

Plays Knative KafkaSource's part locally: reads Kafka topics with a consumer group and POSTs each
record to the sink as a CloudEvent (binary mode), committing offsets only after a 2xx or a dead letter.

  --config FILE                 JSON: a KafkaSource object (kind: KafkaSource) or dispatcher options;
                                the flags below override it
  --brokers HOST:PORT[,...]     default: $KAFKA_BROKERS, else 127.0.0.1:9092
  --topics T1[,T2]              default: user_events,transactions
  --sink URL                    default: http://127.0.0.1:8080/
  --name NAME --namespace NS    the KafkaSource identity in ce-source (default speed-layer, default)
  --group ID                    consumer group (default kafkasource-NS-NAME)
  --initial-offset earliest|latest          default earliest
  --ordering ordered|unordered              default ordered
  --max-in-flight N             unordered: requests in flight in total (default 256)
  --max-in-flight-per-partition N           unordered: per partition (default 64)
  --retry N                     retries after the first attempt (default 3)
  --backoff-policy linear|exponential       default exponential
  --backoff-delay ISO8601       default PT0.2S
  --timeout ISO8601             per request (default PT10M, as KafkaSource)
  --retry-after-max ISO8601     honour Retry-After on 429/503 up to this long
  --dead-letter-sink URL        where events go once retries are exhausted
  --dead-letter-topic TOPIC     also produce dead letters to this Kafka topic
  --on-exhausted block|discard  nowhere to dead-letter: keep retrying (default) or drop
  --batch-size N                extension: POST application/cloudevents-batch+json arrays of up to N
  --ce-extension NAME=VALUE     ceOverrides extension (repeatable)
  --commit-interval ISO8601     default PT0.5S
  --session-timeout ISO8601     default PT10S
  --drain-timeout ISO8601       graceful stop waits this long for in-flight requests (default PT15S)
  --stats-interval ISO8601      log a stats line this often (default PT10S, PT0S for never)
  -h, --help`;

export interface CliOptions {
  readonly help: boolean;
  readonly configFile: string | undefined;
  readonly statsInterval: string | undefined;
  /** Only the fields given on the command line; merged over the config file's. */
  readonly overrides: DispatcherConfigInput;
}

/** Maps flags to KafkaSource-shaped options; values are checked later, in parseDispatcherConfig. */
export function parseCliArgs(argv: readonly string[]): CliOptions {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      config: { type: 'string' },
      brokers: { type: 'string' },
      topics: { type: 'string' },
      sink: { type: 'string' },
      name: { type: 'string' },
      namespace: { type: 'string' },
      group: { type: 'string' },
      'initial-offset': { type: 'string' },
      ordering: { type: 'string' },
      'max-in-flight': { type: 'string' },
      'max-in-flight-per-partition': { type: 'string' },
      retry: { type: 'string' },
      'backoff-policy': { type: 'string' },
      'backoff-delay': { type: 'string' },
      timeout: { type: 'string' },
      'retry-after-max': { type: 'string' },
      'dead-letter-sink': { type: 'string' },
      'dead-letter-topic': { type: 'string' },
      'on-exhausted': { type: 'string' },
      'batch-size': { type: 'string' },
      'ce-extension': { type: 'string', multiple: true },
      'commit-interval': { type: 'string' },
      'session-timeout': { type: 'string' },
      'drain-timeout': { type: 'string' },
      'stats-interval': { type: 'string' },
    },
  });
  const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));
  const delivery = prune({
    retry: num(values.retry),
    backoffPolicy: values['backoff-policy'],
    backoffDelay: values['backoff-delay'],
    timeout: values.timeout,
    retryAfterMax: values['retry-after-max'],
    deadLetterSink: values['dead-letter-sink'],
  });
  const extensions = Object.fromEntries((values['ce-extension'] ?? []).map((pair) => {
    const i = pair.indexOf('=');
    return i < 0 ? [pair, ''] : [pair.slice(0, i), pair.slice(i + 1)];
  }));
  const overrides: DispatcherConfigInput = prune({
    bootstrapServers: values.brokers,
    topics: values.topics,
    sink: values.sink,
    name: values.name,
    namespace: values.namespace,
    consumerGroup: values.group,
    initialOffset: values['initial-offset'],
    ordering: values.ordering,
    maxInFlight: num(values['max-in-flight']),
    maxInFlightPerPartition: num(values['max-in-flight-per-partition']),
    deadLetterTopic: values['dead-letter-topic'],
    onExhausted: values['on-exhausted'],
    batchSize: num(values['batch-size']),
    commitInterval: values['commit-interval'],
    sessionTimeout: values['session-timeout'],
    drainTimeout: values['drain-timeout'],
    delivery: Object.keys(delivery).length > 0 ? delivery : undefined,
    ceOverrides: Object.keys(extensions).length > 0 ? { extensions } : undefined,
  });
  return { help: values.help ?? false, configFile: values.config, statsInterval: values['stats-interval'], overrides };
}

/** Merges command-line options over a config file's, and fills the local defaults for the rest. */
export function mergeConfigInput(file: DispatcherConfigInput, flags: DispatcherConfigInput, env: { readonly KAFKA_BROKERS?: string }): DispatcherConfigInput {
  const merged: DispatcherConfigInput = {
    ...file,
    ...flags,
    delivery: { ...file.delivery, ...flags.delivery },
    ceOverrides: { extensions: { ...file.ceOverrides?.extensions, ...flags.ceOverrides?.extensions } },
  };
  return {
    ...merged,
    bootstrapServers: merged.bootstrapServers ?? env.KAFKA_BROKERS ?? '127.0.0.1:9092',
    topics: merged.topics ?? 'user_events,transactions',
    sink: merged.sink ?? 'http://127.0.0.1:8080/',
  };
}

function prune<T extends object>(obj: T): T {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as T;
}
