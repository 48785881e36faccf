export { createDispatcher, type Dispatcher, type DispatcherStats, type DispatcherDeps, PARTITION_HIGH_WATER } from './dispatcher.js';
export {
  parseDispatcherConfig, configInputFromJson, DispatcherConfigError, DISPATCHER_DEFAULTS,
  type DispatcherConfig, type DispatcherConfigInput, type DeliveryConfig, type Ordering, type BackoffPolicy,
} from './config.js';
export {
  recordToCloudEvent, toBinaryHttp, toBatchHttp, toStructured, kafkaSourceUri, sanitizeExtensionName,
  KAFKA_EVENT_TYPE, BATCH_CONTENT_TYPE, type CloudEventData, type RecordRef, type SourceIdentity,
} from '../../functions/cloudevents/index.js';
export { parseIsoDurationMs } from './duration.js';
export { backoffMs, isRetryableStatus } from './retry-policy.js';
export { OffsetTracker } from './offset-tracker.js';
