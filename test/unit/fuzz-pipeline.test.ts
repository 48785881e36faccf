// Fuzz, in process: 100,000 seeded mutations of valid requests through decodeRequest and the ingest
// pipeline (validate, dedupe, rows) with an in-memory writer and tier cache. Every request must
// end as an EnvelopeError with a 4xx problem body, or as outcomes whose rows are storable JSON;
// nothing else may be thrown, and Object.prototype must stay clean.
import { describe, expect, test } from 'vitest';
import { EnvelopeError } from '../../functions/core/errors.js';
import { createLogger } from '../../functions/core/log.js';
import { createMetrics } from '../../functions/core/metrics.js';
import { REJECT_REASONS } from '../../functions/core/result.js';
import type { BatchWriter } from '../../functions/adapters/batch-writer.js';
import type { TierCache } from '../../functions/adapters/tier-cache.js';
import { createPipeline, type StoredSignal } from '../../functions/ingest/pipeline.js';
import { decodeRequest } from '../../functions/cloudevents/index.js';
import { createDedupe } from '../../functions/steps/dedupe.js';
import { fuzzRequests } from './fuzz-mutations.js';

const CASES = Number(process.env.FUZZ_CASES ?? 100_000);
/** Whether any string in `v` holds a lone surrogate (with the u flag the class matches only those). */
const hasLoneSurrogate = (v: unknown): boolean => typeof v === 'string' ? /[\ud800-\udfff]/u.test(v)
  : v !== null && typeof v === 'object' ? Object.values(v).some(hasLoneSurrogate) : false;
const NOW_MS = Date.parse('2026-06-01T12:00:00.000Z');

describe('fuzz: decode + validate + pipeline in process', () => {
  test(`${CASES.toLocaleString('en')} mutated requests: no crash, every answer a problem or a summary`, async () => {
    let rowsWritten = 0;
    const writer = {
      // What the ClickHouse client does with the rows: JSON, one line each. ClickHouse refuses an
      // escaped lone surrogate, which fails the whole micro-batch: no row may hold one.
      add: async (rows: Record<string, unknown[]>) => {
        for (const list of Object.values(rows)) for (const row of list) {
          if (hasLoneSurrogate(row)) throw new Error(`a row ClickHouse would refuse: ${JSON.stringify(row).slice(0, 200)}`);
          rowsWritten++;
        }
      },
    } as unknown as BatchWriter;
    const tiers = { getMany: async (ids: string[]) => new Map(ids.map((id) => [id, 'Gold'])) } as unknown as TierCache;
    const metrics = createMetrics();
    const run = createPipeline({ MAX_FUTURE_SKEW_MS: 300_000 }, { writer, tiers, dedupe: createDedupe<StoredSignal>(1_000_000), metrics, log: createLogger('fuzz', 'silent') });

    const t0 = performance.now();
    const requests = fuzzRequests(20260601, CASES, NOW_MS);
    const genMs = performance.now() - t0;
    const tally = { problem: {} as Record<string, number>, reason: {} as Record<string, number>, stored: 0, duplicate: 0, crashes: [] as string[] };
    const t1 = performance.now();
    for (const [i, req] of requests.entries()) {
      try {
        const outcomes = await run(decodeRequest(req.headers, req.body), NOW_MS);
        for (const o of outcomes) {
          if (o.status === 'dead_lettered') {
            tally.reason[o.reason] = (tally.reason[o.reason] ?? 0) + 1;
            if (!(REJECT_REASONS as readonly string[]).includes(o.reason) || o.detail.length > 512) tally.crashes.push(`#${i}: bad reject ${JSON.stringify(o).slice(0, 200)}`);
          } else tally[o.status]++;
        }
        JSON.stringify(outcomes);
      } catch (err) {
        if (err instanceof EnvelopeError && err.status >= 400 && err.status < 500) {
          const body = err.toJSON();
          if (typeof body.code !== 'string' || body.detail.length > 512) tally.crashes.push(`#${i}: bad problem ${JSON.stringify(body).slice(0, 200)}`);
          tally.problem[body.code] = (tally.problem[body.code] ?? 0) + 1;
        } else {
          tally.crashes.push(`#${i} (${req.mode}): ${(err as Error).stack?.slice(0, 300)}`);
        }
      }
    }
    const runMs = performance.now() - t1;
    console.log(JSON.stringify({ cases: CASES, genMs: Math.round(genMs), runMs: Math.round(runMs), rowsWritten, ...tally, crashes: tally.crashes.length }));
    expect(tally.crashes).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // The mix really exercises every path: stores, duplicates, envelope problems and rejects.
    expect(tally.stored).toBeGreaterThan(CASES / 20);
    expect(Object.keys(tally.problem).length).toBeGreaterThan(3);
    expect(Object.keys(tally.reason).length).toBeGreaterThan(3);
  });
});
