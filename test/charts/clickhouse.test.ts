/**
 * The ClickHouse ConfigMap carries the settings of the issue, the users get exactly their rights,
 * the XML is well formed, and the schema Job applies sql/ the way the functions' migration does.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { find, mib, real, ROOT } from './synth.js';
import { values } from '../../charts/values.js';

const out = real();
const cm = find(out.all, 'ConfigMap', 'clickhouse-config', 'speed-layer');
const server: string = cm.data['server.xml'];
const users: string = cm.data['users.xml'];
const sts = find(out.all, 'StatefulSet', 'clickhouse', 'speed-layer');
const container = sts.spec.template.spec.containers[0];
const GiB = 2 ** 30;

/** The text of <tag> inside `xml` (the first, or the one under `within`). */
function setting(xml: string, tag: string, within?: string): string | undefined {
  const scope = within ? new RegExp(`<${within}>([\\s\\S]*?)</${within}>`).exec(xml)?.[1] ?? '' : xml;
  return new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(scope)?.[1];
}
const num = (xml: string, tag: string, within?: string) => Number(setting(xml, tag, within));

/** A tiny well-formedness check: tags nest and close. */
function wellFormed(xml: string): boolean {
  const stack: string[] = [];
  for (const m of xml.replace(/<!--[\s\S]*?-->/g, '').matchAll(/<(\/?)([A-Za-z_][\w.-]*)([^>]*?)(\/?)>/g)) {
    const [, close, name, , self] = m;
    if (self) continue;
    if (close) {
      if (stack.pop() !== name) return false;
    } else stack.push(name!);
  }
  return stack.length === 0;
}

