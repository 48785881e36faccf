import { CODE_DEFAULTS as CODE, DEAD_LETTER_PARTITIONS } from './code-defaults.js';
import { GiB } from './errors.js';
import type { Inputs } from './inputs.js';
import { SESSIONIZER_STATE } from './sessionizer-state.js';

const functionDefaults = {
  // Measured here: `node --import tsx` with express, pino, prom-client, @clickhouse/client, pg,
  // kafkajs, ajv, node-cache and cloudevents loaded, idle: 108 MiB RSS.
  runtimeMiB: 112,
};

/** Memory per item, measured here with Node 20 (heap used after GC). */
const MEASURED = {
  /** 1,000,000 event ids (parsed UUID strings) in the dedupe window (a Map of {token, slot} plus its ring): 127 MiB. */
  bytesPerDedupeId: 133,
  /** 200,000 users in node-cache: 33 MiB. */
  bytesPerCachedTier: 174,
  /** 50,000 stored row objects: 80 MiB. */
  kibPerRow: 1.7,
};

/**
 * The ingest state sizes the memory is computed from; the ConfigMap pins the same values. The
 * code's defaults (CODE) except where CLUSTER_OVERRIDES (code-defaults.ts) says why not.
 */
const INGEST_STATE = {
  /**
   * Recent event ids remembered per replica (DEDUPE_WINDOW). 600,000 is minutes of a pod's traffic,
   * longer than KafkaSource's retries of one record; a copy that lands later, or on another replica,
   * is cancelled by the sessionizer. (The code's 1,000,000 does not fit the guaranteed pool at 133 B
   * an id: an override, see CLUSTER_OVERRIDES.)
   */
  dedupeWindow: 600_000,
  /** Users loaded into the tier cache at start (TIER_CACHE_WARM_MAX). */
  tierCacheWarmMax: CODE.TIER_CACHE_WARM_MAX,
  /** Beyond this many buffered rows the function answers 503 (BUFFER_MAX_ROWS). */
  bufferMaxRows: CODE.BUFFER_MAX_ROWS,
};
const toMiB = (bytes: number) => Math.ceil(bytes / 2 ** 20);

