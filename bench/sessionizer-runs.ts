/**
 * The sessionizer's runs from a kept run folder's log, by 10 minutes: run time p50/p99/max, how many
 * took over a second and which phase led them, each phase's p50, rows read and session rows written
 * a run, and the snapshots (users, ms). The system under test must have logged at debug level:
 *   LOG_LEVEL=debug npm run bench -- … --keep
 *   npx tsx bench/sessionizer-runs.ts .data/bench/<run>/sut.log
 */
import { readFileSync } from 'node:fs';

type Run = { time: number; ms: number; rows: number; written: number; phases: Record<string, number> };
const file = process.argv[2];
if (!file) throw new Error('usage: npx tsx bench/sessionizer-runs.ts <sut.log>');

const runs: Run[] = [];
const snapshots: { time: number; users: number; ms: number }[] = [];
for (const line of readFileSync(file, 'utf8').split('\n')) {
  if (!line.startsWith('{')) continue;
  const j = JSON.parse(line) as { msg?: string } & Run & { users: number };
  if (j.msg === 'sessionizer run') runs.push(j);
  else if (j.msg === 'sessionizer snapshot written') snapshots.push(j);
}
if (!runs.length) throw new Error(`no 'sessionizer run' lines in ${file}: was LOG_LEVEL=debug?`);

const t0 = runs[0]!.time;
const minute = (t: number) => (t - t0) / 60_000;
const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? 0;
const last = minute(runs[runs.length - 1]!.time);
for (let from = 0; from <= last; from += 10) {
  const rs = runs.filter((r) => minute(r.time) >= from && minute(r.time) < from + 10);
  if (!rs.length) continue;
  const long = rs.filter((r) => r.ms > 1_000);
  const led: Record<string, number> = {};
  for (const r of long) {
    const top = Object.entries(r.phases).sort((a, b) => b[1] - a[1])[0]![0];
    led[top] = (led[top] ?? 0) + 1;
  }
  const phases = Object.fromEntries(Object.keys(rs[0]!.phases).map((k) => [k, q(rs.map((r) => r.phases[k] ?? 0), 0.5)]));
  console.log(JSON.stringify({
    minutes: `${from}-${from + 9}`, runs: rs.length, ms_p50: q(rs.map((r) => r.ms), 0.5), ms_p99: q(rs.map((r) => r.ms), 0.99), ms_max: Math.max(...rs.map((r) => r.ms)),
    over_1s: long.length, over_1s_led_by: led, phase_ms_p50: phases, rows_p50: q(rs.map((r) => r.rows), 0.5), written_p50: q(rs.map((r) => r.written), 0.5),
  }));
}
console.log(JSON.stringify({ snapshots: snapshots.map((x) => ({ minute: Math.round(minute(x.time)), users: x.users, ms: x.ms })) }));
