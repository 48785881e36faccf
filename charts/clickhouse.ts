/**
 * ClickHouse: one server (StatefulSet, 20 Gi data + a backup volume on the local-path class),
 * its settings and users as a ConfigMap, the schema applied from sql/ by a Job, a nightly backup.
 *
 * Users (users.xml below):
 * - `ingest`: INSERT on speed_layer only.
 * - `sessionizer`: INSERT and SELECT on speed_layer (it reads its inbox of new events, its open
 *   sessions and its state back), with its own concurrency slots.
 * - `analytics`: readonly=2 (reads only; settings may change, within constraints: the HTTP
 *   client sends some per query) with a per-minute quota and its own concurrency slots.
 * - `migrator`: everything on speed_layer only, for the schema Job and the backup CronJob.
 * - `default`: reachable from inside the pod only (kubectl exec), for an operator.
 * Passwords come from the `clickhouse-users` Secret (kind/up.sh makes it) through `from_env`.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Chart, type ChartProps } from 'cdk8s';
import type { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-32';
import { CLICKHOUSE, IMAGES, NAMESPACES, PRIORITY, SECRETS, type Values } from './values.js';
import { STORAGE_CLASS, dataTier } from './cluster.js';
import { SERVICE_ACCOUNTS } from './access.js';
import { labels, selector } from './lib/labels.js';
import { gi, mi, milli, restrictedContainer, restrictedPod } from './lib/security.js';
import { ATTRS, toXml, type XmlNode } from './lib/xml.js';

const MiB = 2 ** 20;
const bytes = (mib: number) => mib * MiB;

/** Environment variables the users file reads the passwords from. */
export const PASSWORD_ENV = {
  ingest: 'CLICKHOUSE_INGEST_PASSWORD',
  analytics: 'CLICKHOUSE_ANALYTICS_PASSWORD',
  sessionizer: 'CLICKHOUSE_SESSIONIZER_PASSWORD',
  migrator: 'CLICKHOUSE_MIGRATOR_PASSWORD',
} as const;

/** Nightly, at a quiet hour for the shop. */
export const BACKUP_SCHEDULE = '30 2 * * *';

/** The server settings (config.d): memory, concurrency, caches, metrics, backups. */
export function serverConfig(v: Values): XmlNode {
  const ch = v.inputs.clickhouse;
  return {
    // Below the container limit by the memory ClickHouse does not track, so its own limit trips
    // (a query fails) before the kernel's (the server is killed).
    max_server_memory_usage: bytes(v.clickhouse.maxServerMemoryUsageMiB),
    max_concurrent_queries: ch.maxConcurrentQueries,
    uncompressed_cache_size: bytes(ch.uncompressedCacheMiB),
    mark_cache_size: bytes(ch.markCacheMiB),
    logger: { level: 'information', console: 1 },
    prometheus: { endpoint: '/metrics', port: CLICKHOUSE.ports.metrics, metrics: true, events: true, asynchronous_metrics: true },
    storage_configuration: { disks: { backups: { type: 'local', path: '/backups/' } } },
    backups: { allowed_disk: 'backups', allowed_path: '/backups/' },
    // Default for every MergeTree table: a retried insert with the same idempotency token is
    // dropped as long as the KafkaSource may still be retrying it (values.ts derives the window).
    merge_tree: { non_replicated_deduplication_window: v.clickhouse.deduplicationWindowBlocks },
  };
}

