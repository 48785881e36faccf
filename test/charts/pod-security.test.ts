/**
 * Every pod template meets Pod Security "restricted" (the Kubernetes Pod Security Standards,
 * policy version "latest"), checked control by control; the namespaces enforce it; the
 * workloads' ServiceAccounts have no token and no binding.
 *
 * Not covered here: the queue-proxy sidecar Knative injects (Knative's own code; kind/up.sh turns
 * on secure-pod-defaults) and the pods Strimzi creates (its restricted provider, set by up.sh).
 */
import { describe, expect, it } from 'vitest';
import { podTemplates, real, type Manifest } from './synth.js';

const out = real();

const ALLOWED_VOLUMES = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']);
const SAFE_SYSCTLS = new Set(['kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.ip_unprivileged_port_start', 'net.ipv4.tcp_syncookies', 'net.ipv4.ping_group_range', 'net.ipv4.ip_local_reserved_ports', 'net.ipv4.tcp_keepalive_time', 'net.ipv4.tcp_fin_timeout', 'net.ipv4.tcp_keepalive_intvl', 'net.ipv4.tcp_keepalive_probes']);

/** The violations of "restricted" in one pod spec (empty: compliant). */
function restrictedViolations(spec: any): string[] {
  const v: string[] = [];
  const containers: any[] = [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])];
  const pod = spec.securityContext ?? {};
  // baseline
  if (spec.hostNetwork || spec.hostPID || spec.hostIPC) v.push('host namespaces');
  if (pod.windowsOptions?.hostProcess) v.push('hostProcess');
  for (const vol of spec.volumes ?? []) {
    const type = Object.keys(vol).find((k) => k !== 'name')!;
    if (!ALLOWED_VOLUMES.has(type)) v.push(`volume ${vol.name}: type ${type}`);
  }
  for (const s of pod.sysctls ?? []) if (!SAFE_SYSCTLS.has(s.name)) v.push(`sysctl ${s.name}`);
  if (pod.seLinuxOptions?.user || pod.seLinuxOptions?.role) v.push('seLinuxOptions user/role');
  if (pod.appArmorProfile?.type === 'Unconfined') v.push('pod appArmor Unconfined');
  // restricted, pod level
  if (pod.runAsUser === 0) v.push('pod runAsUser 0');
  if (pod.seccompProfile && !['RuntimeDefault', 'Localhost'].includes(pod.seccompProfile.type)) v.push('pod seccomp');
  for (const c of containers) {
    const sc = c.securityContext ?? {};
    const name = `container ${c.name}`;
    if (sc.privileged) v.push(`${name}: privileged`);
    if (sc.windowsOptions?.hostProcess) v.push(`${name}: hostProcess`);
    for (const p of c.ports ?? []) if (p.hostPort) v.push(`${name}: hostPort`);
    if (sc.procMount && sc.procMount !== 'Default') v.push(`${name}: procMount`);
    if (sc.seLinuxOptions?.user || sc.seLinuxOptions?.role) v.push(`${name}: seLinuxOptions`);
    if (sc.appArmorProfile?.type === 'Unconfined') v.push(`${name}: appArmor Unconfined`);
    if (sc.allowPrivilegeEscalation !== false) v.push(`${name}: allowPrivilegeEscalation must be false`);
    const nonRoot = sc.runAsNonRoot ?? pod.runAsNonRoot;
    if (nonRoot !== true) v.push(`${name}: runAsNonRoot must be true`);
    if (sc.runAsUser === 0) v.push(`${name}: runAsUser 0`);
    const seccomp = sc.seccompProfile?.type ?? pod.seccompProfile?.type;
    if (!['RuntimeDefault', 'Localhost'].includes(seccomp)) v.push(`${name}: seccompProfile must be RuntimeDefault or Localhost`);
    const drop: string[] = sc.capabilities?.drop ?? [];
    if (!drop.includes('ALL')) v.push(`${name}: capabilities must drop ALL`);
    for (const cap of sc.capabilities?.add ?? []) if (cap !== 'NET_BIND_SERVICE') v.push(`${name}: adds capability ${cap}`);
  }
  return v;
}

