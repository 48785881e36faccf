/**
 * Secrets and the security bullet of issue 8, on what is tracked and what is deployed:
 *   - no literal password, token or key in the repository's tracked files, in the synthesized
 *     manifests, in what `cdk8s synth` writes (dist/), or in a dist/ left in the working tree;
 *   - the manifests take every credential from a Secret (secretKeyRef), never a literal, and
 *     the functions read theirs only from the environment (functions/core/config.ts);
 *   - the function service accounts have no token and no rights; NetworkPolicies deny by default
 *     and Pod Security "restricted" is enforced where our workloads run (the kafka namespace, run
 *     by Strimzi, is an explicit, reported exception: it denies incoming connections by default,
 *     not outgoing ones, and enforces "baseline");
 *   - the ClickHouse users the functions connect as cannot change the schema, and analytics is
 *     readonly under a quota.
 * test/charts/pod-security.test.ts, network-policies.test.ts and clickhouse.test.ts check the rest
 * (every control of "restricted", the exact flows, the exact grants).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { find, podTemplates, real, ROOT, type Manifest } from './synth.js';

const out = real();

// ---------------------------------------------------------------- the scanner

const KEY = String.raw`(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?)`;
const RULES: { name: string; re: RegExp; strong?: boolean }[] = [
  // a credential-named key (in code, JSON, YAML) given a quoted literal
  { name: 'credential literal', re: new RegExp(String.raw`\b\w*${KEY}\w*["']?\s*[:=]\s*(["'\`])([^"'\`\n]*)\1`, 'gi') },
  // PASSWORD=x (shell, env files, URLs' query strings)
  { name: 'credential assignment', re: new RegExp(String.raw`\b\w*${KEY}\w*\s*=\s*()([A-Za-z0-9+/_.~-]{4,})(?=\s|$|[;,&])`, 'gi') },
  // an XML element named password* with text in it (ClickHouse users.xml)
  { name: 'credential element', re: /<(password\w*)>()([^<]*)<\/\1>/gi },
  // a URL with a user and a password before the host
  { name: 'credentials in a URL', re: /\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@'"`]+:()([^@\s/'"`]+)@/gi, strong: true },
  { name: 'PEM block', re: /-----BEGIN [A-Z0-9 ]+-----/g, strong: true },
  { name: 'AWS access key id', re: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g, strong: true },
  { name: 'GitHub token', re: /\bgh[pousr]_[A-Za-z0-9]{30,}\b/g, strong: true },
  { name: 'Slack token', re: /\bxox[abprs]-[A-Za-z0-9-]{10,}/g, strong: true },
];

/** A value that names a secret rather than being one. */
const isPlaceholder = (v: string) =>
  v === '' || /^\$/.test(v) || v.includes('${') || v.includes('$(') || /^<[^>]*>$/.test(v) || /^\{\{.*\}\}$/.test(v);

/** Deliberate, reviewed exceptions: file and the exact value matched. */
const KNOWN: { file: string; value: string; why: string }[] = [
  { file: 'charts/values/names.ts', value: 'password', why: 'the name of a key in the Secret "postgres" (SECRETS.postgres.keys.password), not a password' },
  { file: 'test/integration/embedded-params.test.ts', value: 'probe-1', why: "an insert's deduplication token (insert_deduplication_token), not a credential" },
];

interface Hit { where: string; rule: string; text: string }

function scanText(where: string, text: string, strongOnly = false): Hit[] {
  const hits: Hit[] = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    for (const rule of RULES) {
      if (strongOnly && !rule.strong) continue;
      for (const m of line.matchAll(rule.re)) {
        const value = m.length > 2 ? m[m.length - 1]! : m[0];
        if (!rule.strong && isPlaceholder(value)) continue;
        if (rule.name === 'credentials in a URL' && isPlaceholder(value)) continue;
        if (KNOWN.some((k) => where === k.file && k.value === value)) continue;
        hits.push({ where: `${where}:${i + 1}`, rule: rule.name, text: m[0].slice(0, 80) });
      }
    }
  });
  return hits;
}

const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
const isBinary = (buf: Buffer) => buf.subarray(0, 8000).includes(0);

// ---------------------------------------------------------------- secrets

