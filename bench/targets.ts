import type { BenchArgs } from './args.js';

/**
 * Every target the summary checks, in one place: the figure, its bound, and the issue that set it.
 * A run "qualifies" for a target when it ran the way the target is stated (mode, rate, length).
 */
export const TARGETS = {
  /** Issue 1: the Kafka path at the seed's rate. */
  throughput: { mode: 'kafka', rate: 10_000, durationS: 300, users: 50 },
  sustainedShare: 0.99,
  freshnessP99Ms: 5_000,
  queryP99Ms: 1_000,
  /** Issue 13: sessions at the seed's rate whatever the history. */
  sessionFreshnessP99S: 5,
  sessionizerRunP99S: 1,
  sessionizerCores: 0.25,
  /** Each session figure with --history within this factor of the same run without history. */
  historyFactor: 1.5,
  /** A soak: at least this long and this rate, first 10 minutes against the last 10 within historyFactor. */
  soak: { minS: 45 * 60, minRate: 5_000, compareS: 600 },
} as const;

export type TargetInputs = {
  eventsPerS: number; sentPerS: number; lost: number;
  freshness: { count: number; missing: number; p99: number };
  queryP99Ms: number | undefined; queryCount: number;
  sessionFreshnessP99S: number | null; sessionizerRunP99S: number | null; sessionizerCores: number | null;
};

/** The targets' verdicts for one run; null where the figure was not measured. */
export function checkTargets(args: BenchArgs, f: TargetInputs) {
  const t = TARGETS.throughput;
  const atMost = (v: number | null, bound: number) => (v === null ? null : v <= bound);
  return {
    required: `${t.mode} mode, ${t.rate.toLocaleString('en')} events/s for ${t.durationS} s, 0 lost, freshness p99 <= ${TARGETS.freshnessP99Ms / 1000} s, query p99 < ${TARGETS.queryP99Ms / 1000} s with >= ${t.users} users; ` +
      `sessions: session freshness p99 <= ${TARGETS.sessionFreshnessP99S} s, sessionizer run p99 <= ${TARGETS.sessionizerRunP99S} s, sessionizer <= ${TARGETS.sessionizerCores} core`,
    this_run_qualifies: args.mode === t.mode && args.rate >= t.rate && args.durationS >= t.durationS && args.users >= t.users,
    sustained_rate: f.eventsPerS >= TARGETS.sustainedShare * args.rate && f.sentPerS >= TARGETS.sustainedShare * args.rate,
    lost_zero: f.lost === 0,
    freshness_p99_le_5s: f.freshness.count > 0 && f.freshness.missing === 0 && f.freshness.p99 <= TARGETS.freshnessP99Ms,
    query_p99_lt_1s: f.queryP99Ms !== undefined && f.queryCount > 0 && f.queryP99Ms < TARGETS.queryP99Ms,
    session_freshness_p99_le_5s: atMost(f.sessionFreshnessP99S, TARGETS.sessionFreshnessP99S),
    sessionizer_run_p99_le_1s: atMost(f.sessionizerRunP99S, TARGETS.sessionizerRunP99S),
    sessionizer_cores_le_0_25: atMost(f.sessionizerCores, TARGETS.sessionizerCores),
  };
}