/** The users file (users.d): profiles, the analytics quota, the users and their grants. */
export function usersConfig(v: Values): XmlNode {
  const ch = v.inputs.clickhouse;
  const q = v.clickhouse.analyticsQuota;
  const db = CLICKHOUSE.database;
  const anywhere = { ip: '::/0' }; // who may connect is the NetworkPolicies' job
  return {
    profiles: {
      default: {
        max_memory_usage: bytes(ch.maxMemoryUsageMiB),
        max_memory_usage_for_user: bytes(ch.maxMemoryUsageForUserMiB),
      },
      ingest: {
        profile: 'default',
        max_concurrent_queries_for_user: v.clickhouse.ingestSlots,
        insert_deduplicate: 1,
      },
      sessionizer: {
        profile: 'default',
        max_concurrent_queries_for_user: v.clickhouse.sessionizerSlots,
        insert_deduplicate: 1,
      },
      analytics: {
        profile: 'default',
        readonly: 2,
        // One analytics query may use what the whole user may (the constraint below keeps it there).
        max_memory_usage: bytes(ch.maxMemoryUsageForUserMiB),
        max_concurrent_queries_for_user: v.clickhouse.analyticsSlots,
        max_execution_time: ch.analyticsMaxExecutionSeconds,
        // Short, repeated dashboard queries: worth the 1 GiB uncompressed cache.
        use_uncompressed_cache: 1,
        constraints: {
          max_memory_usage: { max: bytes(ch.maxMemoryUsageForUserMiB) },
          max_memory_usage_for_user: { const: {} },
          max_concurrent_queries_for_user: { const: {} },
          max_execution_time: { max: ch.analyticsMaxExecutionSeconds },
        },
      },
    },
    quotas: {
      analytics: {
        interval: {
          duration: q.intervalSeconds,
          queries: q.queries,
          errors: q.errors,
          result_rows: q.resultRows,
          execution_time: q.executionTimeSeconds,
        },
      },
    },
    users: {
      default: { networks: { [ATTRS]: { replace: 'replace' }, ip: ['::1', '127.0.0.1'] } },
      ingest: {
        password: { [ATTRS]: { from_env: PASSWORD_ENV.ingest } },
        networks: anywhere,
        profile: 'ingest',
        quota: 'default',
        // Insert only: the views run as their definer (migrator), and the function reads nothing.
        grants: { query: `GRANT INSERT ON ${db}.*` },
      },
      sessionizer: {
        password: { [ATTRS]: { from_env: PASSWORD_ENV.sessionizer } },
        networks: anywhere,
        profile: 'sessionizer',
        quota: 'default',
        // Reads the stored events, writes sessions, late events, its state and cancelling rows.
        grants: { query: `GRANT INSERT, SELECT ON ${db}.*` },
      },
      analytics: {
        password: { [ATTRS]: { from_env: PASSWORD_ENV.analytics } },
        networks: anywhere,
        profile: 'analytics',
        quota: 'analytics',
        grants: { query: `GRANT SELECT ON ${db}.*` },
      },
      migrator: {
        password: { [ATTRS]: { from_env: PASSWORD_ENV.migrator } },
        networks: anywhere,
        profile: 'default',
        quota: 'default',
        grants: { query: `GRANT ALL ON ${db}.*` },
      },
    },
  };
}

/**
 * The schema as functions/adapters/migrations.ts applies it: the `NNN_name.sql` files of `dir`
 * in name order, `{db}` replaced by the database name. {} when the folder is missing.
 */
export function readSchema(dir: string, database: string): Record<string, string> {
  if (!existsSync(dir)) return {};
  const files = readdirSync(dir).filter((f) => /^\d+_.+\.sql$/.test(f)).sort();
  return Object.fromEntries(files.map((f) => [f, `${readFileSync(join(dir, f), 'utf8').replaceAll('{db}', database).trim()}\n`]));
}

const hash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 10);

export interface ClickHouseChartProps extends ChartProps {
  readonly values: Values;
  /** Where the schema comes from (default: sql/). */
  readonly sqlDir: string;
}

