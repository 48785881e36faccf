/**
 * PostgreSQL, where the users and their tiers live (the ingest function's enrichment source).
 * One StatefulSet with a small volume; max_connections is the number values.ts checks the
 * ingest pool against. The password and the DATABASE_URL come from the `postgres` Secret.
 */
import { Chart, type ChartProps } from 'cdk8s';
import type { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-32';
import { IMAGES, NAMESPACES, POSTGRES, PRIORITY, SECRETS, type Values } from './values.js';
import { STORAGE_CLASS } from './cluster.js';
import { SERVICE_ACCOUNTS } from './access.js';
import { labels, selector } from './lib/labels.js';
import { gi, mi, milli, restrictedContainer, restrictedPod } from './lib/security.js';

export interface PostgresChartProps extends ChartProps {
  readonly values: Values;
}

export class PostgresChart extends Chart {
  constructor(scope: Construct, id: string, props: PostgresChartProps) {
    super(scope, id, props);
    const pg = props.values.inputs.postgres;
    const ns = NAMESPACES.speed;
    const l = labels('postgres', 'database');
    const ready = ['pg_isready', '-U', POSTGRES.user, '-d', POSTGRES.database, '-h', '127.0.0.1'];

    new k8s.KubeStatefulSet(this, 'server', {
      metadata: { name: 'postgres', namespace: ns, labels: l },
      spec: {
        serviceName: `${POSTGRES.service}-headless`,
        replicas: 1,
        selector: { matchLabels: selector('postgres') },
        template: {
          metadata: { labels: l },
          spec: {
            serviceAccountName: SERVICE_ACCOUNTS.postgres,
            automountServiceAccountToken: false,
            priorityClassName: PRIORITY.data.name,
            securityContext: restrictedPod(POSTGRES.uid),
            containers: [
              {
                name: 'postgres',
                image: IMAGES.postgres,
                args: ['-c', `max_connections=${pg.maxConnections}`, '-c', 'shared_buffers=128MB'],
                env: [
                  { name: 'POSTGRES_USER', value: POSTGRES.user },
                  { name: 'POSTGRES_DB', value: POSTGRES.database },
                  { name: 'POSTGRES_PASSWORD', valueFrom: { secretKeyRef: { name: SECRETS.postgres.name, key: SECRETS.postgres.keys.password } } },
                  // A subdirectory: the volume's root holds lost+found on some provisioners.
                  { name: 'PGDATA', value: '/var/lib/postgresql/data/pgdata' },
                ],
                ports: [{ name: 'postgres', containerPort: POSTGRES.port }],
                resources: {
                  requests: { memory: mi(pg.memory.requestMiB), cpu: milli(100) },
                  limits: { memory: mi(pg.memory.limitMiB), cpu: milli(1000) },
                },
                securityContext: restrictedContainer(POSTGRES.uid, { readOnlyRootFilesystem: true }),
                volumeMounts: [
                  { name: 'data', mountPath: '/var/lib/postgresql/data' },
                  { name: 'run', mountPath: '/var/run/postgresql' },
                  { name: 'tmp', mountPath: '/tmp' },
                ],
                readinessProbe: { exec: { command: ready }, periodSeconds: 5, failureThreshold: 3 },
                livenessProbe: { exec: { command: ready }, periodSeconds: 10, failureThreshold: 6, initialDelaySeconds: 30 },
              },
            ],
            volumes: [
              { name: 'run', emptyDir: { sizeLimit: mi(16) } },
              { name: 'tmp', emptyDir: { sizeLimit: mi(64) } },
            ],
          },
        },
        volumeClaimTemplates: [
          { metadata: { name: 'data', labels: l }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: STORAGE_CLASS, resources: { requests: { storage: gi(pg.volumeGi) } } } },
        ],
      },
    });

    const ports = [{ name: 'postgres', port: POSTGRES.port, targetPort: k8s.IntOrString.fromString('postgres') }];
    new k8s.KubeService(this, 'service', {
      metadata: { name: POSTGRES.service, namespace: ns, labels: l },
      spec: { selector: selector('postgres'), ports },
    });
    new k8s.KubeService(this, 'headless', {
      metadata: { name: `${POSTGRES.service}-headless`, namespace: ns, labels: l },
      spec: { clusterIp: 'None', selector: selector('postgres'), ports },
    });
  }
}
