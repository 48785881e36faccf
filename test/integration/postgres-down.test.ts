// PostgreSQL down for the whole run: the ingest keeps storing every event, with tier `unknown`,
// counted; after the first failed lookup the circuit breaker spares every later batch the
// connection timeout. (Recovery when PostgreSQL returns: test/integration/tier-cache.test.ts.)
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { generate } from '../../generator/simulate.js';
import { sendAll } from '../../generator/cloudevents.js';
import type { Sent } from '../helpers/fault-checker.js';
import { deliveredOnce } from '../helpers/fault-load.js';
import { startStack, waitFor, type Stack } from '../helpers/stack.js';

describe('PostgreSQL down', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', TIER_CACHE_WARM_MAX: 0 });
  });
  afterAll(async () => stack?.stop());

  test('every event is stored with tier unknown, counted, and lookups stop after the first failure', async () => {
    const gen = generate({ seed: 808, users: 40, startMs: Date.now() - 3_600_000, durationMs: 1_800_000, invalidShare: 0 });
    const valid = gen.records.filter((r) => r.kind === 'event');
    expect(valid.length).toBeGreaterThan(100);
    const answers = await sendAll(stack.ingestUrl, 'batch', gen.records, { batchSize: 50, concurrency: 4 });
    expect(answers.every((a) => a.status === 200)).toBe(true);

    const [r] = await waitFor(async () => {
      const rows = await stack.query<{ n: string; unknown: string }>("SELECT sum(sign) AS n, sumIf(sign, user_tier = 'unknown') AS unknown FROM {db}.user_events_realtime");
      return Number(rows[0]!.n) === valid.length ? rows : undefined;
    }, 'every event stored');
    expect(Number(r!.unknown)).toBe(valid.length);
    // The fault harness: each event once, per user in producer order; the views count each once, as unknown.
    const seq = new Map<string, number>();
    const sent: Sent[] = valid.map((rec) => {
      const n = (seq.get(rec.event.user_id) ?? 0) + 1;
      seq.set(rec.event.user_id, n);
      return { event_id: rec.id, user_id: rec.event.user_id, seq: n };
    });
    expect(await deliveredOnce(stack, sent)).toMatchObject({ stored: valid.length, missing: [], duplicated: [], unexpected: [] });
    const [views] = await stack.query<{ funnel: string; tiers: string; unknown: string }>(
      `SELECT (SELECT sum(events) FROM {db}.conversion_funnel) AS funnel,
              (SELECT sum(events) FROM {db}.user_tier_performance) AS tiers,
              (SELECT sumIf(events, user_tier = 'unknown') FROM {db}.user_tier_performance) AS unknown`);
    expect({ funnel: Number(views!.funnel), tiers: Number(views!.tiers), unknown: Number(views!.unknown) }).toEqual({ funnel: valid.length, tiers: valid.length, unknown: valid.length });
    expect((await stack.metrics.unknownTier.get()).values[0]?.value).toBe(valid.length);
    // One lookup failed and opened the breaker; the others were never sent (each would have waited for a timeout).
    expect((await stack.metrics.tierLookupFailures.get()).values[0]?.value).toBeLessThanOrEqual(2);
    expect((await stack.metrics.tierBreakerOpen.get()).values[0]?.value).toBe(1);
  });
});
