/**
 * A snapshot of the synthesized output, so every change to a manifest shows in review.
 * Built from test/charts/fixtures (a stand-in monitoring/ and sql/) so it changes with the charts
 * and values, not with the alert rules, dashboards or DDL other work owns. After an intended
 * change: `npx vitest run test/charts -u`, then read the diff of __snapshots__/speed-layer.k8s.yaml.
 *
 * Also: `npm run synth` itself works offline and writes one file per chart.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Yaml } from 'cdk8s';
import { fromFixtures, ROOT } from './synth.js';

describe('synthesized output', () => {
  it('matches the reviewed snapshot', async () => {
    const { byChart } = fromFixtures();
    const text = Object.entries(byChart)
      .map(([chart, objects]) => `# ---- dist/${chart}.k8s.yaml ----\n${Yaml.stringify(...objects)}`)
      .join('');
    await expect(text).toMatchFileSnapshot('./__snapshots__/speed-layer.k8s.yaml');
  });

  it('`cdk8s synth` (npm run synth) writes one file per chart, offline', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'synth-'));
    // The script's own command line, with the output redirected; --no-check-upgrade keeps the
    // CLI from asking the npm registry for a newer version.
    execFileSync(join(ROOT, 'node_modules/.bin/cdk8s'), ['synth', '--no-check-upgrade', '--output', outdir], { cwd: ROOT, stdio: 'pipe', timeout: 120_000 });
    const files = readdirSync(outdir).sort();
    expect(files).toEqual([
      '00-cluster.k8s.yaml',
      '10-access.k8s.yaml',
      '20-network-policies.k8s.yaml',
      '30-clickhouse.k8s.yaml',
      '31-postgres.k8s.yaml',
      '32-kafka.k8s.yaml',
      '40-functions.k8s.yaml',
      '50-eventing.k8s.yaml',
      '60-monitoring.k8s.yaml',
    ]);
    const first = Yaml.load(join(outdir, '00-cluster.k8s.yaml'));
    expect(first.filter((o: any) => o.kind === 'Namespace').map((o: any) => o.metadata.name)).toEqual(['speed-layer', 'batch-layer', 'kafka']);
    expect(readFileSync(join(outdir, '40-functions.k8s.yaml'), 'utf8')).toContain('kind: Service');
  });
});
