/**
 * The dead-letter topic, one name and one partition count for every writer that may create it:
 * the ingest (functions/adapters/dead-letter-topic.ts), the local dispatcher's dead-letter sink
 * and the cluster's KafkaTopic (charts/). Dead letters are rare; one partition keeps them in
 * arrival order.
 */
export const DEAD_LETTER_TOPIC = 'dead_letter_events';
export const DEAD_LETTER_PARTITIONS = 1;
