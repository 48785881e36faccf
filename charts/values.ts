/**
 * Every number of the deployment, in one place, with its reason; and everything that follows
 * from them (requests, limits, max-scale, pool shares, PostgreSQL pool size, ClickHouse slots,
 * KafkaSource in-flight capacity) derived here, never written twice.
 *
 * `deriveValues(inputs)` checks the arithmetic and throws a `ValuesError` that names the value,
 * shows the numbers and says what to change. Charts import `values` (the defaults, derived once);
 * tests call `deriveValues` with other inputs.
 *
 * Memory is in MiB throughout (1 GiB = 1024 MiB). "The 7 GB pool" of the seed is read as 7 GiB.
 */

export const GiB = 1024;

export class ValuesError extends Error {
  override readonly name = 'ValuesError';
}

/** Throws a ValuesError unless `ok`: the message names the value, shows it, and gives a hint. */
export function ensure(ok: boolean, what: string, value: unknown, hint: string): void {
  if (!ok) throw new ValuesError(`${what} = ${JSON.stringify(value)}: ${hint}`);
}

const roundUp = (n: number, step: number) => Math.ceil(n / step) * step;

// ---------------------------------------------------------------------------------------------
// Inputs: the numbers a person chooses. Each has its reason beside it.
// ---------------------------------------------------------------------------------------------

/** Memory a function needs, item by item (MiB), at its peak and in the steady state. */
export interface MemoryBudget {
  /** Node.js + tsx + the libraries, idle (RSS). */
  readonly runtimeMiB: number;
  /** Items that are always resident once warm (caches, windows). */
  readonly residentMiB: Readonly<Record<string, number>>;
  /** Per in-flight request: request/response objects, the parsed CloudEvent, the buffered row. */
  readonly perInFlightKiB: number;
  /** Items that only exist at the peak (a full back-pressure buffer, an insert being serialized). */
  readonly peakOnlyMiB: Readonly<Record<string, number>>;
}

export interface FunctionInputs {
  readonly name: 'ingest' | 'analytics' | 'sessionizer';
  /** `node --import tsx <entry>`; the one image holds every function. */
  readonly entry: string;
  readonly visibility: 'cluster-local' | 'external';
  /** In-flight requests one pod is meant to hold (Knative's concurrency target). */
  readonly targetConcurrency: number;
  /** Pods kept warm. */
  readonly minScale: number;
  /** Pods beyond what the design load needs, for failover and catching up. */
  readonly spareReplicas: number;
  readonly memory: MemoryBudget;
  readonly cpu: { readonly requestMilli: number; readonly limitMilli: number };
  /** The queue-proxy sidecar Knative adds to every pod counts against the pool too. */
  readonly queueProxy: { readonly requestMiB: number; readonly limitMiB: number; readonly requestMilli: number; readonly limitMilli: number };
  /** Request timeout Knative enforces (s). */
  readonly timeoutSeconds: number;
  readonly clickhouseUser: 'ingest' | 'analytics' | 'sessionizer';
  readonly usesPostgres: boolean;
  readonly usesKafka: boolean;
  /** Concurrent ClickHouse queries one pod may run (checked against the server's slots). */
  readonly clickhouseQueriesPerPod: number;
}