export class ClickHouseChart extends Chart {
  constructor(scope: Construct, id: string, props: ClickHouseChartProps) {
    super(scope, id, props);
    const v = props.values;
    const ch = v.inputs.clickhouse;
    const ns = NAMESPACES.speed;
    const l = labels('clickhouse', 'database');
    const p = CLICKHOUSE.ports;

    const server = toXml('clickhouse', serverConfig(v), 'speed-layer server settings (charts/clickhouse.ts, numbers from charts/values.ts)');
    const users = toXml('clickhouse', usersConfig(v), 'speed-layer users, profiles, quota (charts/clickhouse.ts)');
    new k8s.KubeConfigMap(this, 'config', {
      metadata: { name: 'clickhouse-config', namespace: ns, labels: l },
      data: { 'server.xml': server, 'users.xml': users },
    });

    const passwordEnv = (Object.keys(PASSWORD_ENV) as (keyof typeof PASSWORD_ENV)[]).map((user) => ({
      name: PASSWORD_ENV[user],
      valueFrom: { secretKeyRef: { name: SECRETS.clickhouse.name, key: SECRETS.clickhouse.keys[user] } },
    }));

    const headless = `${CLICKHOUSE.service}-headless`;
    new k8s.KubeStatefulSet(this, 'server', {
      metadata: { name: 'clickhouse', namespace: ns, labels: l },
      spec: {
        serviceName: headless,
        replicas: 1,
        selector: { matchLabels: selector('clickhouse') },
        template: {
          metadata: { labels: l, annotations: { 'speed-layer.dev/config-hash': hash(server + users) } },
          spec: {
            serviceAccountName: SERVICE_ACCOUNTS.clickhouse,
            automountServiceAccountToken: false,
            priorityClassName: PRIORITY.data.name,
            securityContext: restrictedPod(CLICKHOUSE.uid),
            terminationGracePeriodSeconds: 60,
            containers: [
              {
                name: 'clickhouse',
                image: IMAGES.clickhouse,
                env: [
                  // The users come from our users.xml; the image must not add its own.
                  { name: 'CLICKHOUSE_SKIP_USER_SETUP', value: '1' },
                  ...passwordEnv,
                ],
                ports: [
                  { name: 'http', containerPort: p.http },
                  { name: 'native', containerPort: p.native },
                  { name: 'metrics', containerPort: p.metrics },
                ],
                // Requests = limits: Guaranteed QoS, the last pod the kernel would kill.
                resources: {
                  requests: { memory: mi(ch.memoryLimitMiB), cpu: milli(ch.cpu * 1000) },
                  limits: { memory: mi(ch.memoryLimitMiB), cpu: milli(ch.cpu * 1000) },
                },
                // The image writes preprocessed configs and status files; its root stays writable.
                securityContext: restrictedContainer(CLICKHOUSE.uid, { readOnlyRootFilesystem: false }),
                volumeMounts: [
                  { name: 'data', mountPath: '/var/lib/clickhouse' },
                  { name: 'backups', mountPath: '/backups' },
                  { name: 'logs', mountPath: '/var/log/clickhouse-server' },
                  { name: 'config', mountPath: '/etc/clickhouse-server/config.d/speed-layer.xml', subPath: 'server.xml', readOnly: true },
                  { name: 'config', mountPath: '/etc/clickhouse-server/users.d/speed-layer.xml', subPath: 'users.xml', readOnly: true },
                ],
                startupProbe: { httpGet: { path: '/ping', port: k8s.IntOrString.fromString('http') }, periodSeconds: 5, failureThreshold: 60 },
                readinessProbe: { httpGet: { path: '/ping', port: k8s.IntOrString.fromString('http') }, periodSeconds: 5, failureThreshold: 3 },
                livenessProbe: { httpGet: { path: '/ping', port: k8s.IntOrString.fromString('http') }, periodSeconds: 10, failureThreshold: 6 },
              },
            ],
            volumes: [
              { name: 'config', configMap: { name: 'clickhouse-config' } },
              { name: 'logs', emptyDir: { sizeLimit: mi(512) } },
            ],
          },
        },
        volumeClaimTemplates: [
          { metadata: { name: 'data', labels: l }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: STORAGE_CLASS, resources: { requests: { storage: gi(ch.dataVolumeGi) } } } },
          { metadata: { name: 'backups', labels: l }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: STORAGE_CLASS, resources: { requests: { storage: gi(ch.backupVolumeGi) } } } },
        ],
      },
    });

    const servicePorts = [
      { name: 'http', port: p.http, targetPort: k8s.IntOrString.fromString('http') },
      { name: 'native', port: p.native, targetPort: k8s.IntOrString.fromString('native') },
    ];
    new k8s.KubeService(this, 'service', {
      // The functions' CLICKHOUSE_URL; the only Service the ServiceMonitor scrapes.
      metadata: { name: CLICKHOUSE.service, namespace: ns, labels: { ...l, 'speed-layer.dev/scrape': 'true' } },
      spec: {
        selector: selector('clickhouse'),
        ports: [...servicePorts, { name: 'metrics', port: p.metrics, targetPort: k8s.IntOrString.fromString('metrics') }],
      },
    });
    new k8s.KubeService(this, 'headless', {
      metadata: { name: headless, namespace: ns, labels: l },
      spec: { clusterIp: 'None', selector: selector('clickhouse'), ports: servicePorts },
    });
    // kind/kind-config.yaml maps these to the host's 8123 and 9000 (for clickhouse-client and
    // the benchmarks); the NetworkPolicies admit them from kind's node network only.
    new k8s.KubeService(this, 'nodeport', {
      metadata: { name: `${CLICKHOUSE.service}-nodeport`, namespace: ns, labels: l },
      spec: {
        type: 'NodePort',
        selector: selector('clickhouse'),
        ports: [
          { ...servicePorts[0]!, nodePort: CLICKHOUSE.nodePorts.http },
          { ...servicePorts[1]!, nodePort: CLICKHOUSE.nodePorts.native },
        ],
      },
    });

    // --- Schema and backups, as `migrator`. -----------------------------------------------------
    const sql = readSchema(props.sqlDir, CLICKHOUSE.database);
    const sqlHash = hash(Object.entries(sql).map(([k, s]) => `${k}\n${s}`).join('\n'));
    const admin = labels('clickhouse-admin', 'database-admin');
    new k8s.KubeConfigMap(this, 'schema', {
      metadata: { name: 'clickhouse-schema', namespace: ns, labels: admin, annotations: { 'speed-layer.dev/sql-hash': sqlHash } },
      data: sql,
    });

    const client = `clickhouse-client --host ${CLICKHOUSE.service} --port ${p.native} --user migrator --password "$${PASSWORD_ENV.migrator}"`;
    const adminPod = (script: string, extraVolumes: boolean): k8s.PodSpec => ({
      serviceAccountName: SERVICE_ACCOUNTS.clickhouseAdmin,
      automountServiceAccountToken: false,
      priorityClassName: PRIORITY.data.name,
      securityContext: restrictedPod(CLICKHOUSE.uid),
      restartPolicy: 'Never',
      containers: [
        {
          name: 'clickhouse-client',
          image: IMAGES.clickhouse,
          command: ['/bin/sh', '-c', script],
          env: [
            { name: 'HOME', value: '/tmp' },
            { name: PASSWORD_ENV.migrator, valueFrom: { secretKeyRef: { name: SECRETS.clickhouse.name, key: SECRETS.clickhouse.keys.migrator } } },
          ],
          resources: {
            requests: { memory: mi(dataTier(v).adminMiB / 2), cpu: milli(50) },
            limits: { memory: mi(dataTier(v).adminMiB), cpu: milli(500) },
          },
          securityContext: restrictedContainer(CLICKHOUSE.uid, { readOnlyRootFilesystem: true }),
          volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }, ...(extraVolumes ? [{ name: 'sql', mountPath: '/sql', readOnly: true }] : [])],
        },
      ],
      volumes: [
        { name: 'tmp', emptyDir: { sizeLimit: mi(64) } },
        ...(extraVolumes ? [{ name: 'sql', configMap: { name: 'clickhouse-schema' } }] : []),
      ],
    });

    // Applies sql/ in file-name order (each file is idempotent), as the functions' own start-up
    // migration does, but as `migrator`: the functions' users may not run DDL. Named after the schema's hash:
    // a changed sql/ makes a new Job on the next apply; finished ones are cleaned up after a day.
    const apply = [
      'set -eu',
      `until ${client} --query 'SELECT 1' >/dev/null 2>&1; do echo 'waiting for ClickHouse'; sleep 3; done`,
      'for f in $(ls /sql | grep "\\.sql$" | sort); do',
      '  echo "applying $f"',
      `  ${client} --multiquery < "/sql/$f"`,
      'done',
      'echo "schema applied"',
    ].join('\n');
    new k8s.KubeJob(this, 'schema-job', {
      metadata: { name: `clickhouse-schema-${sqlHash}`, namespace: ns, labels: admin },
      spec: {
        backoffLimit: 6,
        activeDeadlineSeconds: 900,
        ttlSecondsAfterFinished: 86_400,
        template: { metadata: { labels: admin }, spec: adminPod(apply, true) },
      },
    });

    const backup = [
      'set -eu',
      `name="${CLICKHOUSE.database}-$(date -u +%Y%m%dT%H%M%SZ)"`,
      `${client} --query "BACKUP DATABASE ${CLICKHOUSE.database} TO Disk('backups', '$name')"`,
      'echo "backup $name written"',
    ].join('\n');
    new k8s.KubeCronJob(this, 'backup', {
      metadata: { name: 'clickhouse-backup', namespace: ns, labels: admin },
      spec: {
        schedule: BACKUP_SCHEDULE,
        timeZone: 'Etc/UTC',
        concurrencyPolicy: 'Forbid',
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 3,
        jobTemplate: {
          spec: {
            backoffLimit: 2,
            activeDeadlineSeconds: 3_600,
            template: { metadata: { labels: admin }, spec: adminPod(backup, false) },
          },
        },
      },
    });
  }
}
