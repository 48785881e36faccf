/**
 * Monitoring, wired from the files the observability work owns:
 * - a PodMonitor for the functions (job = the function's name, as monitoring/alerts.yml expects)
 *   and a ServiceMonitor for ClickHouse's own /metrics;
 * - a PrometheusRule built from the groups of monitoring/alerts.yml;
 * - one ConfigMap per monitoring/dashboards/*.json, labelled for Grafana's dashboard sidecar.
 * Whatever is in the folder when `npm run synth` runs is what gets deployed; a missing file
 * means no rules or no dashboards, not an error.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Chart, Yaml, type ChartProps } from 'cdk8s';
import type { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-32';
import type { IPrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { CLICKHOUSE, NAMESPACES, ValuesError, type Values } from './values.js';
import { PART_OF, labels } from './lib/labels.js';
import { podMonitor, prometheusRule, serviceMonitor } from './lib/crds.js';

export type RuleGroups = IPrometheusRule['spec']['groups'];

/** The `groups` of a Prometheus rules file; [] when the file does not exist. */
export function readRuleGroups(file: string): NonNullable<RuleGroups> {
  if (!existsSync(file)) return [];
  const docs = Yaml.load(file) as unknown[];
  const doc = docs[0] as { groups?: unknown } | undefined;
  if (doc === undefined) return [];
  if (!Array.isArray(doc.groups)) {
    throw new ValuesError(`${file}: a Prometheus rules file needs a top-level "groups:" list (got ${JSON.stringify(Object.keys(doc))}); see https://prometheus.io/docs/prometheus/latest/configuration/recording_rules/`);
  }
  return doc.groups as NonNullable<RuleGroups>;
}

/** Grafana dashboards: file name -> JSON text, sorted; {} when the folder does not exist. */
export function readDashboards(dir: string): Record<string, string> {
  if (!existsSync(dir)) return {};
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
    const text = readFileSync(join(dir, f), 'utf8');
    try {
      JSON.parse(text);
    } catch (e) {
      throw new ValuesError(`${join(dir, f)}: not valid JSON (${(e as Error).message}); Grafana would skip it`);
    }
    out[f] = text;
  }
  return out;
}

/** A ConfigMap name for a dashboard file: DNS-1123, at most 63 characters. */
export const dashboardConfigMapName = (file: string) =>
  `grafana-dashboard-${basename(file, '.json').toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '')}`.slice(0, 63);

export interface MonitoringChartProps extends ChartProps {
  readonly values: Values;
  /** The folder holding alerts.yml and dashboards/ (default: monitoring/). */
  readonly monitoringDir: string;
}

export class MonitoringChart extends Chart {
  constructor(scope: Construct, id: string, props: MonitoringChartProps) {
    super(scope, id, props);
    const ns = NAMESPACES.speed;
    const l = labels('speed-layer-monitoring', 'monitoring');

    podMonitor(this, 'functions', { name: 'speed-layer-functions', namespace: ns, labels: l }, {
      selector: { matchLabels: { 'app.kubernetes.io/part-of': PART_OF, 'app.kubernetes.io/component': 'function' } },
      // The alerts aggregate `by (job)`: job = ingest, analytics, sessionizer.
      jobLabel: 'app.kubernetes.io/name',
      podMetricsEndpoints: [{ port: 'user-port', path: '/metrics', interval: '15s', scrapeTimeout: '10s' }],
    });
    serviceMonitor(this, 'clickhouse', { name: 'clickhouse', namespace: ns, labels: l }, {
      selector: { matchLabels: { 'app.kubernetes.io/name': CLICKHOUSE.service, 'speed-layer.dev/scrape': 'true' } },
      endpoints: [{ port: 'metrics', path: '/metrics', interval: '30s' }],
    });

    prometheusRule(this, 'alerts', { name: 'speed-layer-alerts', namespace: ns, labels: l }, {
      groups: readRuleGroups(join(props.monitoringDir, 'alerts.yml')),
    });

    for (const [file, json] of Object.entries(readDashboards(join(props.monitoringDir, 'dashboards')))) {
      new k8s.KubeConfigMap(this, `dashboard-${file}`, {
        metadata: {
          name: dashboardConfigMapName(file),
          namespace: ns,
          // kube-prometheus-stack's Grafana sidecar loads ConfigMaps with this label (kind/up.sh
          // lets it search every namespace).
          labels: { ...l, grafana_dashboard: '1' },
        },
        data: { [file]: json },
      });
    }
  }
}