export interface Inputs {
  readonly pool: {
    /** Seed: "7GB shared resource pool" between the speed and the batch layer. */
    readonly totalMiB: number;
    /** Seed: speed layer "2.5GB guaranteed, can scale to 7GB"; the batch layer gets the rest (4.5 GB). */
    readonly speedGuaranteedMiB: number;
  };
  readonly design: {
    /** Seed: "handles 10,000 events per second". */
    readonly eventsPerSecond: number;
    /** Seed: purchase is 5 % of events and each purchase has one transaction. */
    readonly transactionShare: number;
    /** Seed: "sub-second query response times for 50+ concurrent users". */
    readonly dashboardUsers: number;
    /** A dashboard user has about one request in flight (the page polls panel by panel). */
    readonly requestsPerDashboardUser: number;
    /** Panel queries a dashboard user causes per minute (6 panels refreshed every 2 s). */
    readonly queriesPerDashboardUserPerMinute: number;
  };
  readonly batching: {
    /** Flush a micro-batch at this many rows (BATCH_MAX_ROWS; seed: 2-second micro-batches). */
    readonly maxRows: number;
    /** ... or when its oldest row is this old (BATCH_MAX_AGE_MS). */
    readonly maxAgeMs: number;
    /** Beyond this many buffered rows the function answers 503 (functions/core/config.ts default). */
    readonly bufferMaxRows: number;
    /** Assumed p99 of one bulk insert into ClickHouse; replace with the figure from bench/. */
    readonly insertP99Ms: number;
  };
  readonly ingestThroughput: {
    /**
     * Events/s one ingest pod handles at 1 CPU. Assumed: ENVIRONMENT.md measured express 5 +
     * cloudevents at ~5,800 req/s on a core shared with the load generator; the pipeline, the
     * queue-proxy hop and GC take a good half of that. Replace with the figure from bench/.
     */
    readonly eventsPerSecondPerPod: number;
  };
  /** Knative scales when in-flight requests reach this share of the target. */
  readonly targetUtilization: number;
  readonly functions: readonly FunctionInputs[];
  readonly postgres: {
    /** PostgreSQL's max_connections. */
    readonly maxConnections: number;
    /** Issue 5: pool size x maximum pods within 80 % of max_connections (the rest: admin, seeding). */
    readonly budgetShare: number;
    /** Connections one ingest pod wants: one batched miss query per flush, the refresh-before-expiry and warm-up queries alongside, one spare. */
    readonly poolSizeWanted: number;
    readonly memory: { readonly requestMiB: number; readonly limitMiB: number };
    readonly volumeGi: number;
  };
  readonly clickhouse: {
    /** Seed: "7GB RAM, 3 CPU"; requests = limits (Guaranteed QoS: the last pod the kernel kills). */
    readonly memoryLimitMiB: number;
    readonly cpu: number;
    /** Memory ClickHouse does not track (allocator, thread stacks, binaries): kept out of max_server_memory_usage. */
    readonly untrackedHeadroomMiB: number;
    /** Seed: max_memory_usage 6GB (1GB reserved for system). */
    readonly maxMemoryUsageMiB: number;
    /** Seed: max_memory_usage_for_user 5GB. */
    readonly maxMemoryUsageForUserMiB: number;
    /** Seed: uncompressed_cache_size 1GB. */
    readonly uncompressedCacheMiB: number;
    /** Issue 5: mark_cache_size 512 MB. */
    readonly markCacheMiB: number;
    /** Seed: max_concurrent_queries 50. */
    readonly maxConcurrentQueries: number;
    /** Seed: "Storage: 20Gi for ClickHouse data". */
    readonly dataVolumeGi: number;
    /** Native BACKUPs are compressed; one full copy of the data volume fits. */
    readonly backupVolumeGi: number;
    /** Analytics queries are meant to be sub-second; anything past this is a runaway. */
    readonly analyticsMaxExecutionSeconds: number;
    /** Headroom of the analytics quota over the expected query rate. */
    readonly quotaHeadroom: number;
  };
  readonly kafka: {
    /** Brief: user_events and transactions have 6 partitions. */
    readonly partitions: number;
    /** Dead letters are rare; one partition keeps them in arrival order. */
    readonly deadLetterPartitions: number;
    /** One broker in kind: replication factor 1. */
    readonly replicas: number;
    /** Seed: "Data Ingestion Kafka (2GB allocation)". */
    readonly memoryMiB: number;
    /** Half the container for the JVM heap, the rest for the page cache Kafka reads from. */
    readonly heapShare: number;
    readonly volumeGi: number;
    /** Share of the volume the retention may fill (log segments roll, compaction needs room). */
    readonly volumeFillShare: number;
    /** Upper bound on retention when traffic is low. */
    readonly retentionHours: number;
  };
  readonly delivery: {
    /** The longest ClickHouse or ingest outage the KafkaSource should ride out before dead-lettering. */
    readonly outageToRideSeconds: number;
    /** First retry delay of the exponential backoff. */
    readonly backoffDelayMs: number;
    /** Cap on a Retry-After the ingest function sends with 429/503 (back-pressure). */
    readonly retryAfterMaxSeconds: number;
  };
  readonly sessionizer: {
    /** SESSIONIZER_INTERVAL_MS: the function's own timer; each run reads only the events stored since the last. */
    readonly intervalMs: number;
    /** The PingSource's schedule: a backstop that asks for a run (the brief's once a minute). */
    readonly schedule: string;
  };
  /** Function settings that are behaviour, not arithmetic (the ConfigMaps carry them). */
  readonly config: {
    /** DEDUPE_WINDOW: the ingest memory budget counts it. */
    readonly dedupeWindow: number;
    /** TIER_CACHE_WARM_MAX: the ingest memory budget counts it. */
    readonly tierCacheWarmMax: number;
    /** ARCHITECTURE.md: tier cache with a 15-minute TTL. */
    readonly tierCacheTtlSeconds: number;
    /** functions/core/config.ts default: the watermark trails the newest event time by a minute. */
    readonly allowedLatenessMs: number;
    readonly logLevel: 'info' | 'debug' | 'warn';
  };
}

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

