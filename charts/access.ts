/**
 * Identities and rights. Each workload has its own ServiceAccount with no token mounted and no
 * binding: the functions, ClickHouse and PostgreSQL never call the Kubernetes API. The one Role
 * is for people operating the speed layer: read what runs, read logs, roll a Knative Service;
 * no Secrets, no writes to anything else.
 */
import { Chart, type ChartProps } from 'cdk8s';
import type { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-32';
import { NAMESPACES, type Values } from './values.js';
import { labels } from './lib/labels.js';

export const SERVICE_ACCOUNTS = {
  ingest: 'ingest',
  analytics: 'analytics',
  'sessionizer': 'sessionizer',
  clickhouse: 'clickhouse',
  clickhouseAdmin: 'clickhouse-admin',
  postgres: 'postgres',
} as const;

/** The group the operator Role is bound to (map your users or CI identity to it). */
export const OPERATORS_GROUP = 'speed-layer:operators';

export interface AccessChartProps extends ChartProps {
  readonly values: Values;
}

export class AccessChart extends Chart {
  constructor(scope: Construct, id: string, props: AccessChartProps) {
    super(scope, id, props);
    const ns = NAMESPACES.speed;
    for (const [key, name] of Object.entries(SERVICE_ACCOUNTS)) {
      const component = key in props.values.functions ? 'function' : key === 'clickhouseAdmin' ? 'database-admin' : 'database';
      new k8s.KubeServiceAccount(this, `sa-${name}`, {
        metadata: { name, namespace: ns, labels: labels(name, component) },
        automountServiceAccountToken: false,
      });
    }

    const l = labels('speed-layer-operator', 'platform');
    new k8s.KubeRole(this, 'operator', {
      metadata: { name: 'speed-layer-operator', namespace: ns, labels: l },
      rules: [
        { apiGroups: [''], resources: ['pods', 'pods/log', 'services', 'configmaps', 'events', 'persistentvolumeclaims'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['apps', 'batch'], resources: ['statefulsets', 'jobs', 'cronjobs'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['serving.knative.dev'], resources: ['services', 'revisions', 'routes', 'configurations'], verbs: ['get', 'list', 'watch'] },
        // Rolling a function (a new revision) is the one write an operator needs day to day.
        { apiGroups: ['serving.knative.dev'], resources: ['services'], verbs: ['patch'] },
        { apiGroups: ['sources.knative.dev'], resources: ['kafkasources', 'pingsources'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['monitoring.coreos.com'], resources: ['podmonitors', 'servicemonitors', 'prometheusrules'], verbs: ['get', 'list', 'watch'] },
      ],
    });
    new k8s.KubeRoleBinding(this, 'operator-binding', {
      metadata: { name: 'speed-layer-operator', namespace: ns, labels: l },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'speed-layer-operator' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: OPERATORS_GROUP }],
    });
  }
}
