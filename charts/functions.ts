/**
 * The functions: one Knative Service each, all from the one image (the command picks the
 * function), configured by ConfigMaps (settings) and Secrets (passwords, DATABASE_URL).
 *
 * Autoscaling is Knative's KPA on concurrency: a function scales when its in-flight requests
 * reach the target. For ingest the target is what one pod holds at its throughput, because it
 * answers only once an event's micro-batch is stored (values.ts derives it).
 */
import { Chart, type ChartProps } from 'cdk8s';
import type { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-32';
import { CLICKHOUSE, FUNCTION_UID, IMAGES, KAFKA, NAMESPACES, PORTS, PRIORITY, SECRETS, type FunctionValues, type Values } from './values.js';
import { SERVICE_ACCOUNTS } from './access.js';
import { labels } from './lib/labels.js';
import { knativeService } from './lib/crds.js';
import { restrictedContainer } from './lib/security.js';

export const SHARED_CONFIG = 'speed-layer-config';
export const configMapName = (fn: string) => `${fn}-config`;

/** Settings every function reads. */
export function sharedConfig(v: Values): Record<string, string> {
  return {
    CLICKHOUSE_URL: CLICKHOUSE.url,
    CLICKHOUSE_DATABASE: CLICKHOUSE.database,
    // The functions' ClickHouse users have no DDL rights; the clickhouse-schema Job applies sql/.
    CLICKHOUSE_MIGRATE: 'false',
    ALLOWED_LATENESS_MS: String(v.inputs.config.allowedLatenessMs),
    LOG_LEVEL: v.inputs.config.logLevel,
  };
}

/** Settings of one function: only what it uses, so it reaches only what its policies allow. */
export function functionConfig(v: Values, f: FunctionValues): Record<string, string> {
  const b = v.inputs.batching;
  return {
    CLICKHOUSE_USER: f.clickhouseUser,
    NODE_OPTIONS: `--max-old-space-size=${f.maxOldSpaceMiB}`,
    ...(f.name === 'ingest'
      ? {
          BATCH_MAX_ROWS: String(b.maxRows),
          BATCH_MAX_AGE_MS: String(b.maxAgeMs),
          BUFFER_MAX_ROWS: String(b.bufferMaxRows),
          ACK_BUDGET_MS: String(v.delivery.ackBudgetMs),
          // The memory limit counts these; pinned so a new code default cannot outgrow it.
          DEDUPE_WINDOW: String(v.inputs.config.dedupeWindow),
          TIER_CACHE_WARM_MAX: String(v.inputs.config.tierCacheWarmMax),
          TIER_CACHE_TTL_S: String(v.inputs.config.tierCacheTtlSeconds),
        }
      : {}),
    // The sessionizer's own timer; the PingSource is only a backstop.
    ...(f.name === 'sessionizer' ? { SESSIONIZER_INTERVAL_MS: String(v.inputs.sessionizer.intervalMs) } : {}),
    ...(f.usesPostgres ? { PG_POOL_SIZE: String(v.postgres.poolSize) } : {}),
    ...(f.usesKafka ? { KAFKA_BROKERS: KAFKA.bootstrap } : {}),
  };
}

export interface FunctionsChartProps extends ChartProps {
  readonly values: Values;
}

export class FunctionsChart extends Chart {
  constructor(scope: Construct, id: string, props: FunctionsChartProps) {
    super(scope, id, props);
    const v = props.values;
    const ns = NAMESPACES.speed;

    new k8s.KubeConfigMap(this, 'shared-config', {
      metadata: { name: SHARED_CONFIG, namespace: ns, labels: labels('speed-layer', 'function') },
      data: sharedConfig(v),
    });

    for (const f of Object.values(v.functions)) {
      const l = labels(f.name, 'function');
      new k8s.KubeConfigMap(this, `${f.name}-config`, {
        metadata: { name: configMapName(f.name), namespace: ns, labels: l },
        data: functionConfig(v, f),
      });

      const secretEnv = [
        { name: 'CLICKHOUSE_PASSWORD', valueFrom: { secretKeyRef: { name: SECRETS.clickhouse.name, key: SECRETS.clickhouse.keys[f.clickhouseUser] } } },
        ...(f.usesPostgres ? [{ name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: SECRETS.postgres.name, key: SECRETS.postgres.keys.databaseUrl } } }] : []),
      ];
      const probe = (path: string, periodSeconds: number, failureThreshold: number) => ({
        // Knative only accepts the user port here; it probes through the queue-proxy.
        httpGet: { path, port: PORTS.user },
        periodSeconds,
        failureThreshold,
        timeoutSeconds: 2,
      });
      const qp = f.queueProxy;

      knativeService(this, f.name, {
        name: f.name,
        namespace: ns,
        labels: {
          ...l,
          // ingest and the sessionizer take requests from inside the cluster only.
          ...(f.visibility === 'cluster-local' ? { 'networking.knative.dev/visibility': 'cluster-local' } : {}),
        },
      }, {
        template: {
          metadata: {
            labels: l,
            annotations: {
              'autoscaling.knative.dev/class': 'kpa.autoscaling.knative.dev',
              'autoscaling.knative.dev/metric': 'concurrency',
              'autoscaling.knative.dev/target': String(f.targetConcurrency),
              'autoscaling.knative.dev/target-utilization-percentage': String(Math.round(v.inputs.targetUtilization * 100)),
              'autoscaling.knative.dev/min-scale': String(f.minScale),
              'autoscaling.knative.dev/max-scale': String(f.maxScale),
              'autoscaling.knative.dev/initial-scale': String(f.initialScale),
              // The queue-proxy sidecar is part of every pod's share of the pool.
              'queue.sidecar.serving.knative.dev/cpu-resource-request': `${qp.requestMilli}m`,
              'queue.sidecar.serving.knative.dev/cpu-resource-limit': `${qp.limitMilli}m`,
              'queue.sidecar.serving.knative.dev/memory-resource-request': `${qp.requestMiB}Mi`,
              'queue.sidecar.serving.knative.dev/memory-resource-limit': `${qp.limitMiB}Mi`,
            },
          },
          spec: {
            serviceAccountName: SERVICE_ACCOUNTS[f.name],
            priorityClassName: PRIORITY.speed.name,
            containerConcurrency: f.containerConcurrency,
            timeoutSeconds: f.timeoutSeconds,
            containers: [
              {
                name: f.name,
                image: IMAGES.functions,
                imagePullPolicy: 'IfNotPresent',
                // args, not command: the image's entrypoint (tini) stays PID 1 and forwards SIGTERM,
                // so a function flushes its buffer before the pod goes.
                args: ['node', '--import', 'tsx', f.entry],
                ports: [{ containerPort: PORTS.user }],
                envFrom: [{ configMapRef: { name: SHARED_CONFIG } }, { configMapRef: { name: configMapName(f.name) } }],
                env: secretEnv,
                resources: {
                  requests: { memory: `${f.requestMiB}Mi`, cpu: `${f.cpu.requestMilli}m` },
                  limits: { memory: `${f.limitMiB}Mi`, cpu: `${f.cpu.limitMilli}m` },
                },
                readinessProbe: probe('/readyz', 5, 3),
                livenessProbe: probe('/healthz', 10, 3),
                securityContext: restrictedContainer(FUNCTION_UID, { readOnlyRootFilesystem: true }),
                // tsx caches transpiled files under the temp directory.
                volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
              },
            ],
            volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }],
          },
        },
      });
    }
  }
}
