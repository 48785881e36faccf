import type { Config } from '../../functions/core/config.js';

// The numbers a person chooses, as types: each field's reason is beside it (the values are in
// defaults.ts, what follows from them in derive.ts).


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
    readonly logLevel: Config['LOG_LEVEL'];
  };
}
