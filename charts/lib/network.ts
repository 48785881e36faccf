/**
 * NetworkPolicies from intent: a namespace denies everything, then each designed flow
 * (from, to, ports) becomes an ingress rule on the destination and an egress rule on the source,
 * whichever of the two lives in the namespace.
 */
import type { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-32';

export type Peer =
  /** Pods of the policies' own namespace (`{}` selects them all). */
  | { readonly kind: 'pods'; readonly name: string; readonly labels: Readonly<Record<string, string>> }
  /** Pods of another namespace (`labels` omitted: the whole namespace). */
  | { readonly kind: 'namespace'; readonly name: string; readonly namespace: string; readonly labels?: Readonly<Record<string, string>> }
  /** Addresses outside the cluster's pod network (the host through a NodePort). */
  | { readonly kind: 'cidr'; readonly name: string; readonly cidr: string };

export interface Port {
  readonly port: number;
  readonly protocol: 'TCP' | 'UDP';
}

export interface Flow {
  readonly from: Peer;
  readonly to: Peer;
  readonly ports: readonly Port[];
  /** Why the design needs it (written into the policy as an annotation). */
  readonly why: string;
}

const tcp = (...ports: number[]): Port[] => ports.map((port) => ({ port, protocol: 'TCP' as const }));
const udpTcp = (port: number): Port[] => [{ port, protocol: 'UDP' }, { port, protocol: 'TCP' }];
export const ports = { tcp, udpTcp };

export function toPeer(p: Peer): k8s.NetworkPolicyPeer {
  switch (p.kind) {
    case 'pods':
      return { podSelector: { matchLabels: { ...p.labels } } };
    case 'namespace':
      return {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': p.namespace } },
        ...(p.labels ? { podSelector: { matchLabels: { ...p.labels } } } : {}),
      };
    case 'cidr':
      return { ipBlock: { cidr: p.cidr } };
  }
}

const toPorts = (ps: readonly Port[]): k8s.NetworkPolicyPort[] =>
  ps.map((p) => ({ port: k8s.IntOrString.fromNumber(p.port), protocol: p.protocol }));

/**
 * Writes `default-deny` and one policy per in-namespace peer that appears in `flows`:
 * `<name>-ingress` for destinations, `<name>-egress` for sources. With `isolate: ['Ingress']`
 * only incoming traffic is denied by default (`default-deny-ingress`) and no egress policy is
 * written, since one would isolate its pods' egress.
 */
export function networkPolicies(
  scope: Construct, namespace: string, flows: readonly Flow[], labels: Record<string, string>,
  opts: { isolate: readonly ('Ingress' | 'Egress')[] } = { isolate: ['Ingress', 'Egress'] },
): void {
  const egress = opts.isolate.includes('Egress');
  new k8s.KubeNetworkPolicy(scope, `${namespace}-default-deny`, {
    metadata: {
      name: egress ? 'default-deny' : 'default-deny-ingress', namespace, labels,
      annotations: { 'speed-layer.dev/why': egress ? 'nothing flows unless a policy below allows it' : 'nothing comes in unless a policy below allows it' },
    },
    spec: { podSelector: {}, policyTypes: [...opts.isolate] },
  });

  const byDestination = new Map<string, { peer: Peer; flows: Flow[] }>();
  const bySource = new Map<string, { peer: Peer; flows: Flow[] }>();
  for (const f of flows) {
    if (f.to.kind === 'pods') {
      const e = byDestination.get(f.to.name) ?? { peer: f.to, flows: [] };
      e.flows.push(f);
      byDestination.set(f.to.name, e);
    }
    if (f.from.kind === 'pods') {
      const e = bySource.get(f.from.name) ?? { peer: f.from, flows: [] };
      e.flows.push(f);
      bySource.set(f.from.name, e);
    }
  }

  for (const [name, { peer, flows: fs }] of byDestination) {
    if (peer.kind !== 'pods') continue;
    new k8s.KubeNetworkPolicy(scope, `${namespace}-${name}-ingress`, {
      metadata: {
        name: `${name}-ingress`,
        namespace,
        labels,
        annotations: { 'speed-layer.dev/why': fs.map((f) => `${f.from.name}: ${f.why}`).join('; ') },
      },
      spec: {
        podSelector: { matchLabels: { ...peer.labels } },
        policyTypes: ['Ingress'],
        ingress: fs.map((f) => ({ from: [toPeer(f.from)], ports: toPorts(f.ports) })),
      },
    });
  }
  for (const [name, { peer, flows: fs }] of bySource) {
    if (peer.kind !== 'pods' || !egress) continue;
    new k8s.KubeNetworkPolicy(scope, `${namespace}-${name}-egress`, {
      metadata: {
        name: `${name}-egress`,
        namespace,
        labels,
        annotations: { 'speed-layer.dev/why': fs.map((f) => `${f.to.name}: ${f.why}`).join('; ') },
      },
      spec: {
        podSelector: { matchLabels: { ...peer.labels } },
        policyTypes: ['Egress'],
        egress: fs.map((f) => ({ to: [toPeer(f.to)], ports: toPorts(f.ports) })),
      },
    });
  }
}
