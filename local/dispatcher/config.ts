import { parseIsoDurationMs } from './duration.js';

/**
 * What a dispatcher is told, in KafkaSource's own words (spec field names of
 * sources.knative.dev/v1 KafkaSource) plus a few local extensions, marked below.
 * parseDispatcherConfig turns it into DispatcherConfig once, or says everything that is wrong.
 */
export interface DispatcherConfigInput {
  readonly bootstrapServers?: string | readonly string[];
  readonly topics?: string | readonly string[];
  readonly sink?: string | { readonly uri?: string };
  /** metadata.name and metadata.namespace of the KafkaSource this dispatcher stands for. */
  readonly name?: string;
  readonly namespace?: string;
  readonly consumerGroup?: string;
  readonly initialOffset?: string;
  readonly ordering?: string;
  readonly delivery?: {
    readonly retry?: number;
    readonly backoffPolicy?: string;
    readonly backoffDelay?: string;
    readonly timeout?: string;
    readonly retryAfterMax?: string;
    readonly deadLetterSink?: string | { readonly uri?: string };
  };
  readonly ceOverrides?: { readonly extensions?: Readonly<Record<string, string>> };
  /** Local extension: most requests in flight across all partitions (unordered). */
  readonly maxInFlight?: number;
  /** Local extension: most requests in flight for one partition (unordered). */
  readonly maxInFlightPerPartition?: number;
  /** Local extension: also produce dead letters to this Kafka topic (created if missing). */
  readonly deadLetterTopic?: string;
  /**
   * Local extension: what to do when retries are exhausted and no dead-letter destination took
   * the record. `block` (default) keeps retrying so nothing is lost while the sink is down;
   * `discard` commits past it, as Knative itself does.
   */
  readonly onExhausted?: string;
  /** Local extension: post `application/cloudevents-batch+json` arrays of up to this many records. */
  readonly batchSize?: number;
  readonly commitInterval?: string;
  readonly sessionTimeout?: string;
  readonly drainTimeout?: string;
  readonly clientId?: string;
}

export type Ordering = 'ordered' | 'unordered';
export type BackoffPolicy = 'linear' | 'exponential';
export type OnExhausted = 'block' | 'discard';

export interface DeliveryConfig {
  readonly retry: number;
  readonly backoffPolicy: BackoffPolicy;
  readonly backoffDelayMs: number;
  readonly timeoutMs: number;
  /** Upper bound for a sink's Retry-After on 429/503; undefined ignores Retry-After (Knative's default). */
  readonly retryAfterMaxMs: number | undefined;
  readonly deadLetterSink: string | undefined;
}

export interface DispatcherConfig {
  readonly brokers: readonly string[];
  readonly topics: readonly string[];
  readonly sink: string;
  readonly name: string;
  readonly namespace: string;
  readonly consumerGroup: string;
  readonly initialOffset: 'earliest' | 'latest';
  readonly ordering: Ordering;
  readonly delivery: DeliveryConfig;
  readonly ceExtensions: Readonly<Record<string, string>>;
  readonly maxInFlight: number;
  readonly maxInFlightPerPartition: number;
  readonly deadLetterTopic: string | undefined;
  readonly onExhausted: OnExhausted;
  /** 0: one binary-mode CloudEvent per request (KafkaSource's way); N > 0: batches of up to N. */
  readonly batchSize: number;
  readonly commitIntervalMs: number;
  readonly sessionTimeoutMs: number;
  readonly drainTimeoutMs: number;
  readonly clientId: string;
}

/** Defaults, with the reason beside each. */
export const DISPATCHER_DEFAULTS = {
  name: 'speed-layer',
  namespace: 'default',
  // Knative defaults to `latest`; locally records produced before the first start must not be skipped.
  initialOffset: 'earliest',
  // KafkaSource's own default.
  ordering: 'ordered',
  retry: 3,
  backoffPolicy: 'exponential',
  backoffDelay: 'PT0.2S',
  // KafkaSource's dispatcher (eventing-kafka-broker) waits 10 minutes by default. The ingest holds
  // its answer until a flush (2 s + the insert) and says 503 + Retry-After when it cannot take
  // more, so a slower answer means it is overloaded, not gone (a dead local process resets the
  // connection at once); resending then only adds duplicates to its load: the bench's retry
  // storm (24,600 retries for 20,078 records) came with the former 30 s.
  timeout: 'PT10M',
  maxInFlight: 256,
  maxInFlightPerPartition: 64,
  onExhausted: 'block',
  batchSize: 0,
  // Commits are cheap on a local broker; a short interval keeps redelivery after a crash small.
  commitInterval: 'PT0.5S',
  // Broker minimum is 6 s; 10 s lets a restarted dispatcher take over a crashed one's partitions quickly.
  sessionTimeout: 'PT10S',
  drainTimeout: 'PT15S',
} as const;

