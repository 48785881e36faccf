/**
 * The per-minute series of a summary (series.per_minute) as an SVG line chart: stored/s, session
 * freshness p99 and sessionizer run p99 against their targets, and the RSS of every process, so a
 * soak's flatness can be seen. The bench writes it next to the summary; this also renders one
 * from an existing summary:
 *
 *   npx tsx bench/plot-minutes.ts bench/out/kafka-5000.json [out.svg]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { isMain } from '../local/is-main.js';
import { renderSvg, type Line, type Plot } from './plot.js';
import type { MinuteRow } from './session-figures.js';
import { TARGETS } from './targets.js';

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];

export function minutePlot(title: string, rows: MinuteRow[]): Plot {
  const pts = (f: (r: MinuteRow) => number | null) => rows.flatMap((r) => { const v = f(r); return v === null ? [] : [[r.minute + 1, v] as [number, number]]; });
  const procs = [...new Set(rows.flatMap((r) => Object.keys(r.rss_mib)))];
  const measured = rows.filter((r) => r.measured).map((r) => r.minute);
  return {
    title, subtitle: ['per minute since the load started; grey: outside the measured window (warm-up, drain)'], xUnit: ' min',
    xMax: Math.max(5, rows.length),
    shade: measured.length ? [{ from: 0, to: measured[0]!, label: 'warm-up' }] : [],
    panels: [
      { title: 'Stored per second', unit: 'rows/s', lines: [{ label: 'stored/s', points: pts((r) => r.stored_per_s), color: COLORS[0]! }] },
      {
        title: 'Sessions: freshness p99 and sessionizer run p99', unit: 's',
        hlines: [{ y: TARGETS.sessionFreshnessP99S, label: `session freshness target ${TARGETS.sessionFreshnessP99S} s`, color: '#d62728' }, { y: TARGETS.sessionizerRunP99S, label: `run target ${TARGETS.sessionizerRunP99S} s`, color: '#9467bd' }],
        lines: [
          { label: 'session freshness p99', points: pts((r) => r.session_freshness_p99_s), color: COLORS[1]! },
          { label: 'sessionizer run p99', points: pts((r) => r.sessionizer_run_p99_s), color: COLORS[4]! },
        ],
      },
      { title: 'Memory (RSS) of each process', unit: 'MiB', lines: procs.map((n, i): Line => ({ label: n, points: pts((r) => r.rss_mib[n] ?? null), color: COLORS[i % COLORS.length]! })) },
    ],
  };
}

export const minutePlotSvg = (title: string, rows: MinuteRow[]) => renderSvg(minutePlot(title, rows));

if (isMain(import.meta.url)) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: npx tsx bench/plot-minutes.ts SUMMARY.json [OUT.svg]');
  const s = JSON.parse(readFileSync(file, 'utf8')) as { run: string; series: { per_minute?: MinuteRow[] } };
  const out = process.argv[3] ?? file.replace(/\.json$/, '') + '.minutes.svg';
  writeFileSync(out, minutePlotSvg(`speed-layer bench ${s.run}: per minute`, s.series.per_minute ?? []));
  console.log(`wrote ${out}`);
}
