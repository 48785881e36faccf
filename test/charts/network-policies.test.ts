/**
 * The NetworkPolicies allow exactly the designed flows. The test evaluates the synthesized
 * policies the way the API defines them (a pod is isolated for a direction once a policy of its
 * namespace selects it for that direction; a connection needs the source's egress and the
 * destination's ingress) over every pair of endpoints and every port that matters, and compares
 * what is allowed with the table below, written here independently of the charts.
 *
 * The speed-layer pods and their labels come from the synthesized workloads; the endpoints
 * outside are described with the labels their installers give them, plus a few that must stay
 * out (the KafkaSource dispatcher talks to the gateway, never to a pod; Grafana; a stray pod).
 */
import { describe, expect, it } from 'vitest';
import { podTemplates, real, type Manifest } from './synth.js';

const out = real();

interface Endpoint {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  ip: string;
}

const nsLabels = (ns: string) => ({ 'kubernetes.io/metadata.name': ns });

// One endpoint per workload name (the schema Job and the backup CronJob share `clickhouse-admin`).
const speedPods: Endpoint[] = [
  ...new Map(
    podTemplates(out.all)
      .filter((t) => t.namespace === 'speed-layer')
      .map((t, i) => [t.labels['app.kubernetes.io/name']!, { name: t.labels['app.kubernetes.io/name']!, namespace: t.namespace, labels: t.labels, ip: `10.244.1.${10 + i}` }] as const),
  ).values(),
];

const ENDPOINTS: Endpoint[] = [
  ...speedPods,
  { name: 'batch-job', namespace: 'batch-layer', labels: { app: 'spark' }, ip: '10.244.2.5' },
  { name: 'kourier-gateway', namespace: 'kourier-system', labels: { app: '3scale-kourier-gateway' }, ip: '10.244.2.10' },
  { name: 'activator', namespace: 'knative-serving', labels: { app: 'activator' }, ip: '10.244.2.11' },
  { name: 'autoscaler', namespace: 'knative-serving', labels: { app: 'autoscaler' }, ip: '10.244.2.12' },
  { name: 'knative-controller', namespace: 'knative-serving', labels: { app: 'controller' }, ip: '10.244.2.13' },
  { name: 'kafka-source-dispatcher', namespace: 'knative-eventing', labels: { 'app.kubernetes.io/component': 'kafka-source-dispatcher' }, ip: '10.244.2.14' },
  { name: 'prometheus', namespace: 'monitoring', labels: { 'app.kubernetes.io/name': 'prometheus', prometheus: 'monitoring-kube-prometheus-prometheus' }, ip: '10.244.2.15' },
  { name: 'grafana', namespace: 'monitoring', labels: { 'app.kubernetes.io/name': 'grafana' }, ip: '10.244.2.16' },
  { name: 'kube-dns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' }, ip: '10.244.0.3' },
  { name: 'kafka-broker', namespace: 'kafka', labels: { 'strimzi.io/cluster': 'speed-layer', 'strimzi.io/kind': 'Kafka', 'strimzi.io/broker-role': 'true' }, ip: '10.244.2.20' },
  { name: 'strimzi-operator', namespace: 'kafka', labels: { name: 'strimzi-cluster-operator' }, ip: '10.244.2.21' },
  { name: 'stray-pod', namespace: 'default', labels: { app: 'anything' }, ip: '10.244.2.30' },
  // A process on the host, through the kind node's NodePort (kind's docker network).
  { name: 'kind-host', ip: '172.18.0.1' },
];

const PORTS: [string, number][] = [
  ['UDP', 53], ['TCP', 53], ['TCP', 8012], ['TCP', 8013], ['TCP', 8022], ['TCP', 9090], ['TCP', 9091], ['TCP', 8080],
  ['TCP', 8123], ['TCP', 9000], ['TCP', 9363], ['TCP', 5432], ['TCP', 9092], ['TCP', 22],
];

