import type { KafkaMessage } from 'kafkajs';
import { Cancellation, sleep } from './cancel.js';
import type { RecordRef } from '../../functions/cloudevents/index.js';
import type { Deliver, Outcome } from './delivery.js';
import type { Limiter } from './limiter.js';
import { OffsetTracker } from './offset-tracker.js';

export interface LaneOptions {
  readonly topic: string;
  readonly partition: number;
  /** Units in flight at once: 1 keeps the partition's order (ordered delivery). */
  readonly concurrency: number;
  /** Records per unit: 1 for binary mode, up to batchSize in batch mode. */
  readonly unitSize: number;
  readonly limiter: Limiter;
  readonly deliver: Deliver;
  readonly onOutcome: (outcome: Outcome, count: number) => void;
  readonly onSettled: (lane: PartitionLane) => void;
  readonly onUnexpectedError: (error: unknown, lane: PartitionLane) => void;
}

/** After an unexpected error (a bug, not a sink failure) a unit goes back to the queue after this pause. */
const REQUEUE_DELAY_MS = 1_000;

/**
 * One topic-partition's records between the consumer and the sink: a queue, at most
 * `concurrency` units in flight, and the offset tracker that says what may be committed.
 * A lane lives for one consumer-group generation; a rebalance aborts it and starts a new one.
 */
export class PartitionLane {
  readonly tracker = new OffsetTracker();
  /** Last offset committed for this lane, to skip commits that would change nothing. */
  lastCommitted: number | undefined;
  paused = false;
  private readonly queue: KafkaMessage[] = [];
  private activeUnits = 0;
  private activeRecords = 0;
  private accepting = true;
  /** Every unit in flight (its request, backoff sleep or limiter wait) is cancelled through this. */
  private readonly cancellation = new Cancellation();
  private idleWaiters: (() => void)[] = [];

  constructor(readonly options: LaneOptions) {}

  get topic(): string { return this.options.topic; }
  get partition(): number { return this.options.partition; }

  /** Queues a record; call pump() after a run of pushes so batch mode can fill its units. */
  push(message: KafkaMessage): void {
    if (!this.accepting) return;
    this.tracker.track(Number(message.offset));
    this.queue.push(message);
  }

  /** Records waiting or in flight. */
  backlog(): number {
    return this.queue.length + this.activeRecords;
  }

  inFlight(): number {
    return this.activeRecords;
  }

  /** Requests open to the sink (one per record, or per batch in batch mode): what Knative's queue-proxy counts. */
  inFlightRequests(): number {
    return this.activeUnits;
  }

  queued(): number {
    return this.queue.length;
  }

  /** Graceful stop: nothing new starts; queued records stay uncommitted and are read again next time. */
  stopAccepting(): void {
    this.accepting = false;
    this.queue.length = 0;
  }

  /** Rebalance or drain timeout: abandon in-flight deliveries too (they will be redelivered). */
  abort(): void {
    this.stopAccepting();
    this.cancellation.cancel(new Error(`lane ${this.topic}/${this.partition} aborted`));
  }

  whenIdle(): Promise<void> {
    if (this.activeUnits === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Starts units while there is room. */
  pump(): void {
    const { concurrency, unitSize } = this.options;
    while (this.accepting && this.activeUnits < concurrency && this.queue.length > 0) {
      const unit = this.queue.splice(0, unitSize);
      this.activeUnits += 1;
      this.activeRecords += unit.length;
      void this.run(unit);
    }
  }

  private async run(unit: KafkaMessage[]): Promise<void> {
    const { cancellation } = this;
    const { limiter } = this.options;
    let acquired = false;
    let requeue = false;
    try {
      await limiter.acquire(cancellation);
      acquired = true;
      // Stopped while waiting for a slot: never started, so leave it uncommitted.
      if (!this.accepting) return;
      const records: RecordRef[] = unit.map((message) => ({ topic: this.topic, partition: this.partition, message }));
      const outcome = await this.options.deliver(records, cancellation);
      for (const message of unit) this.tracker.complete(Number(message.offset));
      this.options.onOutcome(outcome, unit.length);
    } catch (error) {
      if (!cancellation.cancelled) {
        this.options.onUnexpectedError(error, this);
        requeue = true;
      }
    } finally {
      if (acquired) limiter.release();
      if (requeue && this.accepting) {
        // Hold the slot while waiting, so an ordered partition cannot overtake the failed unit.
        await sleep(REQUEUE_DELAY_MS).catch(() => undefined);
        if (this.accepting) this.queue.unshift(...unit);
      }
      this.activeUnits -= 1;
      this.activeRecords -= unit.length;
      this.pump();
      if (this.activeUnits === 0) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const resolve of waiters) resolve();
      }
      this.options.onSettled(this);
    }
  }
}
