import { ensure } from './errors.js';
import { DEFAULT_INPUTS } from './defaults.js';
import type { FunctionInputs, Inputs } from './inputs.js';

const roundUp = (n: number, step: number) => Math.ceil(n / step) * step;

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
