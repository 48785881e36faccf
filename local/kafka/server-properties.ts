/**
 * The broker's configuration for a single-node KRaft cluster on the loopback interface, tuned to
 * start fast and stay small. Pure, so the settings can be read and tested without a JVM.
 */
export interface ServerPropertiesInput {
  readonly port: number;
  readonly controllerPort: number;
  readonly logDir: string;
  /** Extra or replacing `key=value` settings (tests use this, e.g. for retention). */
  readonly overrides?: Readonly<Record<string, string | number | boolean>>;
}

/** The one broker id of the single-node cluster; also the only controller voter. */
export const NODE_ID = 1;

/** Partitions per topic: the contract asks for 6 or more for user_events and transactions. */
export const DEFAULT_PARTITIONS = 6;

export function serverProperties(input: ServerPropertiesInput): Readonly<Record<string, string>> {
  const host = '127.0.0.1';
  const base: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': NODE_ID,
    'controller.quorum.voters': `${NODE_ID}@${host}:${input.controllerPort}`,
    listeners: `PLAINTEXT://${host}:${input.port},CONTROLLER://${host}:${input.controllerPort}`,
    'advertised.listeners': `PLAINTEXT://${host}:${input.port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'log.dirs': input.logDir,
    'num.partitions': DEFAULT_PARTITIONS,
    // One node: internal topics cannot have more replicas than brokers, or groups and
    // idempotent producers never get a coordinator.
    'offsets.topic.replication.factor': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'min.insync.replicas': 1,
    'default.replication.factor': 1,
    // The default 50 partitions of __consumer_offsets cost seconds on the first group join on 2 cores.
    'offsets.topic.num.partitions': DEFAULT_PARTITIONS,
    'transaction.state.log.num.partitions': DEFAULT_PARTITIONS,
    // A consumer group that starts alone should not wait 3 s for company that never comes.
    'group.initial.rebalance.delay.ms': 0,
    // Topics are created on purpose (ensureTopics): a typo must fail, not create a new topic.
    'auto.create.topics.enable': false,
    // Fewer threads than the defaults: the machine has 2 cores shared with everything else.
    'num.network.threads': 2,
    'num.io.threads': 2,
    'num.recovery.threads.per.data.dir': 1,
    'background.threads': 2,
    // Local data is disposable: keep it from growing without end across long benchmark runs.
    'log.retention.hours': 24,
    'log.segment.bytes': 64 * 1024 * 1024,
  };
  const merged = { ...base, ...(input.overrides ?? {}) };
  return Object.fromEntries(Object.entries(merged).map(([k, v]) => [k, String(v)]));
}

export function renderProperties(props: Readonly<Record<string, string>>): string {
  return Object.entries(props).map(([k, v]) => `${k}=${v}`).join('\n') + '\n';
}

/**
 * log4j 1.x (reload4j) settings: warnings and errors only, plus the one INFO line that tells the
 * broker is up, which startKafkaBroker waits for.
 */
export const LOG4J_PROPERTIES = [
  'log4j.rootLogger=WARN, stdout',
  'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
  'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
  'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
  'log4j.logger.kafka.server.KafkaRaftServer=INFO',
  '',
].join('\n');

/** The line KafkaRaftServer logs once the broker accepts clients. */
export const STARTED_LINE = /Kafka Server started/;
