import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Grafana cannot run here, so the dashboards are checked for what would make an import fail or
// render wrong: parseable JSON, unique panel ids, a gridPos inside the 24-column grid without
// overlaps, and a datasource on every panel and query that resolves to a declared variable.

const dir = fileURLToPath(new URL('../../monitoring/dashboards/', import.meta.url));
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

interface DatasourceRef { readonly type?: string; readonly uid?: string }
interface GridPos { readonly h: number; readonly w: number; readonly x: number; readonly y: number }
interface Target { readonly refId?: string; readonly datasource?: DatasourceRef; readonly expr?: string; readonly rawSql?: string }
interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly gridPos: GridPos;
  readonly datasource?: DatasourceRef;
  readonly targets?: readonly Target[];
  readonly panels?: readonly Panel[];
}
interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly schemaVersion: number;
  readonly panels: readonly Panel[];
  readonly templating: { readonly list: readonly { readonly name: string; readonly type: string; readonly query?: string }[] };
}

const load = (file: string) => JSON.parse(readFileSync(dir + file, 'utf8')) as Dashboard;
const flatten = (panels: readonly Panel[]): Panel[] => panels.flatMap((p) => [p, ...flatten(p.panels ?? [])]);

// The datasource variables the dashboards may use, and the plugin each must select.
const DATASOURCES: Record<string, string> = { '${DS_PROMETHEUS}': 'prometheus', '${DS_CLICKHOUSE}': 'grafana-clickhouse-datasource' };

describe('Grafana dashboards', () => {
  it('include operations and business', () => {
    expect(files).toEqual(expect.arrayContaining(['business.json', 'operations.json']));
  });

  it('have unique uids', () => {
    const uids = files.map((f) => load(f).uid);
    expect(new Set(uids).size).toBe(uids.length);
  });

  describe.each(files)('%s', (file) => {
    const text = readFileSync(dir + file, 'utf8');

    it('is valid JSON with a uid, a title and a current schema version', () => {
      expect(() => JSON.parse(text)).not.toThrow();
      const d = load(file);
      expect(d.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
      expect(d.title.length).toBeGreaterThan(0);
      expect(d.schemaVersion).toBeGreaterThanOrEqual(36);
      expect(d.panels.length).toBeGreaterThan(0);
    });

    it('has unique integer panel ids', () => {
      const ids = flatten(load(file).panels).map((p) => p.id);
      for (const id of ids) expect(Number.isInteger(id)).toBe(true);
      expect(new Set(ids).size).toBe(ids.length);
    });

    it('places every panel inside the 24-column grid without overlaps', () => {
      const panels = flatten(load(file).panels);
      for (const { title, gridPos: g } of panels) {
        expect(g, title).toBeDefined();
        for (const k of ['h', 'w', 'x', 'y'] as const) expect(Number.isInteger(g[k]), `${title} gridPos.${k}`).toBe(true);
        expect(g.w, title).toBeGreaterThanOrEqual(1);
        expect(g.h, title).toBeGreaterThanOrEqual(1);
        expect(g.x, title).toBeGreaterThanOrEqual(0);
        expect(g.x + g.w, title).toBeLessThanOrEqual(24);
      }
      for (const [i, a] of panels.entries()) {
        for (const b of panels.slice(i + 1)) {
          const overlap = a.gridPos.x < b.gridPos.x + b.gridPos.w && b.gridPos.x < a.gridPos.x + a.gridPos.w
            && a.gridPos.y < b.gridPos.y + b.gridPos.h && b.gridPos.y < a.gridPos.y + a.gridPos.h;
          expect(overlap, `"${a.title}" overlaps "${b.title}"`).toBe(false);
        }
      }
    });

    it('gives every panel and query a datasource that a datasource variable declares', () => {
      const d = load(file);
      const declared = new Map(d.templating.list.filter((v) => v.type === 'datasource').map((v) => [`\${${v.name}}`, v.query]));
      const check = (where: string, ref: DatasourceRef | undefined) => {
        expect(ref?.uid, `${where} has no datasource uid`).toBeDefined();
        const plugin = DATASOURCES[ref!.uid!];
        expect(plugin, `${where}: unexpected datasource ${ref!.uid}`).toBeDefined();
        expect(declared.get(ref!.uid!), `${where}: ${ref!.uid} is not a datasource variable of this dashboard`).toBe(plugin);
        expect(ref!.type, where).toBe(plugin);
      };
      for (const p of flatten(d.panels).filter((p) => p.type !== 'row')) {
        check(`panel "${p.title}"`, p.datasource);
        expect(p.targets?.length, `panel "${p.title}" has no query`).toBeGreaterThan(0);
        for (const t of p.targets ?? []) {
          check(`panel "${p.title}" query ${t.refId}`, t.datasource ?? p.datasource);
          expect((t.expr ?? t.rawSql ?? '').trim(), `panel "${p.title}" query ${t.refId} is empty`).not.toBe('');
        }
      }
    });

    it('reads ReplacingMergeTree tables through FINAL', () => {
      // These keep older versions or redelivered copies of a row until a merge, which may never
      // come: only FINAL gives the current rows (the aggregated tables use -Merge/sum instead).
      for (const p of flatten(load(file).panels)) {
        for (const t of p.targets ?? []) {
          for (const table of ['user_sessions_realtime', 'session_funnel', 'dead_letter_events']) {
            if (t.rawSql?.includes(table)) expect(t.rawSql, p.title).toMatch(new RegExp(`${table}\\s+FINAL\\b`));
          }
        }
      }
    });
  });
});
