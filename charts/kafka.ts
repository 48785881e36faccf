/**
 * Kafka, run by Strimzi (kind/up.sh installs the operator into the `kafka` namespace): one
 * KRaft node that is both controller and broker, and the three topics. Events are keyed by
 * user_id, so one user's events share a partition.
 *
 * Elsewhere (a managed Kafka), drop this chart and point KAFKA.bootstrap (values.ts) at the
 * external bootstrap servers: the KafkaSources and the ingest function read it from there.
 */
import { Chart, type ChartProps } from 'cdk8s';
import type { Construct } from 'constructs';
import { KAFKA, NAMESPACES, PRIORITY, type Values } from './values.js';
import { STORAGE_CLASS } from './cluster.js';
import { labels } from './lib/labels.js';
import { kafka, kafkaNodePool, kafkaTopic } from './lib/crds.js';
import { toPeer } from './lib/network.js';
import { kafkaClients } from './network-policies.js';

export interface KafkaChartProps extends ChartProps {
  readonly values: Values;
}

export class KafkaChart extends Chart {
  constructor(scope: Construct, id: string, props: KafkaChartProps) {
    super(scope, id, props);
    const v = props.values;
    const k = v.inputs.kafka;
    const ns = NAMESPACES.kafka;
    const l = labels('kafka', 'eventing');
    const cluster = { 'strimzi.io/cluster': KAFKA.cluster };

    kafkaNodePool(this, 'node-pool', { name: 'dual-role', namespace: ns, labels: { ...l, ...cluster } }, {
      replicas: k.replicas,
      roles: ['controller', 'broker'],
      storage: {
        type: 'jbod',
        volumes: [{ id: 0, type: 'persistent-claim', size: `${k.volumeGi}Gi`, class: STORAGE_CLASS, deleteClaim: false, kraftMetadata: 'shared' }],
      },
      resources: {
        requests: { memory: `${k.memoryMiB}Mi`, cpu: '500m' },
        limits: { memory: `${k.memoryMiB}Mi`, cpu: '2' },
      },
      jvmOptions: { '-Xms': `${v.kafka.heapMiB}m`, '-Xmx': `${v.kafka.heapMiB}m` },
      template: { pod: { priorityClassName: PRIORITY.data.name } },
    });

    kafka(this, 'cluster', {
      name: KAFKA.cluster,
      namespace: ns,
      labels: l,
      // Required by Strimzi before 0.48 and ignored from 0.48 on (KRaft and node pools are the default).
      annotations: { 'strimzi.io/node-pools': 'enabled', 'strimzi.io/kraft': 'enabled' },
    }, {
      kafka: {
        version: KAFKA.version,
        // Only the designed clients reach the listener (the same list as the namespace's policies).
        listeners: [{ name: 'plain', port: 9092, type: 'internal', tls: false, networkPolicyPeers: kafkaClients(v).map(toPeer) }],
        config: {
          // One broker: every internal topic has a single replica.
          'offsets.topic.replication.factor': k.replicas,
          'transaction.state.log.replication.factor': k.replicas,
          'transaction.state.log.min.isr': k.replicas,
          'default.replication.factor': k.replicas,
          'min.insync.replicas': k.replicas,
          // Topics are declared below; a typo in a client must not create one.
          'auto.create.topics.enable': false,
        },
      },
      entityOperator: {
        topicOperator: { resources: { requests: { memory: '256Mi', cpu: '100m' }, limits: { memory: '384Mi', cpu: '500m' } } },
        template: { pod: { priorityClassName: PRIORITY.data.name } },
      },
    });

    const retention = {
      'cleanup.policy': 'delete',
      // Whichever comes first: the time bound, or this partition's share of the volume.
      'retention.ms': v.kafka.retentionMs,
      'retention.bytes': v.kafka.retentionBytesPerPartition,
      'min.insync.replicas': k.replicas,
    };
    const topic = (id: string, name: string, partitions: number) =>
      kafkaTopic(this, id, { name: name.replace(/_/g, '-'), namespace: ns, labels: { ...l, ...cluster } }, {
        topicName: name,
        partitions,
        replicas: k.replicas,
        config: retention,
      });
    topic('user-events', KAFKA.topics.userEvents, k.partitions);
    topic('transactions', KAFKA.topics.transactions, k.partitions);
    // Where the KafkaSources' dead-letter sink writes events they could not deliver.
    topic('dead-letter', KAFKA.topics.deadLetter, k.deadLetterPartitions);
  }
}
