/**
 * Monitoring is wired from whatever monitoring/ holds when the charts are built: one
 * PrometheusRule with the groups of alerts.yml, one labelled ConfigMap per dashboard, and
 * scraping that sets `job` to the function's name (what the alert expressions aggregate by).
 */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Yaml } from 'cdk8s';
import { ValuesError } from '../../charts/values.js';
import { dashboardConfigMapName, readDashboards, readRuleGroups } from '../../charts/monitoring.js';
import { find, FIXTURES, real, ROOT, synth } from './synth.js';

const out = real();
const dir = `${ROOT}monitoring`;

describe('monitoring wiring (the repository\'s monitoring/ folder as it is now)', () => {
  it('the PrometheusRule carries the groups of monitoring/alerts.yml', () => {
    const rule = find(out.all, 'PrometheusRule', 'speed-layer-alerts', 'speed-layer');
    const file = join(dir, 'alerts.yml');
    const expected = existsSync(file) ? ((Yaml.load(file)[0] as { groups?: unknown[] })?.groups ?? []) : [];
    expect(rule.spec.groups).toEqual(expected);
  });

  it('one ConfigMap per dashboard, labelled for Grafana\'s sidecar, holding the file as it is', () => {
    const files = existsSync(join(dir, 'dashboards')) ? readdirSync(join(dir, 'dashboards')).filter((f) => f.endsWith('.json')).sort() : [];
    const maps = out.all.filter((o) => o.kind === 'ConfigMap' && o.metadata.labels?.grafana_dashboard === '1');
    expect(maps.map((m) => Object.keys(m.data)[0]).sort()).toEqual(files);
    for (const f of files) {
      const m = find(out.all, 'ConfigMap', dashboardConfigMapName(f), 'speed-layer');
      expect(m.data[f]).toBe(readFileSync(join(dir, 'dashboards', f), 'utf8'));
    }
  });

  it('scrapes the functions with job = the function name, and ClickHouse through its Service', () => {
    const pm = find(out.all, 'PodMonitor', 'speed-layer-functions', 'speed-layer');
    expect(pm.spec.jobLabel).toBe('app.kubernetes.io/name');
    expect(pm.spec.podMetricsEndpoints).toEqual([expect.objectContaining({ port: 'user-port', path: '/metrics' })]);
    const fnPods = out.all.filter((o) => o.apiVersion === 'serving.knative.dev/v1').map((s) => s.spec.template.metadata.labels);
    expect(fnPods).toHaveLength(3);
    for (const labels of fnPods) for (const [k, v] of Object.entries(pm.spec.selector.matchLabels)) expect(labels[k]).toBe(v);
    const sm = find(out.all, 'ServiceMonitor', 'clickhouse', 'speed-layer');
    const scraped = out.all.filter((o) => o.kind === 'Service' && o.apiVersion === 'v1' && Object.entries(sm.spec.selector.matchLabels).every(([k, v]) => o.metadata.labels?.[k] === v));
    expect(scraped.map((s) => s.metadata.name)).toEqual(['clickhouse']);
    expect(scraped[0]!.spec.ports.map((p: any) => p.name)).toContain(sm.spec.endpoints[0].port);
  });
});

describe('monitoring inputs that are missing or odd', () => {
  it('no folder: no rule groups and no dashboards, and the charts still build', () => {
    const empty = mkdtempSync(join(tmpdir(), 'no-monitoring-'));
    expect(readRuleGroups(join(empty, 'alerts.yml'))).toEqual([]);
    expect(readDashboards(join(empty, 'dashboards'))).toEqual({});
    const built = synth({ monitoringDir: empty, sqlDir: `${FIXTURES}sql` });
    expect(find(built.all, 'PrometheusRule', 'speed-layer-alerts').spec.groups).toEqual([]);
    expect(built.all.filter((o) => o.metadata.labels?.grafana_dashboard === '1')).toEqual([]);
  });

  it('a rules file without groups, or a dashboard that is not JSON, stops the build with the file named', () => {
    const d = mkdtempSync(join(tmpdir(), 'odd-monitoring-'));
    writeFileSync(join(d, 'alerts.yml'), 'rules:\n  - alert: X\n');
    expect(() => readRuleGroups(join(d, 'alerts.yml'))).toThrow(ValuesError);
    expect(() => readRuleGroups(join(d, 'alerts.yml'))).toThrow(/alerts\.yml: a Prometheus rules file needs a top-level "groups:" list/);
    writeFileSync(join(d, 'broken.json'), '{ "title": ');
    expect(() => readDashboards(d)).toThrow(/broken\.json: not valid JSON/);
  });

  it('dashboard ConfigMap names are valid DNS labels', () => {
    expect(dashboardConfigMapName('Speed Layer_Operations.json')).toBe('grafana-dashboard-speed-layer-operations');
    expect(dashboardConfigMapName(`${'x'.repeat(80)}.json`)).toHaveLength(63);
  });
});
