import type { Producer } from 'kafkajs';
import { toKafkaBinary, type CloudEventData } from '../../functions/cloudevents/index.js';

/** Why a record could not be delivered: the sink's last answer, or the transport error. */
export interface DeliveryFailure {
  readonly status?: number;
  readonly body?: Buffer;
  readonly error?: string;
  readonly retryable: boolean;
}

export function describeFailure(failure: DeliveryFailure): string {
  return failure.status !== undefined ? `HTTP ${failure.status}` : failure.error ?? 'unknown error';
}

/**
 * The extensions Knative adds to a dead-lettered event: where it failed, the status code, and the
 * sink's answer (base64, at most 1024 bytes). Without an HTTP answer there is no code, and the
 * transport error takes the place of the answer.
 */
export function errorExtensions(failure: DeliveryFailure, destination: string): Record<string, string> {
  const ext: Record<string, string> = { knativeerrordest: destination };
  if (failure.status !== undefined) ext.knativeerrorcode = String(failure.status);
  const data = failure.body && failure.body.length > 0 ? failure.body : failure.error ? Buffer.from(failure.error) : undefined;
  if (data) ext.knativeerrordata = data.subarray(0, 1024).toString('base64');
  return ext;
}

export function withErrorExtensions(event: CloudEventData, failure: DeliveryFailure, destination: string): CloudEventData {
  return { ...event, attributes: { ...event.attributes, ...errorExtensions(failure, destination) } };
}

/**
 * The dead-letter topic gets what Knative's KafkaSink (the cluster's dead-letter sink) would write
 * for the same dead-lettered event: the event with the knativeerror* extensions, in Kafka binary
 * content mode (toKafkaBinary). So a consumer of the topic reads one shape, whether the dispatcher
 * or the ingest (functions/adapters/dead-letter-topic.ts) put a record there, and can re-produce
 * it to its topic as it is: the dispatcher forwards a record with ce_* headers as that event.
 */
export async function produceDeadLetters(
  producer: Producer,
  topic: string,
  events: readonly CloudEventData[],
  failure: DeliveryFailure,
  destination: string,
): Promise<void> {
  await producer.send({
    topic,
    acks: -1,
    messages: events.map((event) => toKafkaBinary(withErrorExtensions(event, failure, destination))),
  });
}
