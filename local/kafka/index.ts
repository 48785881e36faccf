export { KAFKA_VERSION, DEFAULT_KAFKA_PORT, DEFAULT_KAFKA_DATA_DIR } from './versions.js';
export { ensureKafkaJars, hasKafkaJars, kafkaJarsDir } from './fetch.js';
export { startKafkaBroker, type KafkaBroker, type KafkaBrokerOptions } from './start-broker.js';
export { ensureTopics, describeTopics, SPEED_LAYER_TOPICS, type TopicSpec } from './topics.js';
export { createEventProducer, type EventProducer, type EventRecord, type EventProducerOptions } from './produce.js';
export { createKafkaClient, parseBrokers } from './client.js';
export { freePort } from './ports.js';
