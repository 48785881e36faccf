/**
 * The CloudEvents bindings, in one place (issue 16): the HTTP binding both ways (binary,
 * structured, batch; http.ts), the Kafka binding and KafkaSource's record-to-event mapping
 * (kafka.ts), and what they share (types, event types, percent-encoding; attributes.ts). The
 * ingest, its dead-letter topic, the local dispatcher, the generator and `npm run send` use it.
 */
export * from './attributes.js';
export * from './http.js';
export * from './kafka.js';
