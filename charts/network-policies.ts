/**
 * Who may talk to whom. Both namespaces of ours deny everything by default, the kafka namespace
 * every incoming connection; these are the only flows the design needs (test/charts checks the policies allow exactly these, from its own table).
 *
 * How events reach ingest: the KafkaSource dispatcher (knative-eventing) posts to the Knative
 * Service's address, which is Kourier's cluster-local gateway; the gateway forwards to the pod's
 * queue-proxy, or to the activator when the revision is scaling from zero or buffering. So the
 * pods' direct peers are Kourier's gateway and the activator, on the queue-proxy port. The
 * PingSource adapter reaches the sessionizer the same way.
 */
import { Chart, type ChartProps } from 'cdk8s';
import type { Construct } from 'constructs';
import { CLICKHOUSE, KAFKA, KIND_NODE_CIDR, NAMESPACES, PORTS, POSTGRES, type Values } from './values.js';
import { labels, selector } from './lib/labels.js';
import { networkPolicies, ports, type Flow, type Peer } from './lib/network.js';

const pods = (name: string): Peer => ({ kind: 'pods', name, labels: selector(name) });

/** The peers outside the namespace, by the labels their installers give them. */
export const EXTERNAL = {
  kourier: { kind: 'namespace', name: 'kourier-gateway', namespace: 'kourier-system', labels: { app: '3scale-kourier-gateway' } },
  activator: { kind: 'namespace', name: 'knative-activator', namespace: 'knative-serving', labels: { app: 'activator' } },
  autoscaler: { kind: 'namespace', name: 'knative-autoscaler', namespace: 'knative-serving', labels: { app: 'autoscaler' } },
  prometheus: { kind: 'namespace', name: 'prometheus', namespace: 'monitoring', labels: { 'app.kubernetes.io/name': 'prometheus' } },
  dns: { kind: 'namespace', name: 'kube-dns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } },
  kafka: { kind: 'namespace', name: 'kafka-brokers', namespace: NAMESPACES.kafka, labels: { 'strimzi.io/cluster': KAFKA.cluster, 'strimzi.io/kind': 'Kafka' } },
  kindHost: { kind: 'cidr', name: 'kind-host', cidr: KIND_NODE_CIDR },
} as const satisfies Record<string, Peer>;

/** The designed flows of the speed-layer namespace. */
export function speedLayerFlows(v: Values): Flow[] {
  const fns = Object.values(v.functions);
  const ch = CLICKHOUSE.ports;
  const flows: Flow[] = [
    { from: { kind: 'pods', name: 'all-pods', labels: {} }, to: EXTERNAL.dns, ports: ports.udpTcp(PORTS.dns), why: 'name resolution' },
  ];
  for (const f of fns) {
    const fn = pods(f.name);
    flows.push(
      { from: EXTERNAL.kourier, to: fn, ports: ports.tcp(PORTS.queue), why: `requests to ${f.name} through the Knative ingress (KafkaSource and PingSource deliveries included)` },
      { from: EXTERNAL.activator, to: fn, ports: ports.tcp(PORTS.queue), why: 'requests buffered by the activator while scaling' },
      { from: EXTERNAL.autoscaler, to: fn, ports: ports.tcp(PORTS.autoscalerMetrics), why: "the autoscaler scrapes queue-proxy's concurrency" },
      { from: EXTERNAL.prometheus, to: fn, ports: ports.tcp(PORTS.user), why: 'Prometheus scrapes /metrics' },
      { from: fn, to: pods('clickhouse'), ports: ports.tcp(ch.http), why: `${f.name} queries ClickHouse over HTTP as ${f.clickhouseUser}` },
    );
    if (f.usesPostgres) flows.push({ from: fn, to: pods('postgres'), ports: ports.tcp(POSTGRES.port), why: 'user tiers (enrichment)' });
    if (f.usesKafka) flows.push({ from: fn, to: EXTERNAL.kafka, ports: ports.tcp(PORTS.kafka), why: 'Kafka (KAFKA_BROKERS)' });
  }
  flows.push(
    { from: pods('clickhouse-admin'), to: pods('clickhouse'), ports: ports.tcp(ch.native), why: 'schema job and backups (clickhouse-client as migrator)' },
    { from: EXTERNAL.prometheus, to: pods('clickhouse'), ports: ports.tcp(ch.metrics), why: "Prometheus scrapes ClickHouse's /metrics" },
    { from: EXTERNAL.kindHost, to: pods('clickhouse'), ports: ports.tcp(ch.http, ch.native), why: "the kind host through the NodePorts (kind-config.yaml's 8123 and 9000)" },
  );
  return flows;
}

/**
 * Who may reach the brokers' client listener: the functions that use Kafka, and Knative Eventing
 * (the KafkaSource dispatchers, the KafkaSink receiver, their controllers). The Kafka CR gives the
 * same list to Strimzi as the listener's networkPolicyPeers (charts/kafka.ts), so the policy
 * Strimzi generates for the listener does not let everyone in again.
 */
export function kafkaClients(v: Values): Peer[] {
  return [
    ...Object.values(v.functions).filter((f) => f.usesKafka).map((f): Peer => ({ kind: 'namespace', name: f.name, namespace: NAMESPACES.speed, labels: selector(f.name) })),
    { kind: 'namespace', name: 'knative-eventing', namespace: 'knative-eventing' },
  ];
}

/**
 * The designed flows into the kafka namespace, which denies incoming traffic by default. Its
 * egress stays open: Strimzi's operator talks to the Kubernetes API, whose address a policy cannot
 * name portably, and that cannot be checked without a cluster.
 */
export function kafkaFlows(v: Values): Flow[] {
  const brokers: Peer = { kind: 'pods', name: 'kafka-brokers', labels: { ...EXTERNAL.kafka.labels } };
  return [
    ...kafkaClients(v).map((c): Flow => ({ from: c, to: brokers, ports: ports.tcp(PORTS.kafka), why: 'a Kafka client' })),
    {
      from: { kind: 'pods', name: 'strimzi', labels: {} }, to: brokers, ports: ports.tcp(KAFKA.ports.controlPlane, KAFKA.ports.replication, PORTS.kafka),
      why: "Strimzi's operator and entity operator, and the brokers themselves: KRaft control plane, replication, clients",
    },
  ];
}

export interface NetworkPoliciesChartProps extends ChartProps {
  readonly values: Values;
}

export class NetworkPoliciesChart extends Chart {
  constructor(scope: Construct, id: string, props: NetworkPoliciesChartProps) {
    super(scope, id, props);
    const l = labels('speed-layer-network', 'platform');
    networkPolicies(this, NAMESPACES.speed, speedLayerFlows(props.values), l);
    networkPolicies(this, NAMESPACES.kafka, kafkaFlows(props.values), l, { isolate: ['Ingress'] });
    // The batch layer's own flows belong to the batch layer; until then it may resolve names only.
    networkPolicies(this, NAMESPACES.batch, [
      { from: { kind: 'pods', name: 'all-pods', labels: {} }, to: EXTERNAL.dns, ports: ports.udpTcp(PORTS.dns), why: 'name resolution' },
    ], l);
  }
}
