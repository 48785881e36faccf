import type { Producer } from 'kafkajs';
import type { CloudEventData, RecordRef } from './cloud-event.js';

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
 * The dead-letter topic gets the original record (key, value, headers) plus headers that say
 * where it came from and why it failed, so it can be inspected or replayed.
 */
export async function produceDeadLetters(
  producer: Producer,
  topic: string,
  records: readonly RecordRef[],
  failure: DeliveryFailure,
  destination: string,
): Promise<void> {
  const extra = errorExtensions(failure, destination);
  await producer.send({
    topic,
    acks: -1,
    messages: records.map(({ topic: sourceTopic, partition, message }) => ({
      key: message.key,
      value: message.value,
      headers: {
        ...message.headers,
        ...extra,
        'dlq-source-topic': sourceTopic,
        'dlq-source-partition': String(partition),
        'dlq-source-offset': message.offset,
        'dlq-ce-id': `partition:${partition}/offset:${message.offset}`,
      },
    })),
  });
}