const FNS = ['ingest', 'analytics', 'sessionizer'];
const SPEED = ['ingest', 'analytics', 'sessionizer', 'clickhouse', 'postgres', 'clickhouse-admin'];

/** The designed flows: [from, to, protocol, port]. */
const EXPECTED: [string, string, string, number][] = [
  // Name resolution, from every pod of both namespaces.
  ...[...SPEED, 'batch-job'].flatMap((p): [string, string, string, number][] => [[p, 'kube-dns', 'UDP', 53], [p, 'kube-dns', 'TCP', 53]]),
  // Requests reach a function through Kourier's gateway or the activator, at the queue-proxy.
  ...FNS.flatMap((f): [string, string, string, number][] => [
    ['kourier-gateway', f, 'TCP', 8012],
    ['activator', f, 'TCP', 8012],
    ['autoscaler', f, 'TCP', 9090],
    ['prometheus', f, 'TCP', 8080],
    [f, 'clickhouse', 'TCP', 8123],
  ]),
  ['ingest', 'postgres', 'TCP', 5432],
  // Into the kafka namespace (it denies incoming traffic by default; its egress is open): the
  // clients of the listener, and Strimzi's own pods on the control plane, replication and listener.
  ['ingest', 'kafka-broker', 'TCP', 9092],
  ['kafka-source-dispatcher', 'kafka-broker', 'TCP', 9092],
  ['strimzi-operator', 'kafka-broker', 'TCP', 9090],
  ['strimzi-operator', 'kafka-broker', 'TCP', 9091],
  ['strimzi-operator', 'kafka-broker', 'TCP', 9092],
  ['clickhouse-admin', 'clickhouse', 'TCP', 9000],
  ['prometheus', 'clickhouse', 'TCP', 9363],
  ['kind-host', 'clickhouse', 'TCP', 8123],
  ['kind-host', 'clickhouse', 'TCP', 9000],
];

// --- A NetworkPolicy evaluator (networking.k8s.io/v1 semantics) -------------------------------