/**
 * The sessionizer keeps every open session in memory (durable in `sessionizer_open`), ~0.5 KiB
 * each (assumed; the figure). At the design rate, 10,000 events/s of ~10-event visits
 * with ~20 s between events, 1,000 visits start a second and each stays open its ~200 s plus the
 * 30-minute timeout: ~2,000,000 open sessions, ~977 MiB, and twice that while a rollout runs two
 * replicas. The pool cannot hold that beside ingest at its design size (requests 3,328 MiB of the
 * 2,560 guaranteed), so the budget below is what the pool admits: ~490,000 open sessions, which is
 * ~2,450 events/s of such visits. Past that the sessionizer needs a smaller session state or idle
 * sessions kept only in `sessionizer_open`, not more memory.
 */
export const SESSIONIZER_STATE = {
  bytesPerOpenSession: 512,
  eventsPerVisit: 10,
  visitSeconds: 10 * 20,
  timeoutSeconds: 30 * 60,
  /** What the pool admits (see above): the sessionizer's resident open-session budget. */
  openSessionsMiB: 240,
};
/** Open sessions at `eventsPerSecond` of such visits: visits started per second x how long each stays open. */
export const openSessionsAt = (eventsPerSecond: number) =>
  Math.round((eventsPerSecond / SESSIONIZER_STATE.eventsPerVisit) * (SESSIONIZER_STATE.visitSeconds + SESSIONIZER_STATE.timeoutSeconds));

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
      // Always one, warm: the open sessions live in its memory. Each run reads only the events
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
        // The open sessions (see SESSIONIZER_STATE: what the pool admits, not the design load's).
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
    deadLetterPartitions: 1,
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
    tierCacheTtlSeconds: 900,
    allowedLatenessMs: 60_000,
    logLevel: 'info',
  },
};

// ---------------------------------------------------------------------------------------------
// Derived values.
// ---------------------------------------------------------------------------------------------

export interface FunctionValues extends FunctionInputs {
  /** Knative's concurrency target (in-flight requests per pod). */
  readonly targetConcurrency: number;
  /** Knative's hard limit per pod; requests beyond it wait in the queue-proxy. */
  readonly containerConcurrency: number;
  /** Pods the design load needs. */
  readonly podsAtDesignLoad: number;
  readonly maxScale: number;
  /** Knative starts a new revision with this many pods (they coexist with the old ones). */
  readonly initialScale: number;
  /** The user container. */
  readonly requestMiB: number;
  readonly limitMiB: number;
  /** V8's old space: GC gets aggressive before the cgroup limit kills the process. */
  readonly maxOldSpaceMiB: number;
  /** The whole pod: user container + queue-proxy. */
  readonly podRequestMiB: number;
  readonly podLimitMiB: number;
}

