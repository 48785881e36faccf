/**
 * Every synthesized object validates against the real schema of its kind:
 * - core Kubernetes kinds, Knative Serving/Eventing core and prometheus-operator through the
 *   OpenAPI schemas compiled into kubernetes-models and its companions;
 * - KafkaSource against the openAPIV3Schema of eventing-kafka-broker's CRD (a copy in
 *   test/fixtures/crds), made strict: the API server's default field validation (Strict, since
 *   kubectl 1.27) refuses unknown fields, so the test does too;
 * - KafkaSink and the Strimzi kinds (no schema package, no CRD copy here) against schemas of the
 *   fields we use, transcribed from their CRDs (required fields, enums, bounds).
 * No object may go unvalidated: a kind without a validator fails the test.
 */
import { describe, expect, it } from 'vitest';
import { Ajv, type ValidateFunction } from 'ajv';
import { Yaml } from 'cdk8s';
import { fileURLToPath } from 'node:url';
import { real, type Manifest } from './synth.js';

const out = real();

// --- Model packages ----------------------------------------------------------------------------

const corePath = (apiVersion: string) => (apiVersion === 'v1' ? 'v1' : apiVersion);
const MODEL_PACKAGES: Record<string, (apiVersion: string, kind: string) => string> = {
  'serving.knative.dev': (a, k) => `@kubernetes-models/knative/${a}/${k}`,
  'sources.knative.dev': (a, k) => `@kubernetes-models/knative/${a}/${k}`,
  'monitoring.coreos.com': (a, k) => `@kubernetes-models/prometheus-operator/${a}/${k}`,
};
const CORE_GROUPS = new Set(['', 'apps', 'batch', 'rbac.authorization.k8s.io', 'networking.k8s.io', 'scheduling.k8s.io', 'storage.k8s.io', 'policy']);

function modelPath(o: Manifest): string | undefined {
  const group = o.apiVersion.includes('/') ? o.apiVersion.split('/')[0]! : '';
  if (o.apiVersion === 'sources.knative.dev/v1' && o.kind === 'KafkaSource') return undefined; // not in the package: the CRD below
  if (CORE_GROUPS.has(group)) return `kubernetes-models/${corePath(o.apiVersion)}/${o.kind}`;
  return MODEL_PACKAGES[group]?.(o.apiVersion, o.kind);
}

// --- CRD schemas -------------------------------------------------------------------------------

/**
 * A CRD's openAPIV3Schema made strict: every object that lists its properties refuses others,
 * unless the schema says to keep unknown fields (what the API server's Strict field validation does).
 */
function strict(schema: any): any {
  if (Array.isArray(schema)) return schema.map(strict);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: any = {};
  for (const [k, v] of Object.entries(schema)) out[k] = k === 'properties' ? Object.fromEntries(Object.entries(v as object).map(([p, s]) => [p, strict(s)])) : strict(v);
  if (schema.type === 'object' && schema.properties && schema.additionalProperties === undefined && !schema['x-kubernetes-preserve-unknown-fields']) out.additionalProperties = false;
  return out;
}

const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });

function crdValidator(file: string, version: string): ValidateFunction {
  const [crd] = Yaml.load(fileURLToPath(new URL(file, import.meta.url))) as any[];
  const v = crd.spec.versions.find((x: any) => x.name === version);
  if (!v) throw new Error(`${file} has no version ${version}`);
  return ajv.compile(strict(v.schema.openAPIV3Schema));
}

