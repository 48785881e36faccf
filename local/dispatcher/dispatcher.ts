import type { Consumer, EachBatchPayload, Producer } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';
import { createKafkaClient } from '../kafka/client.js';
import { ensureTopics } from '../kafka/topics.js';
import { DEAD_LETTER_PARTITIONS } from '../../functions/core/topics.js';
import { pino, type Logger } from 'pino';
import type { DispatcherConfig } from './config.js';
import { createDelivery, type DeliveryCounters, type Outcome } from './delivery.js';
import { createHttpSender } from './http-sender.js';
import { createLimiter } from './limiter.js';
import { PartitionLane } from './partition-lane.js';

export type DispatcherState = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';

export interface DispatcherStats extends DeliveryCounters {
  readonly state: DispatcherState;
  /** Records handed to lanes (a redelivered record counts again). */
  readonly received: number;
  readonly delivered: number;
  readonly deadLettered: number;
  readonly discarded: number;
  /** Records in flight to the sink. */
  readonly inFlight: number;
  /** Requests in flight to the sink (equal to inFlight unless batching). */
  readonly inFlightRequests: number;
  readonly queued: number;
  readonly rebalances: number;
  readonly commits: number;
  readonly commitFailures: number;
  /** Last committed offset (next to read) per topic and partition, as this dispatcher committed it. */
  readonly committed: Readonly<Record<string, Readonly<Record<number, number>>>>;
}

export interface Dispatcher {
  /** Connects, joins the consumer group and resolves once partitions are assigned. */
  start(): Promise<void>;
  /** Stops reading, lets in-flight deliveries finish (up to drainTimeout), commits, leaves the group. */
  stop(): Promise<void>;
  stats(): DispatcherStats;
}

export interface DispatcherDeps {
  readonly logger?: Logger;
  /** The Kafka client (default: one for config.brokers); a test may pass one whose consumers fail on purpose. */
  readonly kafka?: ReturnType<typeof createKafkaClient>;
}

/** Records buffered per partition before the partition is paused: bounds memory, not throughput. */
export const PARTITION_HIGH_WATER = 2_000;
const PARTITION_LOW_WATER = PARTITION_HIGH_WATER / 2;
/** How long start() waits for the first group join before it gives up. */
const JOIN_TIMEOUT_MS = 60_000;

/**
 * Plays Knative KafkaSource's part locally: one kafkajs consumer group, and for each record a
 * CloudEvent POSTed to the sink. Offsets are committed by hand (autoCommit off), only up to the
 * first record of each partition that is not yet answered 2xx, dead-lettered or discarded.
 * Fetching is decoupled from delivery: eachBatch only queues records into per-partition lanes
 * and returns, so one slow or blocked partition never stalls kafkajs's fetch loop for the others;
 * a lane that fills up pauses its partition until it drains.
 */
