import { readFileSync } from 'node:fs';
import { isMain } from '../local/is-main.js';

/**
 * Reads a V8 .cpuprofile (node --cpu-prof) and ranks the costs: self time per function (where the
 * CPU actually went), total time per function (itself and what it called), and self time per
 * area (our code by folder, each npm package, Node's own internals, GC).
 *
 *   npx tsx bench/profile.ts FILE.cpuprofile [top]
 */
type Node = { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] };
type CpuProfile = { nodes: Node[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number };
export type Cost = { name: string; where: string; ms: number; pct: number };
export type ProfileSummary = { file: string; total_ms: number; busy_ms: number; self: Cost[]; total: Cost[]; areas: { area: string; ms: number; pct: number }[] };

const ROOT = process.cwd();

function where(url: string, line: number): string {
  if (!url) return '';
  const path = url.replace(/^file:\/\//, '').replace(`${ROOT}/`, '');
  return `${path}:${line + 1}`;
}

/** Which part of the system a frame belongs to: an npm package, a folder of ours, Node itself, or V8. */
export function areaOf(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native)';
  const path = url.replace(/^file:\/\//, '');
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (pkg) return pkg[1]!;
  if (path.startsWith('node:') || !path.startsWith('/')) return 'node (internals)';
  const rel = path.replace(`${ROOT}/`, '');
  const parts = rel.split('/');
  return parts.length > 2 ? `${parts[0]}/${parts[1]}` : parts[0]!;
}

/**
 * `windows`: only the samples taken inside these [from, to] spans count (µs of the monotonic clock,
 * as `process.hrtime.bigint() / 1000n` reads it, the profile's own clock): a benchmark that
 * alternates making load and measuring can rank the measured parts alone.
 */
export function summarizeProfile(file: string, top = 25, windows?: readonly (readonly [number, number])[]): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  let at = p.startTime;
  let w = 0;
  const inside = (dtUs: number) => {
    at += dtUs;
    if (!windows) return true;
    while (w < windows.length && windows[w]![1] < at) w++;
    return w < windows.length && windows[w]![0] <= at;
  };
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const key = (n: Node) => `${n.callFrame.functionName || '(anonymous)'}\u0000${where(n.callFrame.url, n.callFrame.lineNumber)}`;
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const areas = new Map<string, number>();
  let all = 0;
  let idle = 0;
  p.samples.forEach((id, i) => {
    const dt = (p.timeDeltas[i] ?? 0) / 1000;
    const n = byId.get(id);
    if (!inside(p.timeDeltas[i] ?? 0) || !n) return;
    all += dt;
    if (n.callFrame.functionName === '(idle)') { idle += dt; return; }
    self.set(key(n), (self.get(key(n)) ?? 0) + dt);
    const area = areaOf(n.callFrame.url, n.callFrame.functionName);
    areas.set(area, (areas.get(area) ?? 0) + dt);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const node = byId.get(cur)!;
      if (node.callFrame.functionName === '(root)') break;
      const k = key(node);
      if (seen.has(k)) continue;
      seen.add(k);
      total.set(k, (total.get(k) ?? 0) + dt);
    }
  });
  const busy = all - idle;
  const rank = (m: Map<string, number>): Cost[] => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, ms]) => {
    const [name, at] = k.split('\u0000');
    return { name: name!, where: at!, ms: Math.round(ms), pct: Math.round((1000 * ms) / busy) / 10 };
  });
  return {
    file, total_ms: Math.round(all), busy_ms: Math.round(busy),
    self: rank(self), total: rank(total),
    areas: [...areas.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([area, ms]) => ({ area, ms: Math.round(ms), pct: Math.round((1000 * ms) / busy) / 10 })),
  };
}

export function formatProfile(s: ProfileSummary, top = 15): string {
  const rows = (list: { pct: number; name?: string; where?: string; area?: string }[]) => list.slice(0, top).map((c) => `  ${c.pct.toFixed(1).padStart(5)} %  ${c.area ?? `${c.name}  ${c.where}`}`).join('\n');
  return `${s.file}: ${(s.busy_ms / 1000).toFixed(1)} s busy of ${(s.total_ms / 1000).toFixed(1)} s profiled (percentages of busy time)
self time by area:
${rows(s.areas)}
self time by function:
${rows(s.self)}
total time (with callees) by function:
${rows(s.total)}`;
}

if (isMain(import.meta.url)) {
  const file = process.argv[2];
  if (!file) { console.error('usage: npx tsx bench/profile.ts FILE.cpuprofile [top]'); process.exit(2); }
  console.log(formatProfile(summarizeProfile(file, Number(process.argv[3] ?? 25)), Number(process.argv[3] ?? 15)));
}
