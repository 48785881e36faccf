import { GiB } from './errors.js';
import type { Inputs } from './inputs.js';

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

/** The ingest state sizes the memory is computed from; the ConfigMap pins the same values. */
const INGEST_STATE = {
  /**
   * Recent event ids remembered per replica (DEDUPE_WINDOW). 600,000 is minutes of a pod's traffic,
   * longer than KafkaSource's retries of one record; a copy that lands later, or on another replica,
   * is cancelled by the sessionizer. (1,000,000 no longer fit the guaranteed pool at 133 B an id.)
   */
  dedupeWindow: 600_000,
  /** Users loaded into the tier cache at start (TIER_CACHE_WARM_MAX). */
  tierCacheWarmMax: 200_000,
  /** Beyond this many buffered rows the function answers 503 (BUFFER_MAX_ROWS). */
  bufferMaxRows: 50_000,
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
  batching: { maxRows: 10_000, maxAgeMs: 2_000, bufferMaxRows: INGEST_STATE.bufferMaxRows, insertP99Ms: 500 },
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
          // Open session fragments: ~50,000 active users x ~0.5 KiB (assumed).
          sessionFragments: 25,
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
      // One bulk insert at a time, plus one session-state query (checkpoint or restore).
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
      // One closing run at a time; the PingSource fires once a minute.
      targetConcurrency: 1,
      // Exactly one closer: sessions get deterministic ids, so a second one would only duplicate work.
      minScale: 1,
      spareReplicas: 0,
      memory: {
        runtimeMiB: functionDefaults.runtimeMiB,
        residentMiB: {},
        perInFlightKiB: 0,
        // The open fragments of one run: ~100,000 x ~0.5 KiB (assumed).
        peakOnlyMiB: { openFragments: 50 },
      },
      cpu: { requestMilli: 100, limitMilli: 500 },
      queueProxy: { requestMiB: 32, limitMiB: 64, requestMilli: 25, limitMilli: 250 },
      // Shorter than the schedule, so two runs never overlap.
      timeoutSeconds: 55,
      // Its own user: it reads events back, so `ingest` can stay insert-only.
      clickhouseUser: 'sessionizer',
      usesPostgres: false,
      usesKafka: false,
      // Reads fragments, writes closed sessions: never more than two queries.
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
    deadLetterPartitions: 1,
    replicas: 1,
    memoryMiB: 2 * GiB,
    heapShare: 0.5,
    volumeGi: 20,
    volumeFillShare: 0.7,
    retentionHours: 24,
  },
  delivery: { outageToRideSeconds: 300, backoffDelayMs: 500, retryAfterMaxSeconds: 30 },
  sessionizer: { schedule: '* * * * *' },
  config: {
    dedupeWindow: INGEST_STATE.dedupeWindow,
    tierCacheWarmMax: INGEST_STATE.tierCacheWarmMax,
    tierCacheTtlSeconds: 900,
    allowedLatenessMs: 60_000,
    logLevel: 'info',
  },
};