function matchesSelector(sel: any, labels: Record<string, string> = {}): boolean {
  for (const [k, v] of Object.entries(sel?.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel?.matchExpressions ?? []) {
    const has = e.key in labels;
    if (e.operator === 'In' && !(has && e.values.includes(labels[e.key]))) return false;
    if (e.operator === 'NotIn' && has && e.values.includes(labels[e.key])) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/') as [string, string];
  const n = (s: string) => s.split('.').reduce((a, o) => (a << 8) + Number(o), 0) >>> 0;
  const mask = Number(bits) === 0 ? 0 : (~0 << (32 - Number(bits))) >>> 0;
  return (n(ip) & mask) === (n(base) & mask);
}

function peerMatches(peer: any, ep: Endpoint, policyNamespace: string): boolean {
  if (peer.ipBlock) return inCidr(ep.ip, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((c: string) => inCidr(ep.ip, c));
  if (!ep.namespace) return false; // not a pod: only ipBlocks can match it
  const nsOk = peer.namespaceSelector ? matchesSelector(peer.namespaceSelector, nsLabels(ep.namespace)) : ep.namespace === policyNamespace;
  const podOk = peer.podSelector ? matchesSelector(peer.podSelector, ep.labels) : true;
  return nsOk && podOk;
}

const portMatches = (ports: any[] | undefined, proto: string, port: number) =>
  !ports?.length || ports.some((p) => (p.protocol ?? 'TCP') === proto && (p.port === undefined || p.port === port) && (p.endPort === undefined ? true : port <= p.endPort));

function allowedBy(policies: Manifest[], direction: 'Ingress' | 'Egress', self: Endpoint, peer: Endpoint, proto: string, port: number): boolean {
  if (!self.namespace) return true;
  const selecting = policies.filter((p) => p.metadata.namespace === self.namespace && (p.spec.policyTypes ?? ['Ingress']).includes(direction) && matchesSelector(p.spec.podSelector, self.labels));
  if (selecting.length === 0) return true; // not isolated in this direction
  const key = direction === 'Ingress' ? 'ingress' : 'egress';
  const peers = direction === 'Ingress' ? 'from' : 'to';
  return selecting.some((p) => (p.spec[key] ?? []).some((rule: any) => (!rule[peers]?.length || rule[peers].some((x: any) => peerMatches(x, peer, p.metadata.namespace!))) && portMatches(rule.ports, proto, port)));
}

const policies = out.all.filter((o) => o.kind === 'NetworkPolicy');
const allowed = (src: Endpoint, dst: Endpoint, proto: string, port: number) =>
  allowedBy(policies, 'Egress', src, dst, proto, port) && allowedBy(policies, 'Ingress', dst, src, proto, port);

/**
 * Every allowed connection our policies govern: out of a namespace that isolates egress, or into
 * one that isolates ingress (the kafka namespace isolates only ingress).
 */
function allowedFlows(): string[] {
  const isolating = (type: string) => new Set(policies.filter((p) => (p.spec.policyTypes ?? ['Ingress']).includes(type)).map((p) => p.metadata.namespace));
  const egress = isolating('Egress'), ingress = isolating('Ingress');
  const flows: string[] = [];
  for (const src of ENDPOINTS) for (const dst of ENDPOINTS) {
    if (src === dst || !(egress.has(src.namespace) || ingress.has(dst.namespace))) continue;
    for (const [proto, port] of PORTS) if (allowed(src, dst, proto, port)) flows.push(`${src.name} -> ${dst.name} ${proto}/${port}`);
  }
  return flows.sort();
}

describe('NetworkPolicies', () => {
  it('cover the six speed-layer workloads', () => {
    expect(speedPods.map((p) => p.name).sort()).toEqual([...SPEED].sort());
  });

  it('allow exactly the designed flows, nothing more, nothing less', () => {
    const expected = EXPECTED.map(([from, to, proto, port]) => `${from} -> ${to} ${proto}/${port}`).sort();
    expect(allowedFlows()).toEqual(expected);
  });

  it('deny everything by default in both namespaces of ours, and every incoming connection in kafka', () => {
    for (const ns of ['speed-layer', 'batch-layer']) {
      const deny = policies.find((p) => p.metadata.namespace === ns && p.metadata.name === 'default-deny')!;
      expect(deny.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    }
    const kafka = policies.filter((p) => p.metadata.namespace === 'kafka');
    expect(kafka.find((p) => p.metadata.name === 'default-deny-ingress')!.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress'] });
    // No egress policy there: one would isolate the selected pods' egress (Strimzi's operator needs the API server).
    expect(kafka.filter((p) => p.spec.policyTypes?.includes('Egress'))).toEqual([]);
  });

  it("the Kafka listener's networkPolicyPeers (the policy Strimzi generates) admit the same clients as ours", () => {
    const cluster = out.all.find((o) => o.kind === 'Kafka')!;
    const peers = cluster.spec.kafka.listeners.find((l: any) => l.port === 9092).networkPolicyPeers;
    const listenerPolicy: Manifest = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'strimzi-generated', namespace: 'kafka' }, spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: peers, ports: [{ port: 9092, protocol: 'TCP' }] }] } } as Manifest;
    const broker = ENDPOINTS.find((e) => e.name === 'kafka-broker')!;
    const admitted = ENDPOINTS.filter((e) => e !== broker && allowedBy([listenerPolicy], 'Ingress', broker, e, 'TCP', 9092)).map((e) => e.name);
    expect(admitted.sort()).toEqual(['ingest', 'kafka-source-dispatcher']);
  });

  it('the evaluator is not a no-op: without the policies everything would flow', () => {
    const none: Manifest[] = [];
    const ingest = ENDPOINTS.find((e) => e.name === 'ingest')!;
    const stray = ENDPOINTS.find((e) => e.name === 'stray-pod')!;
    expect(allowedBy(none, 'Ingress', ingest, stray, 'TCP', 8012)).toBe(true);
    expect(allowed(stray, ingest, 'TCP', 8012)).toBe(false);
  });
});
