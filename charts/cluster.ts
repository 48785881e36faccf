/**
 * The pool: namespaces, priority classes, quotas and limit ranges, and the storage class.
 *
 * How the 7 GiB pool is enforced:
 * - The batch layer's quota is the pool minus the speed layer's guarantee (4.5 GiB), so 2.5 GiB
 *   of the pool is always left for the speed layer: its guarantee.
 * - The speed layer's quota admits the whole pool (7 GiB of requests and limits). It grows past
 *   its guarantee by scaling out at a higher priority than the batch layer, whose pods the
 *   scheduler then preempts when the nodes are full: "may grow to 7 GiB while the batch layer is
 *   idle" (or is pushed aside). values.ts checks that max-scale x pod limit (plus a rollout's new
 *   pods) fits the 7 GiB, and that the design load fits the 2.5 GiB without preempting anyone.
 * - ClickHouse, PostgreSQL and Kafka are the data tier: their own priority class and quota,
 *   outside the compute pool (the seed gives ClickHouse its own 7 GB and Kafka its own 2 GB).
 * - A pod without one of the namespace's priority classes is refused (quota `pods: 0`), so
 *   nothing runs outside the accounting.
 */
import { Chart, type ChartProps } from 'cdk8s';
import type { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-32';
import { NAMESPACES, PRIORITY, type Values } from './values.js';
import { labels } from './lib/labels.js';
import { gi, mi, milli } from './lib/security.js';

export const STORAGE_CLASS = 'speed-layer-local';

export interface ClusterChartProps extends ChartProps {
  readonly values: Values;
}

export class ClusterChart extends Chart {
  constructor(scope: Construct, id: string, props: ClusterChartProps) {
    super(scope, id, props);
    const v = props.values;
    const l = labels('speed-layer', 'platform');

    const restricted = {
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/enforce-version': 'latest',
      'pod-security.kubernetes.io/audit': 'restricted',
      'pod-security.kubernetes.io/warn': 'restricted',
    };
    new k8s.KubeNamespace(this, 'speed', { metadata: { name: NAMESPACES.speed, labels: { ...l, ...restricted } } });
    new k8s.KubeNamespace(this, 'batch', { metadata: { name: NAMESPACES.batch, labels: { ...l, ...restricted } } });
    // Strimzi's operands run "restricted" (kind/up.sh sets the operator's restricted pod security
    // provider); the operator's own Deployment comes from its release manifest, so the namespace
    // enforces "baseline" and only warns/audits "restricted".
    new k8s.KubeNamespace(this, 'kafka', {
      metadata: {
        name: NAMESPACES.kafka,
        labels: {
          ...l,
          'pod-security.kubernetes.io/enforce': 'baseline',
          'pod-security.kubernetes.io/audit': 'restricted',
          'pod-security.kubernetes.io/warn': 'restricted',
        },
      },
    });

    new k8s.KubePriorityClass(this, 'priority-speed', {
      metadata: { name: PRIORITY.speed.name, labels: l },
      value: PRIORITY.speed.value,
      globalDefault: false,
      preemptionPolicy: 'PreemptLowerPriority',
      description: 'Speed-layer functions (HIGH): preempt the batch layer when the 7 GiB pool is full.',
    });
    new k8s.KubePriorityClass(this, 'priority-batch', {
      metadata: { name: PRIORITY.batch.name, labels: l },
      value: PRIORITY.batch.value,
      globalDefault: false,
      // Preemptible by the speed layer, and never preempts anyone itself.
      preemptionPolicy: 'Never',
      description: 'Batch layer (NORMAL): preemptible; uses what the speed layer leaves of the pool.',
    });
    new k8s.KubePriorityClass(this, 'priority-data', {
      metadata: { name: PRIORITY.data.name, labels: l },
      value: PRIORITY.data.value,
      globalDefault: false,
      preemptionPolicy: 'PreemptLowerPriority',
      description: 'Data tier (ClickHouse, PostgreSQL, Kafka): outside the compute pool, never preempted by either layer.',
    });

    new k8s.KubeStorageClass(this, 'storage', {
      metadata: { name: STORAGE_CLASS, labels: l },
      // kind ships rancher's local-path-provisioner; it serves any class with this provisioner.
      provisioner: 'rancher.io/local-path',
      // Keep ClickHouse's and Kafka's data when a claim is deleted by mistake.
      reclaimPolicy: 'Retain',
      // Bind where the pod lands: a local path only exists on one node.
      volumeBindingMode: 'WaitForFirstConsumer',
      allowVolumeExpansion: false,
    });

    // --- Speed layer: the compute pool. ---------------------------------------------------------
    const ns = NAMESPACES.speed;
    new k8s.KubeResourceQuota(this, 'speed-pool', {
      metadata: {
        name: 'speed-layer-pool',
        namespace: ns,
        labels: l,
        annotations: {
          'speed-layer.dev/why':
            `speed-layer functions may use the whole ${v.pool.totalMiB} MiB pool; ${v.pool.speedGuaranteedMiB} MiB of it is guaranteed ` +
            `because the batch layer's quota stops at ${v.pool.batchMiB} MiB; max-scale x limit + rollout surge = ${v.pool.speedCeilingMiB} MiB`,
        },
      },
      spec: {
        hard: {
          'requests.memory': mi(v.pool.totalMiB),
          'limits.memory': mi(v.pool.totalMiB),
          pods: k8s.Quantity.fromNumber(v.pool.speedMaxPods),
        },
        scopeSelector: { matchExpressions: [{ scopeName: 'PriorityClass', operator: 'In', values: [PRIORITY.speed.name] }] },
      },
    });
    const d = dataTier(v);
    new k8s.KubeResourceQuota(this, 'speed-data', {
      metadata: {
        name: 'data-tier',
        namespace: ns,
        labels: l,
        annotations: { 'speed-layer.dev/why': 'ClickHouse, PostgreSQL and their admin jobs: outside the compute pool, bounded on their own' },
      },
      spec: {
        hard: {
          'requests.memory': mi(d.memoryMiB),
          'limits.memory': mi(d.memoryMiB),
          'requests.storage': gi(d.storageGi),
          persistentvolumeclaims: k8s.Quantity.fromNumber(d.claims),
        },
        scopeSelector: { matchExpressions: [{ scopeName: 'PriorityClass', operator: 'In', values: [PRIORITY.data.name] }] },
      },
    });
    new k8s.KubeResourceQuota(this, 'speed-unclassified', {
      metadata: {
        name: 'no-unaccounted-pods',
        namespace: ns,
        labels: l,
        annotations: { 'speed-layer.dev/why': 'every pod must carry a priority class that one of the quotas above accounts for' },
      },
      spec: {
        hard: { pods: k8s.Quantity.fromNumber(0) },
        scopeSelector: { matchExpressions: [{ scopeName: 'PriorityClass', operator: 'NotIn', values: [PRIORITY.speed.name, PRIORITY.data.name] }] },
      },
    });
    // Defaults for containers nobody sized (an injected sidecar): quotas on memory need them.
    new k8s.KubeLimitRange(this, 'speed-limits', {
      metadata: { name: 'container-defaults', namespace: ns, labels: l },
      spec: {
        limits: [
          {
            type: 'Container',
            defaultRequest: { memory: mi(64), cpu: milli(50) },
            default: { memory: mi(128), cpu: milli(500) },
            max: { memory: mi(v.inputs.clickhouse.memoryLimitMiB), cpu: milli(v.inputs.clickhouse.cpu * 1000) },
          },
        ],
      },
    });

    // --- Batch layer: what the speed layer's guarantee leaves, preemptible. ---------------------
    new k8s.KubeResourceQuota(this, 'batch-pool', {
      metadata: {
        name: 'batch-layer-pool',
        namespace: NAMESPACES.batch,
        labels: l,
        annotations: { 'speed-layer.dev/why': `pool ${v.pool.totalMiB} MiB - speed-layer guarantee ${v.pool.speedGuaranteedMiB} MiB` },
      },
      spec: {
        hard: { 'requests.memory': mi(v.pool.batchMiB), 'limits.memory': mi(v.pool.batchMiB) },
        scopeSelector: { matchExpressions: [{ scopeName: 'PriorityClass', operator: 'In', values: [PRIORITY.batch.name] }] },
      },
    });
    new k8s.KubeResourceQuota(this, 'batch-unclassified', {
      metadata: { name: 'no-unaccounted-pods', namespace: NAMESPACES.batch, labels: l },
      spec: {
        hard: { pods: k8s.Quantity.fromNumber(0) },
        scopeSelector: { matchExpressions: [{ scopeName: 'PriorityClass', operator: 'NotIn', values: [PRIORITY.batch.name] }] },
      },
    });
    new k8s.KubeLimitRange(this, 'batch-limits', {
      metadata: { name: 'container-defaults', namespace: NAMESPACES.batch, labels: l },
      spec: {
        limits: [
          {
            type: 'Container',
            defaultRequest: { memory: mi(256), cpu: milli(100) },
            default: { memory: mi(512), cpu: milli(1000) },
            max: { memory: mi(v.pool.batchMiB) },
          },
        ],
      },
    });
  }
}

/** What the data tier in the speed-layer namespace may hold (ClickHouse, PostgreSQL, admin jobs). */
export function dataTier(v: Values) {
  const admin = 256; // the schema job or the backup job: clickhouse-client only
  return {
    memoryMiB: v.inputs.clickhouse.memoryLimitMiB + v.inputs.postgres.memory.limitMiB + 2 * admin,
    storageGi: v.inputs.clickhouse.dataVolumeGi + v.inputs.clickhouse.backupVolumeGi + v.inputs.postgres.volumeGi,
    claims: 3,
    adminMiB: admin,
  };
}
