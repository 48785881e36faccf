/**
 * Builds every chart of the speed layer into an App, one chart per concern. The chart ids are
 * the file names `cdk8s synth` writes (dist/<id>.k8s.yaml); their numeric prefixes are the order
 * `kubectl apply -f dist/` applies them in (namespaces and priority classes first).
 */
import type { App, Chart } from 'cdk8s';
import { values as defaultValues, type Values } from './values.js';
import { ClusterChart } from './cluster.js';
import { AccessChart } from './access.js';
import { NetworkPoliciesChart } from './network-policies.js';
import { ClickHouseChart } from './clickhouse.js';
import { PostgresChart } from './postgres.js';
import { KafkaChart } from './kafka.js';
import { FunctionsChart } from './functions.js';
import { EventingChart } from './eventing.js';
import { MonitoringChart } from './monitoring.js';

export interface SpeedLayerProps {
  /** Derived values (default: charts/values.ts's defaults). */
  readonly values?: Values;
  /** Where monitoring/alerts.yml and monitoring/dashboards/ are read from (default: monitoring). */
  readonly monitoringDir?: string;
  /** Where the ClickHouse schema (*.sql) is read from (default: sql). */
  readonly sqlDir?: string;
}

export function buildSpeedLayer(app: App, props: SpeedLayerProps = {}): Chart[] {
  const values = props.values ?? defaultValues;
  // No chart-level namespace: every object names its own (cluster-scoped ones have none).
  return [
    new ClusterChart(app, '00-cluster', { values }),
    new AccessChart(app, '10-access', { values }),
    new NetworkPoliciesChart(app, '20-network-policies', { values }),
    new ClickHouseChart(app, '30-clickhouse', { values, sqlDir: props.sqlDir ?? 'sql' }),
    new PostgresChart(app, '31-postgres', { values }),
    new KafkaChart(app, '32-kafka', { values }),
    new FunctionsChart(app, '40-functions', { values }),
    new EventingChart(app, '50-eventing', { values }),
    new MonitoringChart(app, '60-monitoring', { values, monitoringDir: props.monitoringDir ?? 'monitoring' }),
  ];
}
