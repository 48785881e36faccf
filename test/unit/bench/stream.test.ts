import { describe, expect, it } from 'vitest';
import { createStream, STREAM_DEFAULTS } from '../../../bench/stream.js';
import { defaultPopulation, expectedGapMs, expectedVisitEvents, populationUser, VISIT_SHAPE } from '../../../bench/population.js';
import { ACTIVITY, type GeneratedRecord } from '../../../generator/simulate.js';

const TIMEOUT = VISIT_SHAPE.sessionTimeoutMs;
const T0 = Date.parse('2026-01-01T00:00:00Z');

/** Drives the stream with a simulated clock: `rate` records/s for `hours`, taken every 100 ms. */
function simulate(rate: number, hours: number, population = defaultPopulation(rate), seed = 7) {
  const stream = createStream({ seed, population, ...STREAM_DEFAULTS });
  const out: GeneratedRecord[] = [];
  let late = 0;
  for (let t = T0; t < T0 + hours * 3600_000; t += 100) {
    const got = stream.take(rate / 10, t);
    expect(got.length).toBe(rate / 10);
    for (const r of got) if (r.kind === 'event' && Date.parse(r.event.timestamp) > t) late++;
    out.push(...got);
  }
  return { stream, out, late, end: T0 + hours * 3600_000 };
}

/** The sessions a 30-minute-gap sessionizer would make, per user, with their tier. */
function sessionsOf(out: GeneratedRecord[]) {
  const byUser = new Map<string, number[]>();
  for (const r of out) if (r.kind === 'event') {
    const list = byUser.get(r.event.user_id) ?? [];
    list.push(Date.parse(r.event.timestamp));
    byUser.set(r.event.user_id, list);
  }
  return byUser;
}

describe('bench stream: the generator\'s visit shape', () => {
  // 40 records/s for 8 simulated hours: ~1.1 M records, visits long past the timeout.
  const { stream, out, late, end } = simulate(40, 8);
  const tierOf = new Map<string, keyof typeof ACTIVITY>();
  for (let i = 0; i < defaultPopulation(40); i++) { const u = populationUser(7, i); tierOf.set(u.user_id, u.tier); }
  const gaps = new Map<string, number[]>();
  const visitEvents = new Map<string, number[]>();
  let returns = 0, sessions = 0, nearTimeout = 0, inVisitGaps = 0;
  for (const [user, times] of sessionsOf(out)) {
    const tier = tierOf.get(user)!;
    let start = times[0]!, n = 1;
    const close = (last: number) => {
      sessions++;
      // Whole visits only: started in the first 5 hours and ended (no event for a timeout) before the end.
      if (start < end - 3 * 3600_000 && last < end - TIMEOUT) (visitEvents.get(tier) ?? visitEvents.set(tier, []).get(tier)!).push(n);
    };
    for (let i = 1; i < times.length; i++) {
      const gap = times[i]! - times[i - 1]!;
      if (gap < TIMEOUT) {
        inVisitGaps++;
        if (gap >= TIMEOUT - 5_000) nearTimeout++;
        (gaps.get(tier) ?? gaps.set(tier, []).get(tier)!).push(gap);
        n++;
      } else {
        if (gap <= TIMEOUT + 5_001) returns++;
        close(times[i - 1]!);
        start = times[i]!; n = 1;
      }
    }
    close(times[times.length - 1]!);
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

  it('stamps every event at or before the clock that took it', () => {
    expect(late).toBe(0);
  });

  it('has the generator\'s mean gap between a visit\'s events, scaled by tier activity', () => {
    for (const tier of ['Bronze', 'Silver', 'Gold'] as const) {
      expect(gaps.get(tier)!.length).toBeGreaterThan(20_000);
      expect(mean(gaps.get(tier)!) / expectedGapMs(ACTIVITY[tier])).toBeCloseTo(1, 1);
    }
    // Without the near-timeout gaps, the mean is the generator's 20 s over the activity.
    const bronze = gaps.get('Bronze')!.filter((g) => g < TIMEOUT - 5_000);
    expect(mean(bronze) / (VISIT_SHAPE.minGapMs + VISIT_SHAPE.meanEventGapMs)).toBeGreaterThan(0.97);
    expect(mean(bronze) / (VISIT_SHAPE.minGapMs + VISIT_SHAPE.meanEventGapMs)).toBeLessThan(1.03);
    const gold = gaps.get('Gold')!.filter((g) => g < TIMEOUT - 5_000);
    expect(mean(bronze) / mean(gold)).toBeCloseTo(ACTIVITY.Gold, 1);
  });

  it('makes visits of ~10 events scaled by tier activity', () => {
    for (const tier of ['Bronze', 'Silver'] as const) {
      const got = mean(visitEvents.get(tier)!);
      expect(got / expectedVisitEvents(ACTIVITY[tier])).toBeGreaterThan(0.93);
      expect(got / expectedVisitEvents(ACTIVITY[tier])).toBeLessThan(1.07);
    }
    expect(mean(visitEvents.get('Gold')!) / mean(visitEvents.get('Bronze')!)).toBeGreaterThan(1.4);
  });

  it('puts 2 % of gaps just under the timeout and brings 3 % of users back just past it', () => {
    expect(nearTimeout / inVisitGaps).toBeGreaterThan(0.016);
    expect(nearTimeout / inVisitGaps).toBeLessThan(0.024);
    expect(returns / sessions).toBeGreaterThan(0.02);
    expect(returns / sessions).toBeLessThan(0.04);
  });

  it('gives every visit a session of its own when the population is the default for the rate', () => {
    expect(stream.stats.collisions).toBe(0);
    // Each started visit is one 30-minute-gap session (the last few may not have made an event yet).
    expect(sessions).toBeLessThanOrEqual(stream.stats.visits);
    expect(sessions).toBeGreaterThan(stream.stats.visits - stream.pending);
  });
});

describe('bench stream: sizing and start', () => {
  it('derives the population from the rate: enough users for every visit under way and inside its timeout', () => {
    expect(defaultPopulation(10_000)).toBeGreaterThanOrEqual(500_000);
    expect(defaultPopulation(10_000) / defaultPopulation(1_000)).toBeCloseTo(10, 0);
    // Far too few users for the rate: new visits land on busy users.
    const small = createStream({ seed: 1, population: 500, ...STREAM_DEFAULTS });
    for (let t = T0; t < T0 + 1800_000; t += 100) small.take(4, t);
    expect(small.stats.collisions).toBeGreaterThan(0);
  });

  it('starts primed in its steady mix: new visits are ~1 record in 11, not every record', () => {
    const now = T0 + 10 * 3600_000;
    const primed = createStream({ seed: 3, population: defaultPopulation(100), ...STREAM_DEFAULTS });
    primed.prime(100, now);
    const cold = createStream({ seed: 3, population: defaultPopulation(100), ...STREAM_DEFAULTS });
    const share = (s: typeof primed) => {
      const before = s.stats.visits;
      for (let t = now; t < now + 60_000; t += 100) s.take(10, t);
      return (s.stats.visits - before) / 6_000;
    };
    const p = share(primed);
    expect(p).toBeGreaterThan(0.05);
    expect(p).toBeLessThan(0.13);
    expect(share(cold)).toBeGreaterThan(0.25);
  });

  it('is reproducible from its seed', () => {
    const a = createStream({ seed: 5, population: 10_000, ...STREAM_DEFAULTS }).take(500, T0);
    const b = createStream({ seed: 5, population: 10_000, ...STREAM_DEFAULTS }).take(500, T0);
    expect(a).toEqual(b);
  });
});