const meta = { type: 'object', required: ['name', 'namespace'], properties: { name: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 }, namespace: { type: 'string' } } };
const obj = (apiVersion: string, kind: string, spec: object) => ({
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  additionalProperties: false,
  properties: { apiVersion: { const: apiVersion }, kind: { const: kind }, metadata: meta, spec },
});
const quantity = { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?(m|Ki|Mi|Gi|Ti)?$' };
const resources = {
  type: 'object',
  additionalProperties: false,
  properties: {
    requests: { type: 'object', additionalProperties: quantity, propertyNames: { enum: ['cpu', 'memory'] } },
    limits: { type: 'object', additionalProperties: quantity, propertyNames: { enum: ['cpu', 'memory'] } },
  },
};
const podTemplate = { type: 'object', additionalProperties: false, properties: { pod: { type: 'object', additionalProperties: false, properties: { priorityClassName: { type: 'string' } } } } };

/** eventing-kafka-broker control-plane/config/eventing-kafka-broker/100-sink/100-kafka-sink.yaml (v1alpha1). */
const kafkaSink = obj('eventing.knative.dev/v1alpha1', 'KafkaSink', {
  type: 'object',
  required: ['topic', 'bootstrapServers'],
  additionalProperties: false,
  properties: {
    topic: { type: 'string', minLength: 1 },
    numPartitions: { type: 'integer' },
    replicationFactor: { type: 'integer' },
    bootstrapServers: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^[^:]+:[0-9]+$' } },
    contentMode: { enum: ['binary', 'structured'] },
  },
});

/** Strimzi packaging/install/cluster-operator/04A-Crd-kafkanodepool.yaml (v1beta2), the fields we use. */
const kafkaNodePool = obj('kafka.strimzi.io/v1beta2', 'KafkaNodePool', {
  type: 'object',
  required: ['replicas', 'storage', 'roles'],
  additionalProperties: false,
  properties: {
    replicas: { type: 'integer', minimum: 0 },
    roles: { type: 'array', minItems: 1, items: { enum: ['controller', 'broker'] } },
    storage: {
      type: 'object',
      required: ['type'],
      additionalProperties: false,
      properties: {
        type: { enum: ['ephemeral', 'persistent-claim', 'jbod'] },
        volumes: {
          type: 'array',
          items: {
            type: 'object',
            required: ['type'],
            additionalProperties: false,
            properties: {
              id: { type: 'integer', minimum: 0 },
              type: { enum: ['ephemeral', 'persistent-claim'] },
              size: { type: 'string', pattern: '^[0-9]+(Mi|Gi|Ti)$' },
              class: { type: 'string' },
              deleteClaim: { type: 'boolean' },
              kraftMetadata: { enum: ['shared'] },
            },
          },
        },
      },
    },
    resources,
    jvmOptions: { type: 'object', additionalProperties: false, properties: { '-Xms': { type: 'string', pattern: '^[0-9]+[mMgG]?$' }, '-Xmx': { type: 'string', pattern: '^[0-9]+[mMgG]?$' } } },
    template: podTemplate,
  },
});

const labelSelector = {
  type: 'object',
  additionalProperties: false,
  properties: {
    matchLabels: { type: 'object', additionalProperties: { type: 'string' } },
    matchExpressions: {
      type: 'array',
      items: { type: 'object', required: ['key', 'operator'], additionalProperties: false, properties: { key: { type: 'string' }, operator: { type: 'string' }, values: { type: 'array', items: { type: 'string' } } } },
    },
  },
};

/** Strimzi 040-Crd-kafka.yaml (v1beta2), the fields we use. */
const kafka = obj('kafka.strimzi.io/v1beta2', 'Kafka', {
  type: 'object',
  required: ['kafka'],
  additionalProperties: false,
  properties: {
    kafka: {
      type: 'object',
      required: ['listeners'],
      additionalProperties: false,
      properties: {
        version: { type: 'string', pattern: '^[0-9]+\\.[0-9]+\\.[0-9]+$' },
        listeners: {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            required: ['name', 'port', 'type', 'tls'],
            additionalProperties: false,
            properties: {
              name: { type: 'string', pattern: '^[a-z0-9]{1,11}$' },
              port: { type: 'integer', minimum: 9092 },
              type: { enum: ['internal', 'route', 'loadbalancer', 'nodeport', 'ingress', 'cluster-ip'] },
              tls: { type: 'boolean' },
              // NetworkPolicyPeer, as in a NetworkPolicy's `from`.
              networkPolicyPeers: {
                type: 'array',
                items: {
                  type: 'object',
                  additionalProperties: false,
                  properties: {
                    ipBlock: { type: 'object', required: ['cidr'], additionalProperties: false, properties: { cidr: { type: 'string' }, except: { type: 'array', items: { type: 'string' } } } },
                    namespaceSelector: labelSelector,
                    podSelector: labelSelector,
                  },
                },
              },
            },
          },
        },
        config: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] } },
      },
    },
    entityOperator: {
      type: 'object',
      additionalProperties: false,
      properties: {
        topicOperator: { type: 'object', additionalProperties: false, properties: { resources } },
        template: podTemplate,
      },
    },
  },
});

