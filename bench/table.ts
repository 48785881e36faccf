/**
 * The results table of bench/RESULTS.md, from JSON summaries:
 *   npx tsx bench/table.ts bench/out/a.json bench/out/b.json …
 * One row per run, then the command that reproduces each row.
 */
import { readFileSync } from 'node:fs';
import type { Summary } from './summary.js';

const s = (v: number | undefined, unit = '') => (v === undefined || Number.isNaN(v) ? '–' : `${v.toLocaleString('en')}${unit}`);
const secs = (ms: number | undefined) => (ms === undefined ? '–' : ms >= 10_000 ? `${(ms / 1000).toFixed(0)} s` : `${(ms / 1000).toFixed(1)} s`);

const files = process.argv.slice(2);
const rows = files.map((f) => ({ f, x: JSON.parse(readFileSync(f, 'utf8')) as Summary }));
console.log('| # | path | target/s | measured | users | sent/s | stored/s | lost | dup | freshness p50 / p95 / p99 | query p50 / p99 | request p99 | CPU s per M events | cores (sut + disp.) | peak RSS sut | parts | KPA replicas max | baseline stored/s | baseline CPU s/M | ours/theirs events/s | ours/theirs CPU/M | cores used by other processes |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
rows.forEach(({ x }, i) => {
  const f = x.freshness_ms;
  const cores = (x.processes.sut?.cores ?? 0) + (x.processes.dispatcher?.cores ?? 0);
  console.log(`| ${i + 1} | ${x.mode} | ${s(x.rate_target)} | ${x.duration_s} s | ${x.concurrent_users} | ${s(x.sent_per_s)} | ${s(x.events_per_s)} | ${s(x.lost)}${x.details.drained ? '' : '*'} | ${s(x.duplicates)} | ` +
    `${f.count ? `${secs(f.p50)} / ${secs(f.p95)} / ${secs(f.p99)}` : '–'}${f.missing ? ` (${f.missing} unseen)` : ''} | ` +
    `${x.query_ms && x.query_ms.count ? `${s(x.query_ms.p50)} / ${s(x.query_ms.p99)} ms` : x.concurrent_users ? `all ${s(x.query_ms?.failures)} failed` : '–'} | ${x.request_ms.count ? secs(x.request_ms.p99) : '–'} | ` +
    `${s(x.cpu_s_per_million)} | ${cores.toFixed(2)} | ${s(x.processes.sut?.peak_rss_mib, ' MiB')} | ${s(x.clickhouse.parts_active)} | ${s(x.autoscaling.ingest.max_replicas)} | ` +
    `${s(x.baseline?.events_per_s)} | ${s(x.baseline?.cpu_s_per_million)} | ${s(x.baseline?.ratio_ours_to_theirs.events_per_s)} | ${s(x.baseline?.ratio_ours_to_theirs.cpu_s_per_million)} | ${s(x.environment.machine_in_window?.other_processes_cores)} |`);
});
console.log('\n\\* did not drain: the missing ids include records still queued (in Kafka or unanswered) when the run stopped.\n');
rows.forEach(({ x, f }, i) => console.log(`${i + 1}. \`${x.command}\`  → \`${f}\``));
