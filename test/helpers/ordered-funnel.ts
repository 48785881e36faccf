import { FUNNEL_STEPS } from '../../functions/schemas/events.js';
import type { RefSession } from '../../generator/reference-sessions.js';

/**
 * The ordered funnel the API must answer, from the reference sessions: per step, the sessions
 * (and distinct users) that reached at least that step in order; the time to purchase as
 * ClickHouse's quantileExactInclusive computes it (linear between the nearest ranks), rounded.
 */
export function expectedOrderedFunnel(sessions: readonly RefSession[], tierOf: (user: string) => string) {
  const steps = (list: readonly RefSession[]) => FUNNEL_STEPS.map((step, i) => {
    const reached = list.filter((s) => s.funnel_step >= i + 1);
    return { step, sessions: reached.length, users: new Set(reached.map((s) => s.user_id)).size };
  });
  const tiers = [...new Set(sessions.map((s) => tierOf(s.user_id)))].sort();
  const ofTier = (t: string) => sessions.filter((s) => tierOf(s.user_id) === t);
  return {
    overall: steps(sessions),
    byTier: Object.fromEntries(tiers.map((t) => [t, steps(ofTier(t))])),
    timeToConvert: timeToConvert(sessions),
    timeToConvertByTier: Object.fromEntries(tiers.map((t) => [t, timeToConvert(ofTier(t))])),
  };
}

function timeToConvert(sessions: readonly RefSession[]) {
  const ms = sessions.filter((s) => s.funnel_step === FUNNEL_STEPS.length).map((s) => s.funnel_ms).sort((a, b) => a - b);
  const q = (level: number) => {
    const pos = level * (ms.length - 1);
    const lo = Math.floor(pos);
    return Math.round(ms[lo]! + (pos - lo) * ((ms[lo + 1] ?? ms[lo]!) - ms[lo]!));
  };
  return { converted: ms.length, median_ms: ms.length ? q(0.5) : null, p90_ms: ms.length ? q(0.9) : null };
}