describe('no secrets in the repository, the manifests or dist/', () => {
  it('the tracked files hold no password, token or key', () => {
    const hits: Hit[] = [];
    let scanned = 0;
    for (const f of tracked) {
      const p = join(ROOT, f);
      if (!existsSync(p) || !statSync(p).isFile()) continue;
      const buf = readFileSync(p);
      if (isBinary(buf)) continue;
      scanned++;
      // The lock file's package names (js-tokens and the like) are not credentials: strong rules only.
      hits.push(...scanText(f, buf.toString('utf8'), f === 'package-lock.json'));
    }
    expect(scanned).toBeGreaterThan(200);
    expect(hits).toEqual([]);
  });

  it('every reviewed exception still matches something (no stale entries)', () => {
    for (const k of KNOWN) expect(readFileSync(join(ROOT, k.file), 'utf8'), k.file).toContain(`'${k.value}'`);
  });

  it('the synthesized manifests hold none, and no Secret object', () => {
    expect(out.all.filter((o) => o.kind === 'Secret')).toEqual([]);
    const hits = out.all.flatMap((o) => scanText(`${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`, JSON.stringify(o, null, 1)));
    expect(hits).toEqual([]);
  });

  it('what `cdk8s synth` writes (dist/) holds none; nor does a dist/ left in the working tree', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'synth-security-'));
    execFileSync(join(ROOT, 'node_modules/.bin/cdk8s'), ['synth', '--no-check-upgrade', '--output', outdir], { cwd: ROOT, stdio: 'pipe', timeout: 120_000 });
    const dirs = [outdir, ...(existsSync(join(ROOT, 'dist')) ? [join(ROOT, 'dist')] : [])];
    const hits: Hit[] = [];
    let files = 0;
    const walk = (d: string) => {
      for (const f of readdirSync(d)) {
        const p = join(d, f);
        if (statSync(p).isDirectory()) walk(p);
        else { files++; hits.push(...scanText(relative(ROOT, p).startsWith('..') ? `synth/${f}` : relative(ROOT, p), readFileSync(p, 'utf8'))); }
      }
    };
    for (const d of dirs) walk(d);
    expect(files).toBeGreaterThanOrEqual(9);
    expect(hits).toEqual([]);
  });

  it('the scanner is not a no-op: it flags each kind of secret, and lets placeholders pass', () => {
    const pw = ['pass', 'word'].join('');
    const bad = [
      `const ${pw} = 'hunter2-xyz';`,
      `  CLICKHOUSE_${pw.toUpperCase()}: "s3cr3tValue"`,
      `api_${'key'}: 'abcdef0123456789'`,
      `export PG${pw.toUpperCase()}=s3cr3tValue`,
      `<${pw}>plain</${pw}>`,
      `DATABASE_URL=postgres://speed_layer:${'s3cr3t'}@postgres:5432/db`,
      ['-----BEGIN', 'RSA PRIVATE KEY-----'].join(' '),
      'key = ' + ['AKIA', 'Z'.repeat(16)].join(''),
      'GH=' + ['ghp', 'a'.repeat(36)].join('_'),
    ];
    for (const line of bad) expect(scanText('x.ts', line), line).not.toEqual([]);
    const fine = [
      `${pw}="$(rand)"`, `${pw}: process.env.X`, `CLICKHOUSE_${pw.toUpperCase()}: ''`, `<${pw} from_env="CLICKHOUSE_INGEST_PASSWORD"/>`,
      `postgres://speed_layer:$pg_${pw}@postgres`, `--${pw} "$CLICKHOUSE_MIGRATOR_PASSWORD"`, `${pw}: config.CLICKHOUSE_PASSWORD`,
      `insert_deduplication_token: \`\${batch.id}\``,
    ];
    for (const line of fine) expect(scanText('x.ts', line), line).toEqual([]);
  });
});

// ---------------------------------------------------------------- credentials in the manifests

const CREDENTIAL_NAME = /PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|CREDENTIAL|DATABASE_URL|_DSN$/i;

/** Env vars with a credential's name that do not come from a Secret, in one pod spec. */
function literalCredentials(spec: any): string[] {
  const v: string[] = [];
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
    for (const e of c.env ?? []) {
      if (!CREDENTIAL_NAME.test(e.name)) continue;
      if (e.value !== undefined || !e.valueFrom?.secretKeyRef?.name || !e.valueFrom.secretKeyRef.key) v.push(`${c.name}: ${e.name}`);
    }
    for (const arg of [...(c.command ?? []), ...(c.args ?? [])]) {
      for (const m of String(arg).matchAll(/--password[= ]\s*("?)([^\s"]*)\1/g)) if (!m[2]!.startsWith('$')) v.push(`${c.name}: --password ${m[2]}`);
    }
  }
  return v;
}