export const DEFAULT_INPUTS: Inputs = {
  pool: { totalMiB: 7 * GiB, speedGuaranteedMiB: 2.5 * GiB },
  design: {
    eventsPerSecond: 10_000,
    transactionShare: 0.05,
    dashboardUsers: 50,
    requestsPerDashboardUser: 1,
    queriesPerDashboardUserPerMinute: 180,
  },
  batching: { maxRows: CODE.BATCH_MAX_ROWS, maxAgeMs: CODE.BATCH_MAX_AGE_MS, bufferMaxRows: INGEST_STATE.bufferMaxRows, insertP99Ms: 500 },
  ingestThroughput: { eventsPerSecondPerPod: 2_500 },
  targetUtilization: 0.8,
  functions: [
    {
      name: 'ingest',
      entry: 'functions/ingest/main.ts',
      // Only the KafkaSource dispatcher (through the cluster-local gateway) sends events.
      visibility: 'cluster-local',
      targetConcurrency: 0, // derived: throughput per pod x how long a request is held (see below)
      // Two warm pods: one can die mid-batch while the other keeps the partitions flowing.
      minScale: 2,
      // One pod more than the design load needs, to catch up on a backlog after an outage.
      spareReplicas: 1,
      memory: {
        runtimeMiB: functionDefaults.runtimeMiB,
        residentMiB: {
          dedupeWindow: toMiB(INGEST_STATE.dedupeWindow * MEASURED.bytesPerDedupeId),
          tierCache: toMiB(INGEST_STATE.tierCacheWarmMax * MEASURED.bytesPerCachedTier),
          // No session state: sessions are derived from the stored events by the sessionizer.
        },
        // A stored row object (measured) plus request, response and CloudEvent objects (~4 KiB, assumed).
        perInFlightKiB: MEASURED.kibPerRow + 4,
        peakOnlyMiB: {
          // A full back-pressure buffer of rows.
          fullBuffer: toMiB(INGEST_STATE.bufferMaxRows * MEASURED.kibPerRow * 1024),
          // One 10,000-row JSONEachRow body being built while the next batch fills.
          insertSerialization: 16,
        },
      },
      // One event loop: a second core would mostly idle; GC threads use the burst.
      cpu: { requestMilli: 500, limitMilli: 1000 },
      // Thousands of held requests: goroutines and buffers in the sidecar (assumed).
      queueProxy: { requestMiB: 64, limitMiB: 128, requestMilli: 100, limitMilli: 1000 },
      timeoutSeconds: 30,
      clickhouseUser: 'ingest',
      usesPostgres: true,
      usesKafka: true,
      // One bulk insert at a time, plus one spare (a retry overlapping the next flush).
      clickhouseQueriesPerPod: 2,
    },
    {
      name: 'analytics',
      entry: 'functions/analytics/main.ts',
      visibility: 'external',
      // I/O-bound: each request waits on a ClickHouse query; 25 per pod keeps one core busy.
      targetConcurrency: 25,
      // Always one warm pod: dashboards must answer in well under a second, no cold start.
      minScale: 1,
      spareReplicas: 0,
      memory: {
        runtimeMiB: functionDefaults.runtimeMiB,
        residentMiB: { responseCache: 32 },
        perInFlightKiB: 256,
        // Up to the concurrency limit of aggregate responses (~1 MiB each) at once.
        peakOnlyMiB: { largeResponses: 24 },
      },
      cpu: { requestMilli: 250, limitMilli: 1000 },
      queueProxy: { requestMiB: 32, limitMiB: 64, requestMilli: 25, limitMilli: 250 },
      timeoutSeconds: 30,
      clickhouseUser: 'analytics',
      usesPostgres: false,
      usesKafka: false,
      // @clickhouse/client's default max_open_connections (10).
      clickhouseQueriesPerPod: 10,
    },
    {
      name: 'sessionizer',
      entry: 'functions/sessionizer/main.ts',
      visibility: 'cluster-local',
      // Runs on its own 2 s timer (SESSIONIZER_INTERVAL_MS); the PingSource's request, a backstop,
      // asks for one run and waits for it: one at a time.
      targetConcurrency: 1,
      // Always one, warm: the open sessions live in its memory (idle users' encoded). Each run reads only the events
      // stored since the last (a stored_at-keyed inbox fed by a materialized view), folds them into
      // the open sessions and writes what changed; closed sessions are written once, never read
      // again; a late event (older than the watermark) recomputes its user's sessions from the
      // start of the session it lands in. During a rollout the old and the new revision run at
      // once: both read every new event and write the same deterministic sessions (UUIDv5 of user
      // and start, ReplacingMergeTree by version), so the result is the same as with one.
      minScale: 1,
      spareReplicas: 0,
      memory: {
        runtimeMiB: functionDefaults.runtimeMiB,
        // The session state (SESSIONIZER_STATE: what the pool admits, not the design load's ~1.05 GiB).
        residentMiB: { openSessions: SESSIONIZER_STATE.openSessionsMiB },
        perInFlightKiB: 0,
        // One run's new rows: 2 s at 10,000 events/s, ~1.7 KiB a row object (measured for ingest's rows).
        peakOnlyMiB: { runRows: toMiB(20_000 * MEASURED.kibPerRow * 1024) },
      },
      // The target: a quarter core at the design rate; bursts (a restart's replay) use the limit.
      cpu: { requestMilli: 250, limitMilli: 500 },
      queueProxy: { requestMiB: 32, limitMiB: 64, requestMilli: 25, limitMilli: 250 },
      // A triggered run answers well within this; the timer's runs do not go through Knative.
      timeoutSeconds: 55,
      // Its own user: it reads events back, so `ingest` can stay insert-only.
      clickhouseUser: 'sessionizer',
      usesPostgres: false,
      usesKafka: false,
      // A run reads the inbox, then writes sessions and state: never more than two queries at once.
      clickhouseQueriesPerPod: 2,
    },
  ],
  postgres: {
    maxConnections: 100,
    budgetShare: 0.8,
    poolSizeWanted: 4,
    // shared_buffers 128 MB (the default) plus connection backends.
    memory: { requestMiB: 256, limitMiB: 512 },
    volumeGi: 5,
  },
  clickhouse: {
    memoryLimitMiB: 7 * GiB,
    cpu: 3,
    untrackedHeadroomMiB: 512,
    maxMemoryUsageMiB: 6 * GiB,
    maxMemoryUsageForUserMiB: 5 * GiB,
    uncompressedCacheMiB: 1 * GiB,
    markCacheMiB: 512,
    maxConcurrentQueries: 50,
    dataVolumeGi: 20,
    backupVolumeGi: 20,
    analyticsMaxExecutionSeconds: 10,
    quotaHeadroom: 1.5,
  },
  kafka: {
    partitions: 6,
    deadLetterPartitions: DEAD_LETTER_PARTITIONS,
    replicas: 1,
    memoryMiB: 2 * GiB,
    heapShare: 0.5,
    volumeGi: 20,
    volumeFillShare: 0.7,
    retentionHours: 24,
  },
  delivery: { outageToRideSeconds: 300, backoffDelayMs: 500, retryAfterMaxSeconds: 30 },
  sessionizer: { intervalMs: 2_000, schedule: '* * * * *' },
  config: {
    dedupeWindow: INGEST_STATE.dedupeWindow,
    tierCacheWarmMax: INGEST_STATE.tierCacheWarmMax,
    tierCacheTtlSeconds: CODE.TIER_CACHE_TTL_S,
    allowedLatenessMs: CODE.ALLOWED_LATENESS_MS,
    logLevel: CODE.LOG_LEVEL,
  },
};
