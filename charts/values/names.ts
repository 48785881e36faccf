// Names, images, ports and ids of the deployment: fixed facts rather than sized numbers.
import { DEAD_LETTER_TOPIC } from '../../functions/core/topics.js';
import { CLUSTER_KAFKA_VERSION } from './code-defaults.js';

export const NAMESPACES = { speed: 'speed-layer', batch: 'batch-layer', kafka: 'kafka' } as const;

export const PRIORITY = {
  /** Speed-layer functions: preempt the batch layer when the pool is full. */
  speed: { name: 'speed-layer-high', value: 100_000 },
  /** Batch layer: preemptible, and never preempts anyone itself. */
  batch: { name: 'batch-layer-normal', value: 1_000 },
  /** ClickHouse, PostgreSQL, Kafka: outside the compute pool, never a preemption victim of either layer. */
  data: { name: 'speed-layer-data', value: 200_000 },
} as const;

export const IMAGES = {
  /**
   * Built by the Dockerfile and loaded into kind by kind/up.sh. The `dev.local/` prefix is one of
   * the registries Knative does not try to resolve to a digest (config-deployment's
   * registries-skipping-tag-resolving), so an image that exists only in the nodes works.
   */
  functions: 'dev.local/speed-layer:dev',
  /** The same ClickHouse version as the embedded engine (chDB) the code is tested against. */
  clickhouse: 'clickhouse/clickhouse-server:26.7',
  postgres: 'postgres:17',
} as const;

export const KAFKA = {
  cluster: 'speed-layer',
  /**
   * The version the tests run against (local/kafka/versions.ts): the ingest's dead-letter producer
   * is kafkajs, which failed against Kafka 4 (KIP-896). Strimzi 0.47 runs 3.9.1 (kind/up.sh).
   */
  version: CLUSTER_KAFKA_VERSION,
  bootstrap: 'speed-layer-kafka-bootstrap.kafka.svc:9092',
  /** Strimzi's own listeners on every node: KRaft controllers, and replication plus the operator's admin connections. */
  ports: { controlPlane: 9090, replication: 9091 },
  topics: { userEvents: 'user_events', transactions: 'transactions', deadLetter: DEAD_LETTER_TOPIC },
} as const;

export const CLICKHOUSE = {
  service: 'clickhouse',
  url: `http://clickhouse.${NAMESPACES.speed}.svc:8123`,
  database: 'speed_layer',
  ports: { http: 8123, native: 9000, metrics: 9363 },
  /** NodePorts that kind/kind-config.yaml maps to the host's 8123 and 9000. */
  nodePorts: { http: 30123, native: 30900 },
  uid: 101,
} as const;

export const POSTGRES = {
  service: 'postgres',
  database: 'speed_layer',
  user: 'speed_layer',
  port: 5432,
  uid: 999,
} as const;

/** Secrets are created by kind/up.sh (random passwords), never written to the repo or dist/. */
export const SECRETS = {
  clickhouse: { name: 'clickhouse-users', keys: { ingest: 'ingest-password', analytics: 'analytics-password', sessionizer: 'sessionizer-password', migrator: 'migrator-password' } },
  postgres: { name: 'postgres', keys: { password: 'password', databaseUrl: 'database-url' } },
} as const;

/** The uid the Dockerfile's runtime stage runs as. */
export const FUNCTION_UID = 10001;

/** kind's default docker network; NodePort traffic from the host arrives from it. */
export const KIND_NODE_CIDR = '172.18.0.0/16';

export const PORTS = {
  /** The functions listen on PORT (Knative sets 8080; the pod port is named `user-port`). */
  user: 8080,
  /** queue-proxy: requests from the gateway and the activator. */
  queue: 8012,
  /** queue-proxy: the metrics the Knative autoscaler scrapes. */
  autoscalerMetrics: 9090,
  dns: 53,
  kafka: 9092,
} as const;