export interface Values {
  readonly inputs: Inputs;
  readonly functions: Readonly<Record<FunctionInputs['name'], FunctionValues>>;
  readonly pool: {
    readonly totalMiB: number;
    readonly speedGuaranteedMiB: number;
    /** The batch layer's quota: what the speed layer's guarantee leaves of the pool. */
    readonly batchMiB: number;
    /** Speed-layer requests at the design load (must fit the guarantee: no preemption needed). */
    readonly speedRequestsAtDesignMiB: number;
    /** Speed-layer requests with every function at min-scale. */
    readonly speedFloorMiB: number;
    /** Sum over functions of max-scale x pod limit. */
    readonly speedMaxLimitsMiB: number;
    /** New revisions' pods while the old ones still run at max-scale (every function rolls with the image). */
    readonly rolloutSurgeMiB: number;
    /** speedMaxLimitsMiB + rolloutSurgeMiB: what the speed layer's quota must admit. */
    readonly speedCeilingMiB: number;
    /** Pods the speed layer may ever run at once (max-scale + rollout surge), for the pods quota. */
    readonly speedMaxPods: number;
  };
  readonly ingest: {
    /** How long an event's request is held: half the flush window plus one insert. */
    readonly holdSeconds: number;
    /** In-flight events needed across all ingest pods at the design throughput. */
    readonly inFlightAtDesign: number;
  };
  readonly postgres: {
    readonly poolSize: number;
    /** Ingest pods that may run at once: max-scale plus a rollout's new pods. */
    readonly maxPodsWithPool: number;
    readonly connectionsUsed: number;
    readonly connectionBudget: number;
  };
  readonly clickhouse: {
    readonly maxServerMemoryUsageMiB: number;
    /** Concurrent queries reserved for the `ingest` user (ingest pods). */
    readonly ingestSlots: number;
    /** Concurrent queries reserved for the `sessionizer` user. */
    readonly sessionizerSlots: number;
    /** What is left of max_concurrent_queries for the `analytics` user. */
    readonly analyticsSlots: number;
    readonly analyticsQuota: {
      readonly intervalSeconds: number;
      readonly queries: number;
      readonly errors: number;
      readonly resultRows: number;
      readonly executionTimeSeconds: number;
    };
    /**
     * non_replicated_deduplication_window (blocks): a retried insert (same idempotency token) is
     * recognised for as long as the KafkaSource keeps retrying.
     */
    readonly deduplicationWindowBlocks: number;
  };
  readonly kafka: {
    readonly consumersPerSource: number;
    /** The dispatcher's in-flight cap per consumer (`max.poll.records`, set by kind/up.sh). */
    readonly maxPollRecords: number;
    readonly retentionBytesPerPartition: number;
    readonly retentionMs: number;
    readonly heapMiB: number;
  };
  readonly delivery: {
    readonly retry: number;
    readonly backoffDelay: string;
    readonly timeout: string;
    readonly retryAfterMax: string;
    /** Total backoff before an event is dead-lettered (s). */
    readonly totalBackoffSeconds: number;
    /** ACK_BUDGET_MS: the ingest refuses rows it could not store before the delivery timeout. */
    readonly ackBudgetMs: number;
  };
}

const iso = (seconds: number) => `PT${Number(seconds.toFixed(3))}S`;

function deriveFunction(f: FunctionInputs, inputs: Inputs, ingestTarget: number, ingestPods: number): FunctionValues {
  const u = inputs.targetUtilization;
  const target = f.name === 'ingest' ? ingestTarget : f.targetConcurrency;
  ensure(target >= 1, `${f.name}.targetConcurrency`, target, 'must be at least 1 in-flight request per pod');
  // containerConcurrency: the target is what the autoscaler aims for at `u`; the hard limit sits
  // where a pod would be at 100 %, so short bursts are served, not queued.
  const containerConcurrency = f.name === 'sessionizer' ? 1 : Math.ceil(target / u);

  let podsAtDesignLoad: number;
  if (f.name === 'ingest') podsAtDesignLoad = ingestPods;
  else if (f.name === 'analytics') {
    const inFlight = inputs.design.dashboardUsers * inputs.design.requestsPerDashboardUser;
    podsAtDesignLoad = Math.ceil(inFlight / (target * u));
  } else podsAtDesignLoad = 1;
  podsAtDesignLoad = Math.max(podsAtDesignLoad, f.minScale);
  const maxScale = podsAtDesignLoad + f.spareReplicas;
  ensure(maxScale >= f.minScale, `${f.name}.maxScale`, maxScale, `must be >= minScale (${f.minScale})`);

  const m = f.memory;
  const resident = Object.values(m.residentMiB).reduce((a, b) => a + b, 0);
  const peakOnly = Object.values(m.peakOnlyMiB).reduce((a, b) => a + b, 0);
  const steady = m.runtimeMiB + resident + (target * m.perInFlightKiB) / 1024;
  const peak = m.runtimeMiB + resident + peakOnly + (containerConcurrency * m.perInFlightKiB) / 1024;
  // 25 % over the peak: V8 needs room to collect before the cgroup limit is reached.
  const limitMiB = roundUp(peak * 1.25, 64);
  const requestMiB = roundUp(steady, 32);
  ensure(requestMiB <= limitMiB, `${f.name}.requestMiB`, requestMiB, `must not exceed the limit (${limitMiB} MiB)`);
  // V8's old space gets 3/4 of the limit: new space, code, Buffers (request bodies) and the
  // esbuild helper of tsx live outside it.
  const maxOldSpaceMiB = Math.floor(limitMiB * 0.75);

  return {
    ...f,
    targetConcurrency: target,
    containerConcurrency,
    podsAtDesignLoad,
    maxScale,
    initialScale: f.minScale,
    requestMiB,
    limitMiB,
    maxOldSpaceMiB,
    podRequestMiB: requestMiB + f.queueProxy.requestMiB,
    podLimitMiB: limitMiB + f.queueProxy.limitMiB,
  };
}

