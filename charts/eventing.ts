/**
 * How events reach the functions: a KafkaSource per topic delivers each record to ingest as a
 * CloudEvent; what it cannot deliver goes to a KafkaSink on `dead_letter_events`; a PingSource
 * asks the sessionizer for a run once a minute, a backstop to its own 2 s timer.
 */
import { Chart, type ChartProps } from 'cdk8s';
import type { Construct } from 'constructs';
import { KAFKA, NAMESPACES, type Values } from './values.js';
import { labels } from './lib/labels.js';
import { kafkaSink, kafkaSource, pingSource, type KReference } from './lib/crds.js';

export const DEAD_LETTER_SINK = 'dead-letter';

export interface EventingChartProps extends ChartProps {
  readonly values: Values;
}

export class EventingChart extends Chart {
  constructor(scope: Construct, id: string, props: EventingChartProps) {
    super(scope, id, props);
    const v = props.values;
    const ns = NAMESPACES.speed;
    const l = labels('speed-layer-eventing', 'eventing');
    const service = (name: string): KReference => ({ apiVersion: 'serving.knative.dev/v1', kind: 'Service', name, namespace: ns });

    kafkaSink(this, 'dead-letter', { name: DEAD_LETTER_SINK, namespace: ns, labels: l }, {
      topic: KAFKA.topics.deadLetter,
      bootstrapServers: [KAFKA.bootstrap],
      // Binary (KafkaSink's default): the event's attributes as ce_* headers, its data as the value.
      // The ingest writes its own rejects to this topic in the same shape, so every record there can
      // be read alike and re-produced to its source topic once fixed (docs/ingest-contract.md, "Dead-letter topic").
      contentMode: 'binary',
    });

    for (const [id, topic] of [['user-events', KAFKA.topics.userEvents], ['transactions', KAFKA.topics.transactions]] as const) {
      kafkaSource(this, id, {
        name: id,
        namespace: ns,
        labels: l,
        annotations: {
          'speed-layer.dev/why-unordered':
            'ingest answers once the micro-batch is stored; ordered delivery would move each partition one event per flush. ' +
            'Offsets are still committed only below the lowest unanswered record; sessions use event time, not arrival order.',
        },
      }, {
        bootstrapServers: [KAFKA.bootstrap],
        topics: [topic],
        consumerGroup: `speed-layer-ingest-${id}`,
        consumers: v.kafka.consumersPerSource,
        // Nothing produced before the first deploy is skipped.
        initialOffset: 'earliest',
        // Unordered on purpose. The ingest function answers a request only once the event's
        // micro-batch is stored in ClickHouse (up to BATCH_MAX_AGE_MS later), and the source
        // commits an offset only after that 2xx. With `ordered` delivery the dispatcher waits for
        // each answer before sending the next record of the same partition, so a partition would
        // move one event per flush (6 partitions: ~3 events/s). `unordered` keeps up to
        // max.poll.records requests in flight per consumer and still commits only offsets below
        // the lowest unanswered record, so nothing unstored is acknowledged. Order is not needed:
        // sessions are built by event time (watermark and allowed lateness), not arrival order.
        ordering: 'unordered',
        delivery: {
          // Enough exponential retries to ride out a ClickHouse outage (values.ts); 429/503 from
          // ingest's back-pressure honour its Retry-After up to retryAfterMax.
          retry: v.delivery.retry,
          backoffPolicy: 'exponential',
          backoffDelay: v.delivery.backoffDelay,
          // A request is held for up to one flush window plus an insert.
          timeout: v.delivery.timeout,
          retryAfterMax: v.delivery.retryAfterMax,
          deadLetterSink: { ref: { apiVersion: 'eventing.knative.dev/v1alpha1', kind: 'KafkaSink', name: DEAD_LETTER_SINK, namespace: ns } },
        },
        sink: { ref: service('ingest') },
      });
    }

    pingSource(this, 'sessionizer', { name: 'sessionizer', namespace: ns, labels: l }, {
      schedule: v.inputs.sessionizer.schedule,
      timezone: 'Etc/UTC',
      contentType: 'application/json',
      data: JSON.stringify({ action: 'run' }),
      sink: { ref: service('sessionizer') },
    });
  }
}