describe('ClickHouse configuration', () => {
  it('is well-formed XML rooted at <clickhouse>', () => {
    for (const xml of [server, users]) {
      expect(wellFormed(xml)).toBe(true);
      expect(xml).toMatch(/<clickhouse>[\s\S]*<\/clickhouse>\s*$/);
    }
    expect(wellFormed('<a><b></a></b>')).toBe(false);
  });

  it('carries the memory, concurrency and cache settings', () => {
    expect(num(users, 'max_memory_usage', 'default')).toBe(6 * GiB);
    expect(num(users, 'max_memory_usage_for_user', 'default')).toBe(5 * GiB);
    expect(num(server, 'max_concurrent_queries')).toBe(50);
    expect(num(server, 'uncompressed_cache_size')).toBe(1 * GiB);
    expect(num(server, 'mark_cache_size')).toBe(512 * 2 ** 20);
  });

  it('keeps max_server_memory_usage below the container limit and above one query', () => {
    const limitBytes = mib(container.resources.limits.memory) * 2 ** 20;
    expect(limitBytes).toBe(7 * GiB);
    const maxServer = num(server, 'max_server_memory_usage');
    expect(maxServer).toBeLessThan(limitBytes);
    expect(maxServer).toBeGreaterThanOrEqual(num(users, 'max_memory_usage', 'default'));
    // One user's queries and both caches full still fit under the server's own limit.
    expect(num(users, 'max_memory_usage_for_user', 'default') + num(server, 'uncompressed_cache_size') + num(server, 'mark_cache_size')).toBeLessThanOrEqual(maxServer);
  });

  it('runs with 7 Gi and 3 CPU, requests = limits, on a 20 Gi volume and a backup volume', () => {
    expect(container.resources.limits).toEqual({ memory: '7168Mi', cpu: '3' });
    expect(container.resources.requests).toEqual(container.resources.limits);
    const claims = Object.fromEntries(sts.spec.volumeClaimTemplates.map((t: any) => [t.metadata.name, t.spec]));
    expect(claims.data.resources.requests.storage).toBe('20Gi');
    expect(claims.backups.resources.requests.storage).toBe('20Gi');
    expect(claims.data.storageClassName).toBe('speed-layer-local');
    expect(find(out.all, 'StorageClass', 'speed-layer-local').provisioner).toBe('rancher.io/local-path');
    expect(server).toMatch(/<backups>\s*<allowed_disk>backups<\/allowed_disk>/);
    expect(server).toMatch(/<disks>\s*<backups>\s*<type>local<\/type>\s*<path>\/backups\/<\/path>/);
    expect(container.volumeMounts).toContainEqual({ name: 'backups', mountPath: '/backups' });
  });

  it('has an ingest user limited to INSERT on speed_layer, and a sessionizer user with INSERT and SELECT', () => {
    const ingest = /<ingest>\s*<password[\s\S]*?<\/ingest>/.exec(users)![0];
    expect([...ingest.matchAll(/<query>([^<]*)<\/query>/g)].map((m) => m[1])).toEqual(['GRANT INSERT ON speed_layer.*']);
    expect(ingest).toMatch(/<profile>ingest<\/profile>/);
    const sessionizer = /<sessionizer>\s*<password[\s\S]*?<\/sessionizer>/.exec(users)![0];
    expect([...sessionizer.matchAll(/<query>([^<]*)<\/query>/g)].map((m) => m[1])).toEqual(['GRANT INSERT, SELECT ON speed_layer.*']);
    expect(sessionizer).toMatch(/<profile>sessionizer<\/profile>/);
  });

  it('has a readonly analytics user with a quota', () => {
    const analytics = /<analytics>\s*<password[\s\S]*?<\/analytics>/.exec(users)![0];
    expect([...analytics.matchAll(/<query>([^<]*)<\/query>/g)].map((m) => m[1])).toEqual(['GRANT SELECT ON speed_layer.*']);
    expect(analytics).toMatch(/<quota>analytics<\/quota>/);
    const profile = /<analytics>\s*<profile>default<\/profile>[\s\S]*?<\/analytics>/.exec(users)![0];
    expect(Number(setting(profile, 'readonly'))).toBeGreaterThanOrEqual(1);
    const quota = /<quotas>[\s\S]*<\/quotas>/.exec(users)![0];
    expect(num(quota, 'duration')).toBe(60);
    expect(num(quota, 'queries')).toBe(values.clickhouse.analyticsQuota.queries);
    expect(num(quota, 'queries')).toBeGreaterThan(0);
  });

  it('takes every password from the Secret, and lets the default user in from the pod only', () => {
    const envFromSecret = Object.fromEntries(container.env.filter((e: any) => e.valueFrom).map((e: any) => [e.name, e.valueFrom.secretKeyRef]));
    for (const m of users.matchAll(/<password from_env="([A-Z_]+)"\/>/g)) expect(envFromSecret[m[1]!]?.name).toBe('clickhouse-users');
    expect([...users.matchAll(/<password from_env=/g)]).toHaveLength(4);
    expect(users).toMatch(/<default>\s*<networks replace="replace">\s*<ip>::1<\/ip>\s*<ip>127\.0\.0\.1<\/ip>/);
  });

  it('gives each function the ClickHouse user its role needs', () => {
    const user = (fn: string) => find(out.all, 'ConfigMap', `${fn}-config`, 'speed-layer').data.CLICKHOUSE_USER;
    expect(user('ingest')).toBe('ingest');
    expect(user('sessionizer')).toBe('sessionizer');
    expect(user('analytics')).toBe('analytics');
    expect(find(out.all, 'ConfigMap', 'speed-layer-config', 'speed-layer').data.CLICKHOUSE_URL).toBe('http://clickhouse.speed-layer.svc:8123');
  });
});

describe('the schema job', () => {
  it('holds sql/ as the functions apply it: NNN_*.sql in order, {db} filled in', () => {
    const schema = find(out.all, 'ConfigMap', 'clickhouse-schema', 'speed-layer');
    const files = readdirSync(`${ROOT}sql`).filter((f) => /^\d+_.+\.sql$/.test(f)).sort();
    expect(Object.keys(schema.data ?? {})).toEqual(files);
    for (const f of files) {
      expect(schema.data[f]).toBe(`${readFileSync(`${ROOT}sql/${f}`, 'utf8').replaceAll('{db}', 'speed_layer').trim()}\n`);
      expect(schema.data[f]).not.toContain('{db}');
    }
  });

  it('runs as migrator and applies the files in name order', () => {
    const job = out.all.find((o) => o.kind === 'Job' && o.metadata.name.startsWith('clickhouse-schema-'))!;
    const script: string = job.spec.template.spec.containers[0].command[2];
    expect(script).toContain('--user migrator');
    expect(script).toMatch(/ls \/sql \| grep "\\\.sql\$" \| sort/);
    expect(job.spec.ttlSecondsAfterFinished).toBeGreaterThan(0);
  });
});
