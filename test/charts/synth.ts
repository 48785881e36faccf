/** Builds the charts the way `npm run synth` does, without writing files, for the tests. */
import { fileURLToPath } from 'node:url';
import { Testing } from 'cdk8s';
import { buildSpeedLayer, type SpeedLayerProps } from '../../charts/app.js';

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: any;
}

export interface Synthesized {
  /** Every object, in chart order. */
  readonly all: Manifest[];
  /** The objects of each chart, by chart id (the dist/ file name). */
  readonly byChart: Record<string, Manifest[]>;
}

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

export function synth(props: SpeedLayerProps = {}): Synthesized {
  const app = Testing.app();
  const charts = buildSpeedLayer(app, {
    monitoringDir: `${ROOT}monitoring`,
    sqlDir: `${ROOT}sql`,
    ...props,
  });
  const byChart: Record<string, Manifest[]> = {};
  for (const c of charts) byChart[c.node.id] = Testing.synth(c) as Manifest[];
  return { all: Object.values(byChart).flat(), byChart };
}

/** The real output (the repository's monitoring/ and sql/ folders, as `npm run synth` reads them). */
export const real = () => synth();

/** The output built from test/charts/fixtures: stable, for the snapshot. */
export const fromFixtures = () => synth({ monitoringDir: `${FIXTURES}monitoring`, sqlDir: `${FIXTURES}sql` });

export const find = (all: Manifest[], kind: string, name: string, namespace?: string): Manifest => {
  const m = all.find((o) => o.kind === kind && o.metadata.name === name && (namespace === undefined || o.metadata.namespace === namespace));
  if (!m) throw new Error(`no ${kind} ${namespace ?? '*'}/${name} in the output`);
  return m;
};

/** Every pod template in the output: workloads, jobs, cron jobs and Knative Services. */
export function podTemplates(all: Manifest[]): { owner: string; namespace: string; labels: Record<string, string>; spec: any }[] {
  const out: { owner: string; namespace: string; labels: Record<string, string>; spec: any }[] = [];
  for (const o of all) {
    const owner = `${o.kind}/${o.metadata.name}`;
    const ns = o.metadata.namespace ?? '';
    if (['StatefulSet', 'Deployment', 'DaemonSet', 'ReplicaSet', 'Job'].includes(o.kind)) out.push({ owner, namespace: ns, labels: o.spec.template.metadata?.labels ?? {}, spec: o.spec.template.spec });
    else if (o.kind === 'CronJob') out.push({ owner, namespace: ns, labels: o.spec.jobTemplate.spec.template.metadata?.labels ?? {}, spec: o.spec.jobTemplate.spec.template.spec });
    else if (o.kind === 'Pod') out.push({ owner, namespace: ns, labels: o.metadata.labels ?? {}, spec: o.spec });
    else if (o.apiVersion === 'serving.knative.dev/v1' && o.kind === 'Service') out.push({ owner: `ksvc/${o.metadata.name}`, namespace: ns, labels: o.spec.template.metadata?.labels ?? {}, spec: o.spec.template.spec });
  }
  return out;
}

/** "7Gi", "288Mi", "512M"... in MiB. */
export function mib(q: string | number): number {
  if (typeof q === 'number') return q / 2 ** 20;
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|K|M|G)?$/.exec(q);
  if (!m) throw new Error(`not a memory quantity: ${q}`);
  const n = Number(m[1]);
  const unit = { Ki: 1 / 1024, Mi: 1, Gi: 1024, Ti: 1024 ** 2, K: 1000 / 2 ** 20, M: 1e6 / 2 ** 20, G: 1e9 / 2 ** 20 }[m[2] ?? ''] ?? 1 / 2 ** 20;
  return n * unit;
}
