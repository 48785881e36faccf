import { loadConfig, type Config } from '../../functions/core/config.js';
import { DEAD_LETTER_PARTITIONS } from '../../functions/core/topics.js';
import { KAFKA_VERSION } from '../../local/kafka/versions.js';

/**
 * The code's own defaults (functions/core/config.ts's schema), so the charts restate none of them:
 * a number the cluster runs with is the code's default unless CLUSTER_OVERRIDES gives it another
 * value and says why (test/charts/code-defaults.test.ts fails on anything else).
 */
export const CODE_DEFAULTS: Readonly<Config> = loadConfig({});

/** The settings the cluster sets differently from the code's defaults, each with its reason. */
export const CLUSTER_OVERRIDES: Readonly<Partial<Record<keyof Config, string>>> = {
  CLICKHOUSE_URL: 'the ClickHouse server\'s Service, instead of the embedded engine',
  CLICKHOUSE_USER: 'each function has its own ClickHouse user with only the rights it needs',
  CLICKHOUSE_MIGRATE: 'the functions\' users have no DDL rights; the clickhouse-schema Job applies sql/',
  KAFKA_BROKERS: 'the Strimzi bootstrap Service',
  ACK_BUDGET_MS: 'derived: 80 % of the KafkaSource\'s delivery timeout, so no row is acknowledged after the sender gave up',
  PG_POOL_SIZE: 'derived: the pool size that keeps every ingest pod at max-scale within the PostgreSQL connection budget',
  DEDUPE_WINDOW: '600,000 ids (minutes of a pod\'s traffic, longer than KafkaSource\'s retries of one record) fit the guaranteed pool at 133 B an id; the code\'s 1,000,000 does not. A copy that lands later is cancelled by the sessionizer',
};

/** Dead letters: one topic, one partition count, whoever creates it (see functions/core/topics.ts). */
export { DEAD_LETTER_PARTITIONS };

/**
 * The Kafka the cluster runs: the version the tests run against (local/kafka/versions.ts), because
 * the ingest's dead-letter producer is kafkajs, which failed against Kafka 4 (KIP-896).
 */
export const CLUSTER_KAFKA_VERSION = KAFKA_VERSION;