describe('Pod Security "restricted"', () => {
  const templates = podTemplates(out.all);

  it('finds the pod templates (functions, ClickHouse, PostgreSQL, schema job, backups)', () => {
    const owners = templates.map((t) => t.owner.replace(/^(Job\/clickhouse-schema)-[0-9a-f]{10}$/, '$1-<hash>')).sort();
    expect(owners).toEqual(['CronJob/clickhouse-backup', 'Job/clickhouse-schema-<hash>', 'StatefulSet/clickhouse', 'StatefulSet/postgres', 'ksvc/analytics', 'ksvc/ingest', 'ksvc/sessionizer']);
  });

  for (const t of templates) {
    it(`${t.owner} meets every control`, () => {
      expect(restrictedViolations(t.spec)).toEqual([]);
    });
    it(`${t.owner} mounts no ServiceAccount token and has limits on every container`, () => {
      expect(t.spec.automountServiceAccountToken === false || t.owner.startsWith('ksvc/')).toBe(true);
      for (const c of t.spec.containers) {
        expect(c.resources?.limits?.memory, `${c.name} memory limit`).toBeDefined();
        expect(c.resources?.requests?.memory, `${c.name} memory request`).toBeDefined();
      }
    });
  }

  it('the checker catches each kind of violation (it is not a no-op)', () => {
    const good = templates.find((t) => t.owner === 'StatefulSet/clickhouse')!.spec;
    const bad = (mutate: (s: any) => void) => {
      const s = structuredClone(good);
      mutate(s);
      return restrictedViolations(s);
    };
    expect(bad((s) => (s.hostNetwork = true))).toContain('host namespaces');
    expect(bad((s) => (s.containers[0].securityContext.allowPrivilegeEscalation = true))).not.toEqual([]);
    expect(bad((s) => (s.containers[0].securityContext.capabilities = { drop: ['NET_RAW'] }))).not.toEqual([]);
    expect(bad((s) => (s.containers[0].securityContext.capabilities.add = ['SYS_ADMIN']))).not.toEqual([]);
    expect(bad((s) => s.volumes.push({ name: 'host', hostPath: { path: '/' } }))).toContain('volume host: type hostPath');
    expect(bad((s) => { delete s.securityContext.seccompProfile; delete s.containers[0].securityContext.seccompProfile; })).not.toEqual([]);
    expect(bad((s) => { delete s.securityContext.runAsNonRoot; delete s.containers[0].securityContext.runAsNonRoot; })).not.toEqual([]);
    expect(bad((s) => (s.containers[0].securityContext.privileged = true))).not.toEqual([]);
  });

  it('the speed-layer and batch-layer namespaces enforce it', () => {
    for (const name of ['speed-layer', 'batch-layer']) {
      const ns = out.all.find((o) => o.kind === 'Namespace' && o.metadata.name === name)!;
      expect(ns.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    }
  });
});

describe('service accounts and roles', () => {
  const accounts = out.all.filter((o) => o.kind === 'ServiceAccount');
  const bindings: Manifest[] = out.all.filter((o) => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding');

  it('functions and ClickHouse have their own accounts, with no token mounted', () => {
    expect(accounts.map((a) => a.metadata.name).sort()).toEqual(['analytics', 'clickhouse', 'clickhouse-admin', 'ingest', 'postgres', 'sessionizer']);
    for (const a of accounts) expect(a.automountServiceAccountToken).toBe(false);
  });

  it('no binding gives a workload account any rights', () => {
    const subjects = bindings.flatMap((b) => b.subjects ?? []);
    expect(subjects.filter((s: any) => s.kind === 'ServiceAccount')).toEqual([]);
  });

  it('the operator role reads, rolls Knative Services, and never touches Secrets', () => {
    const roles = out.all.filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole');
    expect(roles.map((r) => r.kind + '/' + r.metadata.name)).toEqual(['Role/speed-layer-operator']);
    const rules = roles[0]!.rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    for (const r of rules) {
      expect(r.resources).not.toContain('secrets');
      expect(r.resources).not.toContain('*');
      expect(r.verbs).not.toContain('*');
      const writes = r.verbs.filter((v) => !['get', 'list', 'watch'].includes(v));
      if (writes.length) expect({ groups: r.apiGroups, resources: r.resources, writes }).toEqual({ groups: ['serving.knative.dev'], resources: ['services'], writes: ['patch'] });
    }
  });

  it('every pod of a quota-scoped namespace carries a priority class a quota accounts for', () => {
    const scoped = new Map<string, string[]>();
    for (const q of out.all.filter((o) => o.kind === 'ResourceQuota')) {
      for (const e of q.spec.scopeSelector?.matchExpressions ?? []) if (e.operator === 'In') scoped.set(q.metadata.namespace!, [...(scoped.get(q.metadata.namespace!) ?? []), ...e.values]);
    }
    for (const t of podTemplates(out.all)) expect(scoped.get(t.namespace) ?? [], t.owner).toContain(t.spec.priorityClassName);
  });
});
