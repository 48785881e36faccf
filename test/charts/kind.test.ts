/**
 * What can be checked of kind/ and the Dockerfile without a container engine: the cluster shape,
 * the port mappings against the Services, pinned versions, that kind/up.sh makes the Secrets the
 * charts expect and loads the image they run, its shell syntax, and the image's build rules.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Yaml } from 'cdk8s';
import { CLICKHOUSE, FUNCTION_UID, IMAGES, SECRETS } from '../../charts/values.js';
import { find, real, ROOT } from './synth.js';

const config = Yaml.load(`${ROOT}kind/kind-config.yaml`)[0] as any;
const up = readFileSync(`${ROOT}kind/up.sh`, 'utf8');
const dockerfile = readFileSync(`${ROOT}Dockerfile`, 'utf8');
const out = real();

const upVar = (name: string) => new RegExp(`^${name}=(.+)$`, 'm').exec(up)?.[1];

describe('kind/kind-config.yaml', () => {
  it('has one control plane and two workers, all on the pinned node image', () => {
    expect(config.kind).toBe('Cluster');
    expect(config.nodes.map((n: any) => n.role)).toEqual(['control-plane', 'worker', 'worker']);
    for (const n of config.nodes) expect(n.image).toBe(upVar('NODE_IMAGE'));
    expect(upVar('NODE_IMAGE')).toMatch(/^kindest\/node:v\d+\.\d+\.\d+@sha256:[0-9a-f]{64}$/);
  });

  it('maps the host\'s 8123 and 9000 to ClickHouse\'s NodePorts, and 80 to the ingress', () => {
    const maps = Object.fromEntries(config.nodes[0].extraPortMappings.map((m: any) => [m.hostPort, m.containerPort]));
    const svc = find(out.all, 'Service', 'clickhouse-nodeport', 'speed-layer');
    const nodePort = (name: string) => svc.spec.ports.find((p: any) => p.name === name).nodePort;
    expect(maps[8123]).toBe(nodePort('http'));
    expect(maps[9000]).toBe(nodePort('native'));
    expect(nodePort('http')).toBe(CLICKHOUSE.nodePorts.http);
    expect(maps[80]).toBe(Number(upVar('INGRESS_NODE_PORT')));
  });
});

describe('kind/up.sh', () => {
  it('is valid bash (and clean under shellcheck when it is installed)', () => {
    execFileSync('bash', ['-n', `${ROOT}kind/up.sh`]);
    let shellcheck = false;
    try {
      execFileSync('shellcheck', ['--version'], { stdio: 'ignore' });
      shellcheck = true;
    } catch {
      // not installed here: bash -n is the check
    }
    if (shellcheck) execFileSync('shellcheck', [`${ROOT}kind/up.sh`]);
  });

  it('pins every version, never "latest"', () => {
    for (const v of ['KIND_VERSION', 'KNATIVE_VERSION', 'STRIMZI_VERSION', 'KUBE_PROMETHEUS_STACK_VERSION']) expect(upVar(v), v).toMatch(/^v?\d+\.\d+\.\d+$/);
    expect(up).not.toMatch(/\/latest\b|:latest\b/);
    expect(upVar('KNATIVE_VERSION')).toBe('1.21.0');
  });

  it('installs what the manifests need: Knative Serving/Kourier, Eventing, the Kafka source and sink, Strimzi, the Prometheus operator', () => {
    for (const f of ['serving-crds.yaml', 'serving-core.yaml', 'kourier.yaml', 'eventing-crds.yaml', 'eventing-core.yaml', 'eventing-kafka-controller.yaml', 'eventing-kafka-source.yaml', 'eventing-kafka-sink.yaml', 'strimzi-cluster-operator-']) expect(up).toContain(f);
    expect(up).toContain('kube-prometheus-stack');
    // The Knative features the Services use.
    for (const flag of ['kubernetes.podspec-priorityclassname', 'kubernetes.podspec-volumes-emptydir']) expect(up).toContain(flag);
    // ingest's containerConcurrency is above Knative's default ceiling of 1000: up.sh raises it.
    expect(up).toMatch(/CONTAINER_CONCURRENCY=\$\(value functions\.ingest\.containerConcurrency\)/);
    expect(up).toContain('container-concurrency-max-limit');
    // The KafkaSources' delivery.timeout and retryAfterMax are Eventing features behind flags.
    for (const flag of ['delivery-timeout', 'delivery-retryafter']) expect(up).toContain(`"${flag}":"enabled"`);
  });

  it('makes the Secrets the manifests read, with the keys they read', () => {
    for (const s of [SECRETS.clickhouse, SECRETS.postgres]) {
      expect(up).toContain(`create secret generic ${s.name} -n speed-layer`);
      for (const key of Object.values(s.keys)) expect(up).toContain(`--from-literal=${key}=`);
    }
  });

  it('loads the image the Knative Services run', () => {
    expect(upVar('KNATIVE_IMAGE')).toBe(IMAGES.functions);
    for (const s of out.all.filter((o) => o.apiVersion === 'serving.knative.dev/v1')) expect(s.spec.template.spec.containers[0].image).toBe(IMAGES.functions);
    expect(up).toContain('kind load docker-image "$KNATIVE_IMAGE"');
  });
});

describe('Dockerfile', () => {
  it('is multi-stage, installs production dependencies only, drops chdb, runs as the non-root uid of the charts', () => {
    expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(/rm -rf node_modules\/chdb node_modules\/@chdb/);
    expect(dockerfile).toMatch(new RegExp(`^USER ${FUNCTION_UID}:${FUNCTION_UID}$`, 'm'));
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(runtime).toMatch(/COPY --from=deps \/app\/node_modules/);
    expect(runtime).not.toMatch(/npm (ci|install)(?! --omit=dev)/);
  });

  it('keeps tini as PID 1 (the Services set args, not command)', () => {
    expect(dockerfile).toMatch(/^ENTRYPOINT \["\/usr\/bin\/tini", "--"\]$/m);
    for (const s of out.all.filter((o) => o.apiVersion === 'serving.knative.dev/v1')) {
      const c = s.spec.template.spec.containers[0];
      expect(c.command).toBeUndefined();
      expect(c.args.slice(0, 3)).toEqual(['node', '--import', 'tsx']);
    }
  });
});

describe('docs/deploy.md', () => {
  const doc = readFileSync(`${ROOT}docs/deploy.md`, 'utf8');

  it('shows the derived numbers as charts/values.ts has them (no drift)', async () => {
    const { values: v } = await import('../../charts/values.js');
    for (const f of Object.values(v.functions)) {
      const row = `| ${f.name} | ${f.targetConcurrency} | ${f.containerConcurrency} | ${f.minScale} | ${f.podsAtDesignLoad} | ${f.maxScale} | ${f.requestMiB} / ${f.limitMiB} Mi | ${f.queueProxy.requestMiB} / ${f.queueProxy.limitMiB} Mi | ${f.podRequestMiB} / ${f.podLimitMiB} Mi | ${f.cpu.requestMilli}m / ${f.cpu.limitMilli}m | ${f.maxOldSpaceMiB} Mi |`;
      expect(doc, `the row of ${f.name}`).toContain(row);
    }
    const fmt = (n: number) => n.toLocaleString('en-US');
    expect(doc).toContain(`**${fmt(v.pool.speedRequestsAtDesignMiB)} MiB ≤ ${fmt(v.pool.speedGuaranteedMiB)}**`);
    expect(doc).toContain(`**${fmt(v.pool.speedCeilingMiB)} MiB ≤ ${fmt(v.pool.totalMiB)}**`);
    expect(doc).toContain(`\`PG_POOL_SIZE\` ${v.postgres.poolSize} × ${v.postgres.maxPodsWithPool} ingest pods`);
  });

  it('pins the same versions as kind/up.sh', () => {
    for (const v of ['KIND_VERSION', 'KNATIVE_VERSION', 'STRIMZI_VERSION', 'KUBE_PROMETHEUS_STACK_VERSION']) expect(doc).toContain(upVar(v)!);
  });
});
