import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../functions/core/metrics.js';
import { exportedSeriesNames, metricNamesIn, ruleExpressions, unknownMetricNames } from './promql-names.js';

// Alert rules and the operations dashboard must query only series the functions export: a
// renamed metric would otherwise leave an alert that can never fire and a panel that stays empty.

const monitoring = (path: string) => fileURLToPath(new URL(`../../monitoring/${path}`, import.meta.url));

interface PanelLike {
  readonly title?: string;
  readonly panels?: readonly PanelLike[];
  readonly targets?: readonly { readonly expr?: string }[];
}

function dashboardExpressions(file: string): { panel: string; expr: string }[] {
  const dashboard = JSON.parse(readFileSync(monitoring(file), 'utf8')) as { panels: PanelLike[] };
  const flat = (panels: readonly PanelLike[]): PanelLike[] => panels.flatMap((p) => [p, ...flat(p.panels ?? [])]);
  return flat(dashboard.panels).flatMap((p) =>
    (p.targets ?? []).filter((t) => t.expr !== undefined).map((t) => ({ panel: p.title ?? '?', expr: t.expr! })),
  );
}

let exported: Set<string>;

beforeAll(async () => {
  exported = await exportedSeriesNames(createMetrics().registry);
});

describe('the PromQL metric-name tokenizer', () => {
  const cases: { expr: string; names: string[] }[] = [
    { expr: 'up == 0', names: ['up'] },
    { expr: 'up{job=~"ingest|analytics"} == 0', names: ['up'] },
    {
      expr: 'histogram_quantile(0.99, sum by (job, le) (rate(a_seconds_bucket{le="+Inf", x="}"}[$__rate_interval])))',
      names: ['a_seconds_bucket'],
    },
    { expr: 'sum(rate(a_total[5m])) by (instance) / ignoring (x) group_left (tier) b > bool 1e3', names: ['a_total', 'b'] },
    { expr: 'a unless on (job, instance) b offset 5m and c', names: ['a', 'b', 'c'] },
    { expr: 'time() - min(speed_layer_watermark_seconds)', names: ['speed_layer_watermark_seconds'] },
    { expr: 'count by (job) (up{job="${job}"} == 1) # a comment naming not_a_metric', names: ['up'] },
    { expr: 'max_over_time(deriv(g[10m:1m])[1h:]) * 0x1f', names: ['g'] },
  ];
  it.each(cases)('finds $names in $expr', ({ expr, names }) => {
    expect(metricNamesIn(expr).sort()).toEqual([...names].sort());
  });

  it('catches a metric name the code does not export', () => {
    // A typo and an invented metric: the check must be able to fail, or it proves nothing.
    const madeUp = 'sum(rate(speed_layer_events_recieved_total[5m])) / on (job) speed_layer_kafka_lag_seconds > up';
    expect(unknownMetricNames(madeUp, exported).sort()).toEqual(
      ['speed_layer_events_recieved_total', 'speed_layer_kafka_lag_seconds'].sort(),
    );
  });

  it('knows the exported names, including histogram series and default Node metrics', () => {
    for (const name of [
      'up',
      'speed_layer_events_received_total',
      'speed_layer_freshness_seconds_bucket',
      'speed_layer_batch_rows_sum',
      'speed_layer_nodejs_eventloop_lag_p99_seconds',
      'speed_layer_process_resident_memory_bytes',
      'speed_layer_process_start_time_seconds',
    ]) expect(exported, name).toContain(name);
    expect(exported).not.toContain('speed_layer_freshness_seconds_total');
  });
});

describe('alert rules name only exported metrics', () => {
  const text = readFileSync(monitoring('alerts.yml'), 'utf8');
  const exprs = ruleExpressions(text);

  it('reads one expression per rule', () => {
    const rules = text.split('\n').filter((l) => /^\s*- (alert|record):/.test(l)).length;
    expect(rules).toBeGreaterThan(0);
    expect(exprs).toHaveLength(rules);
  });

  it.each(exprs.map((e) => [e.line, e.expr] as const))('alerts.yml line %i', (_line, expr) => {
    expect(metricNamesIn(expr).length, `no metric found in: ${expr}`).toBeGreaterThan(0);
    expect(unknownMetricNames(expr, exported), expr).toEqual([]);
  });
});

describe('the operations dashboard names only exported metrics', () => {
  const exprs = dashboardExpressions('dashboards/operations.json');

  it('has PromQL queries', () => {
    expect(exprs.length).toBeGreaterThan(20);
  });

  it.each(exprs.map((e) => [e.panel, e.expr] as const))('%s: %s', (_panel, expr) => {
    expect(metricNamesIn(expr).length, `no metric found in: ${expr}`).toBeGreaterThan(0);
    expect(unknownMetricNames(expr, exported), expr).toEqual([]);
  });
});