/** Strimzi 043-Crd-kafkatopic.yaml (v1beta2). */
const kafkaTopic = obj('kafka.strimzi.io/v1beta2', 'KafkaTopic', {
  type: 'object',
  additionalProperties: false,
  properties: {
    partitions: { type: 'integer', minimum: 1 },
    replicas: { type: 'integer', minimum: 1, maximum: 32767 },
    config: { type: 'object' },
    topicName: { type: 'string', pattern: '^[a-zA-Z0-9._-]{1,249}$' },
  },
});

const CRD_VALIDATORS: Record<string, ValidateFunction> = {
  'sources.knative.dev/v1/KafkaSource': crdValidator('../fixtures/crds/kafkasource.sources.knative.dev.yaml', 'v1'),
  'eventing.knative.dev/v1alpha1/KafkaSink': ajv.compile(kafkaSink),
  'kafka.strimzi.io/v1beta2/KafkaNodePool': ajv.compile(kafkaNodePool),
  'kafka.strimzi.io/v1beta2/Kafka': ajv.compile(kafka),
  'kafka.strimzi.io/v1beta2/KafkaTopic': ajv.compile(kafkaTopic),
};

// --- The tests ---------------------------------------------------------------------------------

const id = (o: Manifest) => `${o.apiVersion} ${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`;

describe('every synthesized object validates against its schema', () => {
  it('has a validator for every kind it writes', () => {
    const missing = out.all.filter((o) => !modelPath(o) && !CRD_VALIDATORS[`${o.apiVersion}/${o.kind}`]).map(id);
    expect(missing).toEqual([]);
  });

  for (const o of out.all.filter((x) => modelPath(x))) {
    it(`${id(o)} (kubernetes-models)`, async () => {
      const mod = await import(modelPath(o)!);
      const Model = mod[o.kind];
      expect(Model, `model class ${o.kind} in ${modelPath(o)}`).toBeTypeOf('function');
      expect(() => new Model(o).validate()).not.toThrow();
    });
  }

  for (const o of out.all.filter((x) => !modelPath(x))) {
    it(`${id(o)} (CRD schema)`, () => {
      const validate = CRD_VALIDATORS[`${o.apiVersion}/${o.kind}`]!;
      const ok = validate(o);
      expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 1)).toEqual([]);
      expect(ok).toBe(true);
    });
  }

  it('the strict KafkaSource schema refuses a misspelt field and a bad type', () => {
    const validate = CRD_VALIDATORS['sources.knative.dev/v1/KafkaSource']!;
    const source = out.all.find((o) => o.kind === 'KafkaSource')!;
    expect(validate({ ...source, spec: { ...source.spec, orderring: 'unordered' } })).toBe(false);
    expect(validate({ ...source, spec: { ...source.spec, consumers: 'six' } })).toBe(false);
    const { topics: _t, ...noTopics } = source.spec;
    expect(validate({ ...source, spec: noTopics })).toBe(false);
  });

  it('the model validators catch a broken object (they are not no-ops)', async () => {
    const { Service } = await import('@kubernetes-models/knative/serving.knative.dev/v1/Service');
    const ksvc = out.all.find((o) => o.apiVersion === 'serving.knative.dev/v1')!;
    const broken = structuredClone(ksvc);
    broken.spec.template.spec.containerConcurrency = 'lots';
    expect(() => new Service(broken as any).validate()).toThrow();
    const { StatefulSet } = await import('kubernetes-models/apps/v1/StatefulSet');
    const sts = structuredClone(out.all.find((o) => o.kind === 'StatefulSet')!);
    delete sts.spec.selector;
    expect(() => new StatefulSet(sts as any).validate()).toThrow();
  });
});