export function deriveValues(inputs: Inputs = DEFAULT_INPUTS): Values {
  const { pool, design, batching } = inputs;
  ensure(inputs.targetUtilization > 0 && inputs.targetUtilization <= 1, 'targetUtilization', inputs.targetUtilization, 'must be in (0, 1]');
  ensure(pool.speedGuaranteedMiB > 0 && pool.speedGuaranteedMiB < pool.totalMiB, 'pool.speedGuaranteedMiB', pool.speedGuaranteedMiB, `must be inside the pool (0, ${pool.totalMiB})`);

  // --- Ingest: how long a request is held decides how many must be in flight. ----------------
  // The function answers once the event's batch is stored. At the per-pod rate the size trigger
  // fires after maxRows/rate s; the age trigger after maxAge. The earlier one wins; an event
  // waits half of that on average, then one insert.
  const perPod = inputs.ingestThroughput.eventsPerSecondPerPod;
  const fillSeconds = Math.min(batching.maxAgeMs / 1000, batching.maxRows / perPod);
  const holdSeconds = fillSeconds / 2 + batching.insertP99Ms / 1000;
  const ingestTarget = Math.ceil(perPod * holdSeconds);
  const ingestPods = Math.ceil(design.eventsPerSecond / (perPod * inputs.targetUtilization));
  const inFlightAtDesign = Math.ceil(design.eventsPerSecond * holdSeconds);

  const fns = {} as Record<FunctionInputs['name'], FunctionValues>;
  for (const f of inputs.functions) fns[f.name] = deriveFunction(f, inputs, ingestTarget, ingestPods);
  for (const name of ['ingest', 'analytics', 'sessionizer'] as const) {
    ensure(fns[name] !== undefined, `functions.${name}`, undefined, 'every function of the image must be configured');
  }
  const ingest = fns.ingest;
  const list = Object.values(fns);

  ensure(
    ingest.containerConcurrency <= batching.bufferMaxRows,
    'ingest.containerConcurrency',
    ingest.containerConcurrency,
    `must not exceed BUFFER_MAX_ROWS (${batching.bufferMaxRows}): single-event requests would hit the back-pressure 503 before the concurrency limit`,
  );

  // --- The pool. -----------------------------------------------------------------------------
  const sum = (f: (v: FunctionValues) => number) => list.reduce((a, v) => a + f(v), 0);
  const speedRequestsAtDesignMiB = sum((v) => v.podsAtDesignLoad * v.podRequestMiB);
  const speedFloorMiB = sum((v) => v.minScale * v.podRequestMiB);
  const speedMaxLimitsMiB = sum((v) => v.maxScale * v.podLimitMiB);
  // One image serves every function, so a new image rolls all of them at once: each new revision
  // starts initial-scale pods while the old ones may still run at max-scale.
  const rolloutSurgeMiB = sum((v) => v.initialScale * v.podLimitMiB);
  const speedCeilingMiB = speedMaxLimitsMiB + rolloutSurgeMiB;
  const speedMaxPods = sum((v) => v.maxScale + v.initialScale);

  ensure(
    speedRequestsAtDesignMiB <= pool.speedGuaranteedMiB,
    'speed-layer requests at the design load (MiB)',
    speedRequestsAtDesignMiB,
    `must fit the guaranteed ${pool.speedGuaranteedMiB} MiB so the design load never waits for batch pods to be preempted; ` +
      `lower a function's request, raise eventsPerSecondPerPod (measure it), or raise pool.speedGuaranteedMiB`,
  );
  ensure(
    speedCeilingMiB <= pool.totalMiB,
    'speed-layer max-scale x pod limit + rollout surge (MiB)',
    speedCeilingMiB,
    `must fit the ${pool.totalMiB} MiB pool (max limits ${speedMaxLimitsMiB} + surge ${rolloutSurgeMiB}); lower a max-scale (spareReplicas) or a memory limit`,
  );

  // --- PostgreSQL. ---------------------------------------------------------------------------
  const pg = inputs.postgres;
  const maxPodsWithPool = list.filter((v) => v.usesPostgres).reduce((a, v) => a + v.maxScale + v.initialScale, 0);
  const connectionBudget = Math.floor(pg.maxConnections * pg.budgetShare);
  const connectionsUsed = pg.poolSizeWanted * maxPodsWithPool;
  ensure(
    connectionsUsed <= connectionBudget,
    'PG_POOL_SIZE x maximum pods',
    `${pg.poolSizeWanted} x ${maxPodsWithPool} = ${connectionsUsed}`,
    `must stay within ${pg.budgetShare * 100} % of max_connections (${connectionBudget} of ${pg.maxConnections}); ` +
      `lower poolSizeWanted to ${Math.floor(connectionBudget / Math.max(1, maxPodsWithPool))} or raise max_connections`,
  );

  // --- ClickHouse. ---------------------------------------------------------------------------
  const ch = inputs.clickhouse;
  const maxServerMemoryUsageMiB = ch.memoryLimitMiB - ch.untrackedHeadroomMiB;
  ensure(ch.maxMemoryUsageMiB <= maxServerMemoryUsageMiB, 'clickhouse.max_memory_usage (MiB)', ch.maxMemoryUsageMiB, `must not exceed max_server_memory_usage (${maxServerMemoryUsageMiB} MiB)`);
  const cachesAndUser = ch.maxMemoryUsageForUserMiB + ch.uncompressedCacheMiB + ch.markCacheMiB;
  ensure(
    cachesAndUser <= maxServerMemoryUsageMiB,
    'clickhouse max_memory_usage_for_user + caches (MiB)',
    cachesAndUser,
    `must fit max_server_memory_usage (${maxServerMemoryUsageMiB} MiB = limit - ${ch.untrackedHeadroomMiB} headroom), or one user's queries plus full caches would exceed the container limit`,
  );
  const slotsOf = (user: FunctionValues['clickhouseUser']) => list.filter((v) => v.clickhouseUser === user).reduce((a, v) => a + (v.maxScale + v.initialScale) * v.clickhouseQueriesPerPod, 0);
  const ingestSlots = slotsOf('ingest');
  const sessionizerSlots = slotsOf('sessionizer');
  const analyticsSlots = ch.maxConcurrentQueries - ingestSlots - sessionizerSlots;
  const analyticsWant = list.filter((v) => v.clickhouseUser === 'analytics').reduce((a, v) => a + v.maxScale * v.clickhouseQueriesPerPod, 0);
  ensure(
    analyticsSlots >= analyticsWant,
    'ClickHouse slots left for analytics',
    `${ch.maxConcurrentQueries} - ${ingestSlots} - ${sessionizerSlots} = ${analyticsSlots}`,
    `analytics may open ${analyticsWant} connections (max-scale x ${fns.analytics.clickhouseQueriesPerPod}); lower analytics max-scale or ingest's queries per pod, or raise max_concurrent_queries`,
  );
  const queriesPerMinute = design.dashboardUsers * design.queriesPerDashboardUserPerMinute;
  const analyticsQuota = {
    intervalSeconds: 60,
    queries: Math.ceil(queriesPerMinute * ch.quotaHeadroom),
    // Errors are a symptom: a tenth of the expected queries failing trips the quota.
    errors: Math.ceil(queriesPerMinute / 10),
    // Panels return aggregates: ~1,000 rows per query at most.
    resultRows: Math.ceil(queriesPerMinute * ch.quotaHeadroom * 1_000),
    // At most every analytics slot busy for the whole minute.
    executionTimeSeconds: analyticsSlots * 60,
  };

  // --- Delivery (KafkaSource). ---------------------------------------------------------------
  const del = inputs.delivery;
  const d = del.backoffDelayMs / 1000;
  // Exponential backoff waits d x (2^retry - 1) in total: enough retries to ride the outage.
  const retry = Math.ceil(Math.log2(del.outageToRideSeconds / d + 1));
  const totalBackoffSeconds = d * (2 ** retry - 1);
  // A request is held at most one flush window plus one insert; four times that before giving up.
  const timeoutSeconds = Math.ceil(4 * (batching.maxAgeMs + batching.insertP99Ms) / 1000);
  ensure(timeoutSeconds < ingest.timeoutSeconds, 'delivery timeout (s)', timeoutSeconds, `must be shorter than ingest's Knative timeout (${ingest.timeoutSeconds} s)`);
  // The ingest's breaker refuses rows it could not acknowledge in time: a row acknowledged after
  // KafkaSource gave up is redelivered anyway. A fifth of the timeout is left for the answer's way
  // back; the budget must still hold a healthy flush window and insert, or it would refuse always.
  const ackBudgetMs = Math.floor(timeoutSeconds * 1000 * 0.8);
  ensure(ackBudgetMs >= 2 * (batching.maxAgeMs + batching.insertP99Ms), 'ACK_BUDGET_MS', ackBudgetMs, 'must hold two flush windows and inserts, or a healthy ingest would refuse rows');

  // ClickHouse must recognise a retried block for as long as retries go on: flushes/s at
  // max-scale (one block per table per flush) times the retry horizon.
  const flushesPerSecond = (ingest.maxScale + ingest.initialScale) / (batching.maxAgeMs / 1000);
  const deduplicationWindowBlocks = roundUp(flushesPerSecond * totalBackoffSeconds, 100);

  // --- Kafka. --------------------------------------------------------------------------------
  const k = inputs.kafka;
  // One consumer per partition: more would idle, fewer would cap the in-flight capacity.
  const consumersPerSource = k.partitions;
  // The unordered dispatcher keeps at most max.poll.records in flight per consumer.
  const maxPollRecords = roundUp(inFlightAtDesign / consumersPerSource, 100);
  const totalPartitions = 2 * k.partitions + k.deadLetterPartitions;
  const retentionBytesPerPartition = Math.floor((k.volumeGi * 2 ** 30 * k.volumeFillShare) / totalPartitions);
  ensure(k.heapShare > 0 && k.heapShare < 1, 'kafka.heapShare', k.heapShare, 'the page cache needs the rest of the container');
  const capacity = consumersPerSource * maxPollRecords;
  ensure(
    capacity >= inFlightAtDesign,
    'KafkaSource in-flight capacity',
    capacity,
    `must cover the ${inFlightAtDesign} events in flight at ${design.eventsPerSecond} events/s (held ${holdSeconds} s each)`,
  );
  const ingestCapacity = ingest.maxScale * ingest.containerConcurrency;
  ensure(
    inFlightAtDesign <= ingestCapacity,
    'in-flight events at the design load',
    inFlightAtDesign,
    `exceeds ingest's max-scale x containerConcurrency (${ingestCapacity}); raise max-scale or the per-pod throughput`,
  );

  return {
    inputs,
    functions: fns,
    pool: {
      totalMiB: pool.totalMiB,
      speedGuaranteedMiB: pool.speedGuaranteedMiB,
      batchMiB: pool.totalMiB - pool.speedGuaranteedMiB,
      speedRequestsAtDesignMiB,
      speedFloorMiB,
      speedMaxLimitsMiB,
      rolloutSurgeMiB,
      speedCeilingMiB,
      speedMaxPods,
    },
    ingest: { holdSeconds, inFlightAtDesign },
    postgres: { poolSize: pg.poolSizeWanted, maxPodsWithPool, connectionsUsed, connectionBudget },
    clickhouse: { maxServerMemoryUsageMiB, ingestSlots, sessionizerSlots, analyticsSlots, analyticsQuota, deduplicationWindowBlocks },
    kafka: {
      consumersPerSource,
      maxPollRecords,
      retentionBytesPerPartition,
      retentionMs: k.retentionHours * 3_600_000,
      heapMiB: Math.floor(k.memoryMiB * k.heapShare),
    },
    delivery: {
      retry,
      backoffDelay: iso(d),
      timeout: iso(timeoutSeconds),
      retryAfterMax: iso(del.retryAfterMaxSeconds),
      totalBackoffSeconds,
      ackBudgetMs,
    },
  };
}