export class DispatcherConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid dispatcher config:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'DispatcherConfigError';
  }
}

const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const EXTENSION_NAME = /^[a-z0-9]{1,20}$/;
const HOST_PORT = /^[^\s:,]+:\d{1,5}$/;

export function parseDispatcherConfig(input: DispatcherConfigInput): DispatcherConfig {
  const problems: string[] = [];
  const d = DISPATCHER_DEFAULTS;

  const list = (v: string | readonly string[] | undefined): string[] =>
    (typeof v === 'string' ? v.split(',') : [...(v ?? [])]).map((s) => s.trim()).filter(Boolean);

  const brokers = list(input.bootstrapServers);
  if (brokers.length === 0) problems.push('bootstrapServers: at least one host:port is required (or set KAFKA_BROKERS)');
  for (const b of brokers) if (!HOST_PORT.test(b)) problems.push(`bootstrapServers: "${b}" is not host:port`);

  const topics = list(input.topics);
  if (topics.length === 0) problems.push('topics: at least one topic is required');
  for (const t of topics) if (!TOPIC_NAME.test(t)) problems.push(`topics: "${t}" is not a valid Kafka topic name`);

  const url = (field: string, value: string | { readonly uri?: string } | undefined, required: boolean): string | undefined => {
    const text = typeof value === 'string' ? value : value?.uri;
    if (text === undefined || text === '') {
      if (required) problems.push(`${field}: an absolute http(s) URL is required, e.g. http://127.0.0.1:8080/`);
      return undefined;
    }
    try {
      const parsed = new URL(text);
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('scheme');
      return parsed.toString();
    } catch {
      problems.push(`${field}: "${text}" is not an absolute http(s) URL`);
      return undefined;
    }
  };
  const sink = url('sink', input.sink, true) ?? '';
  const deadLetterSink = url('delivery.deadLetterSink', input.delivery?.deadLetterSink, false);

  const oneOf = <T extends string>(field: string, value: string | undefined, allowed: readonly T[], fallback: T): T => {
    if (value === undefined || value === '') return fallback;
    if ((allowed as readonly string[]).includes(value)) return value as T;
    problems.push(`${field}: "${value}" must be one of ${allowed.join(', ')}`);
    return fallback;
  };
  const ordering = oneOf<Ordering>('ordering', input.ordering, ['ordered', 'unordered'], d.ordering);
  const initialOffset = oneOf('initialOffset', input.initialOffset, ['earliest', 'latest'] as const, d.initialOffset);
  const backoffPolicy = oneOf<BackoffPolicy>('delivery.backoffPolicy', input.delivery?.backoffPolicy, ['linear', 'exponential'], d.backoffPolicy);
  const onExhausted = oneOf<OnExhausted>('onExhausted', input.onExhausted, ['block', 'discard'], d.onExhausted);

  const duration = (field: string, value: string | undefined, fallback: string | undefined, min: number): number | undefined => {
    const text = value ?? fallback;
    if (text === undefined) return undefined;
    const ms = parseIsoDurationMs(text);
    if (ms === undefined) {
      problems.push(`${field}: "${text}" is not an ISO-8601 duration such as PT0.2S or PT1M`);
      return undefined;
    }
    if (ms < min) problems.push(`${field}: "${text}" must be at least ${min} ms`);
    return ms;
  };
  const backoffDelayMs = duration('delivery.backoffDelay', input.delivery?.backoffDelay, d.backoffDelay, 0) ?? 0;
  const timeoutMs = duration('delivery.timeout', input.delivery?.timeout, d.timeout, 1) ?? 1;
  const retryAfterMaxMs = duration('delivery.retryAfterMax', input.delivery?.retryAfterMax, undefined, 0);
  const commitIntervalMs = duration('commitInterval', input.commitInterval, d.commitInterval, 10) ?? 10;
  const sessionTimeoutMs = duration('sessionTimeout', input.sessionTimeout, d.sessionTimeout, 6_000) ?? 6_000;
  const drainTimeoutMs = duration('drainTimeout', input.drainTimeout, d.drainTimeout, 0) ?? 0;

  const integer = (field: string, value: number | undefined, fallback: number, min: number, max: number): number => {
    const v = value ?? fallback;
    if (!Number.isInteger(v) || v < min || v > max) {
      problems.push(`${field}: ${String(value)} must be an integer from ${min} to ${max}`);
      return fallback;
    }
    return v;
  };
  const retry = integer('delivery.retry', input.delivery?.retry, d.retry, 0, 1_000);
  const maxInFlight = integer('maxInFlight', input.maxInFlight, d.maxInFlight, 1, 10_000);
  const maxInFlightPerPartition = integer('maxInFlightPerPartition', input.maxInFlightPerPartition, d.maxInFlightPerPartition, 1, 10_000);
  const batchSize = integer('batchSize', input.batchSize, d.batchSize, 0, 100_000);

  const name = input.name ?? d.name;
  const namespace = input.namespace ?? d.namespace;
  if (!DNS_LABEL.test(name)) problems.push(`name: "${name}" must be a Kubernetes name (lower case letters, digits, '-')`);
  if (!DNS_LABEL.test(namespace)) problems.push(`namespace: "${namespace}" must be a Kubernetes namespace name`);

  const ceExtensions = { ...(input.ceOverrides?.extensions ?? {}) };
  for (const [key, value] of Object.entries(ceExtensions)) {
    if (!EXTENSION_NAME.test(key)) problems.push(`ceOverrides.extensions: "${key}" must be 1-20 lower-case letters or digits (CloudEvents attribute name)`);
    if (typeof value !== 'string') problems.push(`ceOverrides.extensions.${key}: must be a string`);
  }

  const deadLetterTopic = input.deadLetterTopic || undefined;
  if (deadLetterTopic !== undefined && !TOPIC_NAME.test(deadLetterTopic)) problems.push(`deadLetterTopic: "${deadLetterTopic}" is not a valid Kafka topic name`);
  if (deadLetterTopic !== undefined && topics.includes(deadLetterTopic)) problems.push(`deadLetterTopic: "${deadLetterTopic}" is also a source topic; dead letters would loop`);

  if (problems.length > 0) throw new DispatcherConfigError(problems);

  return {
    brokers,
    topics,
    sink,
    name,
    namespace,
    consumerGroup: input.consumerGroup || `kafkasource-${namespace}-${name}`,
    initialOffset,
    ordering,
    delivery: { retry, backoffPolicy, backoffDelayMs, timeoutMs, retryAfterMaxMs, deadLetterSink },
    ceExtensions,
    maxInFlight,
    maxInFlightPerPartition: ordering === 'ordered' ? 1 : maxInFlightPerPartition,
    deadLetterTopic,
    onExhausted,
    batchSize,
    commitIntervalMs,
    sessionTimeoutMs,
    drainTimeoutMs,
    clientId: input.clientId || `dispatcher-${namespace}-${name}`,
  };
}

/**
 * Accepts a KafkaSource object (`{kind: 'KafkaSource', metadata, spec}`, as the charts synthesise
 * it) or a plain DispatcherConfigInput, so the same file can drive the cluster and the local path.
 */
export function configInputFromJson(json: unknown): DispatcherConfigInput {
  if (typeof json !== 'object' || json === null) throw new DispatcherConfigError(['config file: expected a JSON object']);
  const obj = json as { kind?: unknown; metadata?: { name?: string; namespace?: string }; spec?: Record<string, unknown> };
  if (obj.kind === 'KafkaSource') {
    const spec = (obj.spec ?? {}) as DispatcherConfigInput & { sink?: { uri?: string; ref?: unknown } };
    return { ...spec, name: obj.metadata?.name, namespace: obj.metadata?.namespace };
  }
  return json as DispatcherConfigInput;
}