describe('references between objects resolve', () => {
  const names = (kind: string, apiVersion?: string) =>
    new Set(out.all.filter((o) => o.kind === kind && (!apiVersion || o.apiVersion === apiVersion)).map((o) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`));
  const configMaps = names('ConfigMap');
  const accounts = names('ServiceAccount');
  const priorities = new Set(out.all.filter((o) => o.kind === 'PriorityClass').map((o) => o.metadata.name));
  const storageClasses = new Set(out.all.filter((o) => o.kind === 'StorageClass').map((o) => o.metadata.name));
  const ksvcs = names('Service', 'serving.knative.dev/v1');

  it('every pod template names an existing ServiceAccount, PriorityClass and ConfigMaps', async () => {
    const { podTemplates } = await import('./synth.js');
    for (const t of podTemplates(out.all)) {
      expect(accounts.has(`${t.namespace}/${t.spec.serviceAccountName}`), `${t.owner} serviceAccountName`).toBe(true);
      expect(priorities.has(t.spec.priorityClassName), `${t.owner} priorityClassName`).toBe(true);
      for (const c of t.spec.containers) {
        for (const e of c.envFrom ?? []) expect(configMaps.has(`${t.namespace}/${e.configMapRef.name}`), `${t.owner} envFrom ${e.configMapRef.name}`).toBe(true);
      }
      for (const vol of t.spec.volumes ?? []) if (vol.configMap) expect(configMaps.has(`${t.namespace}/${vol.configMap.name}`), `${t.owner} volume ${vol.name}`).toBe(true);
    }
  });

  it('every claim and Strimzi volume uses the storage class of the chart', () => {
    for (const o of out.all) {
      for (const t of o.spec?.volumeClaimTemplates ?? []) expect(storageClasses.has(t.spec.storageClassName), `${o.metadata.name}`).toBe(true);
      if (o.kind === 'KafkaNodePool') for (const v of o.spec.storage.volumes) expect(storageClasses.has(v.class)).toBe(true);
    }
  });

  it('the sources deliver to Knative Services that exist, and dead letters to the KafkaSink', () => {
    const sinks = names('KafkaSink');
    for (const s of out.all.filter((o) => o.kind === 'KafkaSource' || o.kind === 'PingSource')) {
      const ref = s.spec.sink.ref;
      expect(ksvcs.has(`${ref.namespace}/${ref.name}`), `${s.metadata.name} sink`).toBe(true);
      if (s.kind === 'KafkaSource') {
        const dl = s.spec.delivery.deadLetterSink.ref;
        expect(sinks.has(`${dl.namespace}/${dl.name}`)).toBe(true);
      }
    }
  });

  it('every topic a source reads or a sink writes is a KafkaTopic', () => {
    const topics = new Set(out.all.filter((o) => o.kind === 'KafkaTopic').map((o) => o.spec.topicName));
    for (const s of out.all.filter((o) => o.kind === 'KafkaSource')) for (const t of s.spec.topics) expect(topics.has(t)).toBe(true);
    for (const s of out.all.filter((o) => o.kind === 'KafkaSink')) expect(topics.has(s.spec.topic)).toBe(true);
    for (const t of out.all.filter((o) => o.kind === 'KafkaTopic')) expect(t.metadata.labels?.['strimzi.io/cluster']).toBe(out.all.find((o) => o.kind === 'Kafka')!.metadata.name);
  });

  it('writes no Secret: passwords are made at deploy time (kind/up.sh), never in dist/', () => {
    expect(out.all.filter((o) => o.kind === 'Secret')).toEqual([]);
    const text = JSON.stringify(out.all);
    expect(text).not.toMatch(/password"?\s*[:=]\s*"?[A-Za-z0-9]{8,}/i);
  });
});