/** The deployment's values: the defaults, derived and checked once. */
export const values: Values = deriveValues();

// ---------------------------------------------------------------------------------------------
// Names and fixed facts the charts share (not arithmetic, but one place for them too).
// ---------------------------------------------------------------------------------------------

export const NAMESPACES = { speed: 'speed-layer', batch: 'batch-layer', kafka: 'kafka' } as const;

export const PRIORITY = {
  /** Speed-layer functions: preempt the batch layer when the pool is full. */
  speed: { name: 'speed-layer-high', value: 100_000 },
  /** Batch layer: preemptible, and never preempts anyone itself. */
  batch: { name: 'batch-layer-normal', value: 1_000 },
  /** ClickHouse, PostgreSQL, Kafka: outside the compute pool, never a preemption victim of either layer. */
  data: { name: 'speed-layer-data', value: 200_000 },
} as const;

export const IMAGES = {
  /**
   * Built by the Dockerfile and loaded into kind by kind/up.sh. The `dev.local/` prefix is one of
   * the registries Knative does not try to resolve to a digest (config-deployment's
   * registries-skipping-tag-resolving), so an image that exists only in the nodes works.
   */
  functions: 'dev.local/speed-layer:dev',
  /** The same ClickHouse version as the embedded engine (chDB) the code is tested against. */
  clickhouse: 'clickhouse/clickhouse-server:26.7',
  postgres: 'postgres:17',
} as const;