describe('credentials come from Secrets and the environment', () => {
  const templates = podTemplates(out.all);

  it('every credential a pod gets is a secretKeyRef, never a literal (env and command lines)', () => {
    expect(templates.length).toBeGreaterThanOrEqual(7);
    for (const t of templates) expect(literalCredentials(t.spec), t.owner).toEqual([]);
  });

  it('the functions get CLICKHOUSE_PASSWORD (and ingest DATABASE_URL) from the Secrets kind/up.sh makes', () => {
    const [users, pg] = ['clickhouse-users', 'postgres'];
    const env = (fn: string) => Object.fromEntries(find(out.all, 'Service', fn, 'speed-layer').spec.template.spec.containers[0].env.map((e: any) => [e.name, e.valueFrom?.secretKeyRef?.name]));
    expect(env('ingest')).toEqual({ CLICKHOUSE_PASSWORD: users, DATABASE_URL: pg });
    expect(env('analytics')).toEqual({ CLICKHOUSE_PASSWORD: users });
    expect(env('sessionizer')).toEqual({ CLICKHOUSE_PASSWORD: users });
  });

  it('no ConfigMap carries a credential: no such key, no user:password@ URL', () => {
    for (const cm of out.all.filter((o) => o.kind === 'ConfigMap')) {
      for (const [k, v] of Object.entries<string>(cm.data ?? {})) {
        expect(CREDENTIAL_NAME.test(k), `${cm.metadata.name}.${k}`).toBe(false);
        expect(String(v), `${cm.metadata.name}.${k}`).not.toMatch(/:\/\/[^/\s:@]+:[^@\s/$]+@/);
      }
    }
  });

  it('the credential check is not a no-op', () => {
    const spec = { containers: [{ name: 'c', env: [{ name: 'CLICKHOUSE_PASSWORD', value: 'x' }, { name: 'DATABASE_URL', valueFrom: { configMapKeyRef: { name: 'a', key: 'b' } } }], args: ['clickhouse-client --password secret'] }] };
    expect(literalCredentials(spec)).toEqual(['c: CLICKHOUSE_PASSWORD', 'c: DATABASE_URL', 'c: --password secret']);
  });

  it('the functions read credentials only from the environment, through config.ts, with no secret default', () => {
    const config = readFileSync(join(ROOT, 'functions/core/config.ts'), 'utf8');
    expect(config).toMatch(/CLICKHOUSE_PASSWORD: Type\.String\(\{ default: '' ?[,}]/);
    // The local default DATABASE_URL names a user, never a password.
    const dbUrl = /DATABASE_URL: Type\.String\(\{ default: '([^']*)'/.exec(config)![1]!;
    expect(new URL(dbUrl).password).toBe('');
    const ch = readFileSync(join(ROOT, 'functions/adapters/clickhouse.ts'), 'utf8');
    expect(ch).toMatch(/password: config\.CLICKHOUSE_PASSWORD/);
    const envReaders = tracked.filter((f) => f.startsWith('functions/') && f.endsWith('.ts'))
      .filter((f) => /process\.env\b/.test(readFileSync(join(ROOT, f), 'utf8').replaceAll('loadConfig(process.env,', '')));
    expect(envReaders).toEqual(['functions/core/config.ts']);
  });
});

// ---------------------------------------------------------------- accounts, policies, users

const FUNCTIONS = ['ingest', 'analytics', 'sessionizer'];

describe('function service accounts have no API rights', () => {
  const bindings: Manifest[] = out.all.filter((o) => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding');

  for (const fn of FUNCTIONS) {
    it(`${fn} runs as its own account, which mounts no token and is bound to nothing`, () => {
      const spec = find(out.all, 'Service', fn, 'speed-layer').spec.template.spec;
      expect(spec.serviceAccountName).toBe(fn);
      expect(spec.automountServiceAccountToken).not.toBe(true);
      const sa = find(out.all, 'ServiceAccount', fn, 'speed-layer');
      expect(sa.automountServiceAccountToken).toBe(false);
      expect(sa.secrets ?? []).toEqual([]);
      // Not by name, nor through the groups every service account is in.
      const subjects = bindings.flatMap((b) => b.subjects ?? []);
      const reaches = (s: any) =>
        (s.kind === 'ServiceAccount' && s.name === fn) ||
        (s.kind === 'User' && s.name === `system:serviceaccount:speed-layer:${fn}`) ||
        (s.kind === 'Group' && ['system:serviceaccounts', 'system:serviceaccounts:speed-layer', 'system:authenticated'].includes(s.name));
      expect(subjects.filter(reaches)).toEqual([]);
    });
  }
});

describe('NetworkPolicies and Pod Security, per namespace', () => {
  const namespaces = out.all.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name);
  const denyAll = (ns: string) => out.all.some((o) => o.kind === 'NetworkPolicy' && o.metadata.namespace === ns &&
    Object.keys(o.spec.podSelector ?? {}).length === 0 && ['Ingress', 'Egress'].every((t) => o.spec.policyTypes?.includes(t)) &&
    !o.spec.ingress?.length && !o.spec.egress?.length);
  const workloadNamespaces = [...new Set(podTemplates(out.all).map((t) => t.namespace))].sort();

  it('every namespace with a workload of ours denies all traffic by default', () => {
    expect(workloadNamespaces).toContain('speed-layer');
    for (const ns of [...workloadNamespaces, 'batch-layer']) expect(denyAll(ns), ns).toBe(true);
  });

  it('namespaces without a full default deny: only kafka, which denies every incoming connection (its egress is open, reported)', () => {
    expect(namespaces.filter((ns) => !denyAll(ns))).toEqual(['kafka']);
    const denyIngress = out.all.filter((o) => o.kind === 'NetworkPolicy' && o.metadata.namespace === 'kafka' &&
      Object.keys(o.spec.podSelector ?? {}).length === 0 && o.spec.policyTypes?.includes('Ingress') && !o.spec.ingress?.length);
    expect(denyIngress.map((o) => o.metadata.name)).toEqual(['default-deny-ingress']);
  });

  it('Pod Security: restricted is enforced everywhere but kafka, which enforces baseline and warns/audits restricted (reported)', () => {
    const enforce = Object.fromEntries(out.all.filter((o) => o.kind === 'Namespace').map((o) => [o.metadata.name, o.metadata.labels?.['pod-security.kubernetes.io/enforce']]));
    expect(enforce).toEqual({ 'speed-layer': 'restricted', 'batch-layer': 'restricted', kafka: 'baseline' });
    for (const ns of out.all.filter((o) => o.kind === 'Namespace')) expect(ns.metadata.labels?.['pod-security.kubernetes.io/audit'], ns.metadata.name).toBe('restricted');
  });
});

describe('ClickHouse users of the functions', () => {
  const users: string = find(out.all, 'ConfigMap', 'clickhouse-config', 'speed-layer').data['users.xml'];
  const block = (section: string, name: string) => new RegExp(`<${section}>[\\s\\S]*?<${name}>([\\s\\S]*?)</${name}>[\\s\\S]*?</${section}>`).exec(users)?.[1] ?? '';
  const grants = (u: string) => [...block('users', u).matchAll(/<query>([^<]*)<\/query>/g)].map((m) => m[1]!);
  const userOf = (fn: string) => find(out.all, 'ConfigMap', `${fn}-config`, 'speed-layer').data.CLICKHOUSE_USER as string;

  it('no function connects as default or migrator; only the schema Job and backups use migrator', () => {
    expect(Object.fromEntries(FUNCTIONS.map((fn) => [fn, userOf(fn)]))).toEqual({ ingest: 'ingest', analytics: 'analytics', sessionizer: 'sessionizer' });
    const migratorUsers = podTemplates(out.all).filter((t) => JSON.stringify(t.spec).includes('--user migrator')).map((t) => t.owner.replace(/-[0-9a-f]{10}$/, ''));
    expect(migratorUsers.sort()).toEqual(['CronJob/clickhouse-backup', 'Job/clickhouse-schema']);
  });

  it('the users the functions connect as cannot change the schema, and only on speed_layer', () => {
    for (const u of ['ingest', 'analytics', 'sessionizer']) {
      for (const g of grants(u)) {
        expect(g, u).toMatch(/^GRANT [A-Z, ]+ ON speed_layer\.\*$/);
        const rights = g.replace(/^GRANT /, '').replace(/ ON .*$/, '').split(/,\s*/);
        for (const r of rights) expect(['INSERT', 'SELECT'], `${u}: ${r}`).toContain(r);
      }
      expect(block('users', u)).not.toMatch(/<access_management>1/);
    }
    expect(grants('analytics')).toEqual(['GRANT SELECT ON speed_layer.*']);
    expect(grants('ingest')).toEqual(['GRANT INSERT ON speed_layer.*']);
  });

  it('analytics is readonly and its quota bounds queries, errors, result rows and execution time', () => {
    expect(Number(/<readonly>(\d+)<\/readonly>/.exec(block('profiles', 'analytics'))?.[1])).toBeGreaterThanOrEqual(1);
    const quota = block('quotas', 'analytics');
    for (const tag of ['queries', 'errors', 'result_rows', 'execution_time']) expect(Number(new RegExp(`<${tag}>(\\d+)</${tag}>`).exec(quota)?.[1]), tag).toBeGreaterThan(0);
    expect(/<quota>([^<]*)<\/quota>/.exec(block('users', 'analytics'))?.[1]).toBe('analytics');
  });
});
