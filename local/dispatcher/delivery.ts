import type { Producer } from 'kafkajs';
import type { Logger } from '../logger.js';
import { sleep as cancellableSleep, type Cancellation } from './cancel.js';
import { recordToCloudEvent, toBatchHttp, toBinaryHttp, type CloudEventData, type HttpMessage, type RecordRef } from '../../functions/cloudevents/index.js';
import type { DispatcherConfig } from './config.js';
import { describeFailure, produceDeadLetters, withErrorExtensions, type DeliveryFailure } from './dead-letter.js';
import type { HttpSender } from './http-sender.js';
import { backoffMs, blockedRoundDelayMs, isRetryableStatus, isSuccessStatus, retryAfterMs } from './retry-policy.js';

export type Outcome = 'delivered' | 'dead-lettered' | 'discarded';

/** Counters shared with stats(); plain numbers, bumped in place. */
export interface DeliveryCounters {
  attempts: number;
  retries: number;
  failedAttempts: number;
  /** Failed attempts by what failed them: the HTTP status, or the transport error's message. */
  failureReasons: Record<string, number>;
  blockedRounds: number;
}

export interface DeliveryDeps {
  readonly sender: HttpSender;
  /** Present when a dead-letter topic is configured. */
  readonly deadLetterProducer?: Producer;
  readonly counters: DeliveryCounters;
  readonly logger: Logger;
  /** Waits between attempts and rounds; tests pass one that records the waits instead of sleeping. */
  readonly sleep?: (ms: number, cancellation: Cancellation) => Promise<void>;
}

/** Log a blocked record at most this often: with the sink down every in-flight unit blocks at once. */
const BLOCKED_LOG_INTERVAL_MS = 5_000;

/**
 * Delivers one unit (one record, or one batch in batch mode) the way Knative's delivery spec
 * says: up to `retry` retries with backoff for retryable answers; a final failure goes to the
 * dead-letter sink and/or topic; then, if nothing took it, `onExhausted` decides between
 * blocking (new rounds until the sink answers; the default, nothing is lost) and discarding.
 * Resolves with the outcome once the unit may be committed; rejects only when `cancellation` is
 * cancelled (the lane was aborted), with its reason.
 */
export function createDelivery(config: DispatcherConfig, deps: DeliveryDeps) {
  const { sender, counters, logger } = deps;
  const sleep = deps.sleep ?? cancellableSleep;
  const { delivery } = config;
  const source = { namespace: config.namespace, name: config.name };
  let lastBlockedLog = 0;

  const attemptWithRetries = async (url: string, message: HttpMessage, cancellation: Cancellation): Promise<DeliveryFailure | undefined> => {
    let failure: DeliveryFailure = { error: 'not attempted', retryable: true };
    let wait = 0;
    for (let attempt = 0; attempt <= delivery.retry; attempt++) {
      if (attempt > 0) {
        counters.retries += 1;
        await sleep(wait, cancellation);
      }
      counters.attempts += 1;
      wait = backoffMs(delivery.backoffPolicy, delivery.backoffDelayMs, attempt + 1);
      try {
        const response = await sender.post(url, message.headers, message.body, delivery.timeoutMs, cancellation);
        if (isSuccessStatus(response.status)) return undefined;
        failure = { status: response.status, body: response.body, retryable: isRetryableStatus(response.status) };
        if ((response.status === 429 || response.status === 503) && delivery.retryAfterMaxMs !== undefined) {
          const asked = retryAfterMs(response.headers['retry-after']);
          if (asked !== undefined) wait = Math.max(wait, Math.min(asked, delivery.retryAfterMaxMs));
        }
      } catch (error) {
        if (cancellation.cancelled) throw error;
        failure = { error: error instanceof Error ? error.message : String(error), retryable: true };
      }
      counters.failedAttempts += 1;
      const reason = failure.status !== undefined ? String(failure.status) : failure.error ?? 'unknown';
      counters.failureReasons[reason] = (counters.failureReasons[reason] ?? 0) + 1;
      if (!failure.retryable) return failure;
    }
    return failure;
  };

  /** 'done' when every configured destination took the records, 'none' when none is configured. */
  const deadLetter = async (events: readonly CloudEventData[], failure: DeliveryFailure, cancellation: Cancellation): Promise<'done' | 'none' | 'failed'> => {
    const dls = delivery.deadLetterSink;
    if (!dls && !deps.deadLetterProducer) return 'none';
    try {
      if (deps.deadLetterProducer && config.deadLetterTopic) {
        await produceDeadLetters(deps.deadLetterProducer, config.deadLetterTopic, events, failure, config.sink);
      }
      if (dls) {
        for (const event of events) {
          const dlsFailure = await attemptWithRetries(dls, toBinaryHttp(withErrorExtensions(event, failure, config.sink)), cancellation);
          if (dlsFailure) {
            logger.warn({ id: event.attributes.id, deadLetterSink: dls, reason: describeFailure(dlsFailure) }, 'dead-letter sink refused the event');
            return 'failed';
          }
        }
      }
      return 'done';
    } catch (error) {
      if (cancellation.cancelled) throw error;
      logger.warn({ err: error, topic: config.deadLetterTopic }, 'could not produce to the dead-letter topic');
      return 'failed';
    }
  };

  return async function deliver(records: readonly RecordRef[], cancellation: Cancellation): Promise<Outcome> {
    const events = records.map((r) => recordToCloudEvent(r, source, config.ceExtensions));
    const message = config.batchSize > 0 ? toBatchHttp(events) : toBinaryHttp(events[0] ?? { attributes: {}, data: null });
    const ids = (): string[] => events.map((e) => e.attributes.id ?? '?');
    for (let round = 1; ; round++) {
      const failure = await attemptWithRetries(config.sink, message, cancellation);
      if (!failure) return 'delivered';
      const dead = await deadLetter(events, failure, cancellation);
      if (dead === 'done') {
        logger.info({ ids: ids(), reason: describeFailure(failure) }, 'dead-lettered');
        return 'dead-lettered';
      }
      if ((dead === 'none' && !failure.retryable) || config.onExhausted === 'discard') {
        // As Knative does: the sink said a final no (or we were told not to wait) and nothing else takes it.
        logger.warn({ ids: ids(), reason: describeFailure(failure) }, 'discarded: delivery failed and no dead-letter destination took it');
        return 'discarded';
      }
      counters.blockedRounds += 1;
      const now = Date.now();
      if (now - lastBlockedLog >= BLOCKED_LOG_INTERVAL_MS) {
        lastBlockedLog = now;
        logger.warn({ ids: ids(), round, reason: describeFailure(failure) }, 'sink unavailable and retries exhausted; holding the record and trying again');
      }
      await sleep(blockedRoundDelayMs(round), cancellation);
    }
  };
}

export type Deliver = ReturnType<typeof createDelivery>;