export function createDispatcher(config: DispatcherConfig, deps: DispatcherDeps = {}): Dispatcher {
  const logger = (deps.logger ?? pino({ level: 'info' })).child({ source: `${config.namespace}/${config.name}`, group: config.consumerGroup });
  const kafka = deps.kafka ?? createKafkaClient(config.brokers, { clientId: config.clientId, logger });
  const sender = createHttpSender(config.maxInFlight);
  const limiter = createLimiter(config.maxInFlight);
  const counters: DeliveryCounters = { attempts: 0, retries: 0, failedAttempts: 0, failureReasons: {}, blockedRounds: 0 };
  const totals = { received: 0, delivered: 0, deadLettered: 0, discarded: 0, rebalances: 0, commits: 0, commitFailures: 0 };
  const committed: Record<string, Record<number, number>> = {};
  const lanes = new Map<string, PartitionLane>();
  let state: DispatcherState = 'idle';
  let consumer: Consumer | undefined;
  let producer: Producer | undefined;
  let commitTimer: NodeJS.Timeout | undefined;
  let committing: Promise<void> | undefined;
  let deliver: ReturnType<typeof createDelivery> | undefined;
  let joined: (() => void) | undefined;

  const laneKey = (topic: string, partition: number): string => `${topic}|${partition}`;

  const onOutcome = (outcome: Outcome, count: number): void => {
    if (outcome === 'delivered') totals.delivered += count;
    else if (outcome === 'dead-lettered') totals.deadLettered += count;
    else totals.discarded += count;
  };

  const onSettled = (lane: PartitionLane): void => {
    if (lane.paused && lane.backlog() <= PARTITION_LOW_WATER && state === 'running' && lanes.get(laneKey(lane.topic, lane.partition)) === lane) {
      lane.paused = false;
      consumer?.resume([{ topic: lane.topic, partitions: [lane.partition] }]);
    }
  };

  const laneFor = (topic: string, partition: number): PartitionLane => {
    const key = laneKey(topic, partition);
    let lane = lanes.get(key);
    if (!lane) {
      if (!deliver) throw new Error('dispatcher not started');
      lane = new PartitionLane({
        topic,
        partition,
        concurrency: config.ordering === 'ordered' ? 1 : config.maxInFlightPerPartition,
        unitSize: config.batchSize > 0 ? config.batchSize : 1,
        limiter,
        deliver,
        onOutcome,
        onSettled,
        onUnexpectedError: (error, l) => logger.error({ err: error, topic: l.topic, partition: l.partition }, 'unexpected delivery error; will retry the unit'),
      });
      lanes.set(key, lane);
    }
    return lane;
  };

  const eachBatch = async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> => {
    if (state !== 'running') return;
    const lane = laneFor(batch.topic, batch.partition);
    for (const message of batch.messages) {
      if (!isRunning() || isStale() || state !== 'running') break;
      if (lane.backlog() >= PARTITION_HIGH_WATER) {
        // The rest of the batch is not resolved, so kafkajs fetches it again after resume().
        lane.paused = true;
        consumer?.pause([{ topic: batch.topic, partitions: [batch.partition] }]);
        break;
      }
      lane.push(message);
      totals.received += 1;
      resolveOffset(message.offset);
    }
    lane.pump();
    await heartbeat();
  };

  const commitNow = async (): Promise<void> => {
    if (committing) await committing;
    if (!consumer) return;
    const todo: { lane: PartitionLane; offset: number }[] = [];
    for (const lane of lanes.values()) {
      const offset = lane.tracker.committable();
      if (offset !== undefined && offset !== lane.lastCommitted) todo.push({ lane, offset });
    }
    if (todo.length === 0) return;
    const current = consumer;
    committing = (async () => {
      try {
        await current.commitOffsets(todo.map(({ lane, offset }) => ({ topic: lane.topic, partition: lane.partition, offset: String(offset) })));
        for (const { lane, offset } of todo) {
          lane.lastCommitted = offset;
          (committed[lane.topic] ??= {})[lane.partition] = offset;
        }
        totals.commits += 1;
      } catch (error) {
        totals.commitFailures += 1;
        logger.warn({ err: error }, 'offset commit failed; will retry');
      }
    })();
    try {
      await committing;
    } finally {
      committing = undefined;
    }
  };

  /** A new generation starts from the committed offsets: what the old lanes held is redelivered. */
  const resetLanes = (): void => {
    const paused = [...lanes.values()].filter((l) => l.paused);
    for (const lane of lanes.values()) lane.abort();
    lanes.clear();
    if (paused.length > 0) consumer?.resume(paused.map((l) => ({ topic: l.topic, partitions: [l.partition] })));
  };

  const start = async (): Promise<void> => {
    if (state !== 'idle') throw new Error(`dispatcher cannot start: it is ${state}`);
    state = 'starting';
    try {
      await connectAndJoin();
    } catch (error) {
      state = 'stopped';
      clearInterval(commitTimer);
      await consumer?.disconnect().catch(() => undefined);
      await producer?.disconnect().catch(() => undefined);
      sender.close();
      throw error;
    }
  };

  /**
   * `latest` as Knative means it: the KafkaSource controller commits the group's offsets at the
   * partitions' ends before the source is Ready (InitOffsets in eventing-kafka-broker), so every
   * record produced once it is Ready is delivered. Left to the consumer, "latest" is resolved at its
   * first fetch after joining, and records produced in between were skipped. Partitions that have a
   * committed offset keep it (a restart resumes where it stopped).
   */
  const initLatestOffsets = async (admin: ReturnType<typeof kafka.admin>): Promise<void> => {
    for (const topic of config.topics) {
      const [committed] = await admin.fetchOffsets({ groupId: config.consumerGroup, topics: [topic] });
      const without = new Set((committed?.partitions ?? []).filter((p) => Number(p.offset) < 0).map((p) => p.partition));
      if (without.size === 0) continue;
      const ends = (await admin.fetchTopicOffsets(topic)).filter((p) => without.has(p.partition));
      try {
        await admin.setOffsets({ groupId: config.consumerGroup, topic, partitions: ends.map((p) => ({ partition: p.partition, offset: p.high })) });
      } catch (error) {
        // The group has members already (another replica of this source): they own its offsets.
        logger.warn({ err: error, topic }, 'could not initialize the latest offsets (the group is active); its members resolve them');
      }
    }
  };

  /** A consumer of the group, subscribed and running; `consumer` is the newest. */
  const openConsumer = async (): Promise<void> => {
    const c = kafka.consumer({
      groupId: config.consumerGroup,
      sessionTimeout: config.sessionTimeoutMs,
      heartbeatInterval: Math.min(3_000, Math.floor(config.sessionTimeoutMs / 5)),
      rebalanceTimeout: 30_000,
      // Short long-polls: a resumed partition is fetched again within half a second.
      maxWaitTimeInMs: 500,
      allowAutoTopicCreation: false,
      retry: { initialRetryTime: 250, maxRetryTime: 5_000, retries: 12, restartOnFailure: async () => state === 'running' || state === 'starting' },
    });
    consumer = c;
    c.on(c.events.GROUP_JOIN, (event) => {
      totals.rebalances += 1;
      resetLanes();
      logger.info({ assignment: event.payload.memberAssignment, generation: totals.rebalances }, 'joined consumer group');
      joined?.();
    });
    c.on(c.events.CRASH, (event) => {
      const { error, restart } = event.payload;
      logger.warn({ err: error, restart }, 'kafka consumer crashed');
      // kafkajs restarts its consumer only after a retriable error; after any other (seen once a
      // broker restarted: "Consumer group was not initialized" on every commit after) it stays down
      // and the source would deliver nothing more. A new consumer takes its place.
      if (!restart && state === 'running') reopen(c, 1_000);
    });
    await c.connect();
    await c.subscribe({ topics: [...config.topics], fromBeginning: config.initialOffset === 'earliest' });
    state = state === 'starting' ? 'running' : state;
    await c.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: 1, eachBatch });
  };

  /** Replaces crashed consumer `c` after `delayMs`, doubling up to 30 s while a new one fails to open. */
  const reopen = (c: Consumer, delayMs: number): void => {
    setTimeout(() => void (async () => {
      if (state !== 'running' || consumer !== c) return;
      await c.disconnect().catch(() => undefined);
      resetLanes(); // what the old lanes held is redelivered from the committed offsets
      try {
        await openConsumer();
        // stop() may have come while it opened, and disconnected the old one.
        if (state !== 'running') await consumer?.disconnect().catch(() => undefined);
        else logger.info('kafka consumer replaced after a crash kafkajs does not restart');
      } catch (error) {
        const retryInMs = Math.min(2 * delayMs, 30_000);
        logger.warn({ err: error, retryInMs }, 'could not open a new kafka consumer; retrying');
        reopen(consumer!, retryInMs);
      }
    })(), delayMs).unref();
  };

  const connectAndJoin = async (): Promise<void> => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const missing = config.topics.filter((t) => !existing.has(t));
      if (missing.length > 0) {
        throw new Error(`source topic(s) ${missing.join(', ')} do not exist on ${config.brokers.join(',')} ` +
          '(auto-create is off: create them first, e.g. with ensureTopics or `npm run kafka`)');
      }
      if (config.initialOffset === 'latest') {
        // A new group's coordinator may not be ready yet (NOT_COORDINATOR), which kafkajs's admin
        // does not retry on its own: a retriable error is retried here, anything else stops start().
        for (let attempt = 1; ; attempt++) {
          try {
            await initLatestOffsets(admin);
            break;
          } catch (error) {
            if (!(error as { retriable?: boolean }).retriable || attempt >= 10) throw error;
            await sleep(200 * attempt);
          }
        }
      }
    } finally {
      await admin.disconnect();
    }
    if (config.deadLetterTopic) {
      await ensureTopics(config.brokers, [{ topic: config.deadLetterTopic, numPartitions: DEAD_LETTER_PARTITIONS }], { logger });
      producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
      await producer.connect();
    }
    deliver = createDelivery(config, { sender, deadLetterProducer: producer, counters, logger });

    const firstJoin = new Promise<void>((resolve) => { joined = resolve; });
    await openConsumer();
    const timedOut = await Promise.race([firstJoin.then(() => false), sleep(JOIN_TIMEOUT_MS).then(() => true)]);
    if (timedOut) throw new Error(`did not join consumer group ${config.consumerGroup} within ${JOIN_TIMEOUT_MS} ms`);
    commitTimer = setInterval(() => { void commitNow(); }, config.commitIntervalMs);
    logger.info({ topics: config.topics, sink: config.sink, ordering: config.ordering, batchSize: config.batchSize }, 'dispatcher started');
  };

  const stop = async (): Promise<void> => {
    if (state === 'stopped' || state === 'stopping' || state === 'idle') { state = 'stopped'; return; }
    state = 'stopping';
    clearInterval(commitTimer);
    const current = [...lanes.values()];
    for (const lane of current) lane.stopAccepting();
    const drained = await Promise.race([
      Promise.all(current.map((l) => l.whenIdle())).then(() => true),
      sleep(config.drainTimeoutMs).then(() => false),
    ]);
    if (!drained) {
      logger.warn({ drainTimeoutMs: config.drainTimeoutMs }, 'in-flight deliveries did not finish in time; abandoning them (they will be redelivered)');
      for (const lane of current) lane.abort();
    }
    await commitNow();
    await consumer?.disconnect().catch((error: unknown) => logger.warn({ err: error }, 'consumer disconnect failed'));
    await producer?.disconnect().catch(() => undefined);
    sender.close();
    state = 'stopped';
    logger.info({ stats: stats() }, 'dispatcher stopped');
  };

  const stats = (): DispatcherStats => {
    let inFlight = 0;
    let inFlightRequests = 0;
    let queued = 0;
    for (const lane of lanes.values()) { inFlight += lane.inFlight(); inFlightRequests += lane.inFlightRequests(); queued += lane.queued(); }
    return {
      state,
      ...totals,
      ...counters,
      failureReasons: { ...counters.failureReasons },
      inFlight,
      inFlightRequests,
      queued,
      committed: Object.fromEntries(Object.entries(committed).map(([t, p]) => [t, { ...p }])),
    };
  };

  return { start, stop, stats };
}