export const KAFKA = {
  cluster: 'speed-layer',
  /** Strimzi 0.48 supports Kafka 4.0 and 4.1 (kind/up.sh installs the operator). */
  version: '4.1.0',
  bootstrap: 'speed-layer-kafka-bootstrap.kafka.svc:9092',
  /** Strimzi's own listeners on every node: KRaft controllers, and replication plus the operator's admin connections. */
  ports: { controlPlane: 9090, replication: 9091 },
  topics: { userEvents: 'user_events', transactions: 'transactions', deadLetter: 'dead_letter_events' },
} as const;

export const CLICKHOUSE = {
  service: 'clickhouse',
  url: `http://clickhouse.${NAMESPACES.speed}.svc:8123`,
  database: 'speed_layer',
  ports: { http: 8123, native: 9000, metrics: 9363 },
  /** NodePorts that kind/kind-config.yaml maps to the host's 8123 and 9000. */
  nodePorts: { http: 30123, native: 30900 },
  uid: 101,
} as const;

export const POSTGRES = {
  service: 'postgres',
  database: 'speed_layer',
  user: 'speed_layer',
  port: 5432,
  uid: 999,
} as const;

/** Secrets are created by kind/up.sh (random passwords), never written to the repo or dist/. */
export const SECRETS = {
  clickhouse: { name: 'clickhouse-users', keys: { ingest: 'ingest-password', analytics: 'analytics-password', sessionizer: 'sessionizer-password', migrator: 'migrator-password' } },
  postgres: { name: 'postgres', keys: { password: 'password', databaseUrl: 'database-url' } },
} as const;

/** The uid the Dockerfile's runtime stage runs as. */
export const FUNCTION_UID = 10001;

/** kind's default docker network; NodePort traffic from the host arrives from it. */
export const KIND_NODE_CIDR = '172.18.0.0/16';

export const PORTS = {
  /** The functions listen on PORT (Knative sets 8080; the pod port is named `user-port`). */
  user: 8080,
  /** queue-proxy: requests from the gateway and the activator. */
  queue: 8012,
  /** queue-proxy: the metrics the Knative autoscaler scrapes. */
  autoscalerMetrics: 9090,
  dns: 53,
  kafka: 9092,
} as const;
