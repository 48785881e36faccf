// The group-commit flush rules (functions/steps/flush-policy.ts), one table per rule.
import { describe, expect, test } from 'vitest';
import { decideFlush, fullBucket, type FlushInput, type FlushPolicy } from '../../functions/steps/flush-policy.js';

const policy: FlushPolicy = { maxRows: 10_000, maxAgeMs: 2_000, insertsPerS: 10 };
const at = (patch: Partial<FlushInput>): FlushInput => ({ nowMs: 10_000, rows: 1, firstAtMs: 10_000, busy: false, bucket: { tokens: 10, atMs: 10_000 }, ...patch });

describe('decideFlush', () => {
  test.each<[string, Partial<FlushInput>, { seal: boolean; trigger?: string; recheckMs?: number | undefined }]>([
    ['nothing buffered: nothing to do, no timer', { rows: 0 }, { seal: false, recheckMs: undefined }],
    ['idle writer, a lone row: sealed at once', {}, { seal: true, trigger: 'idle' }],
    ['busy writer: waits for the insert, with the age deadline as timer', { busy: true, firstAtMs: 9_500 }, { seal: false, recheckMs: 1_500 }],
    ['busy writer, batch full: sealed by size', { busy: true, rows: 10_000 }, { seal: true, trigger: 'size' }],
    ['busy writer, batch old: sealed by age', { busy: true, firstAtMs: 8_000 }, { seal: true, trigger: 'age' }],
    ['idle, no token: waits for the next token (100 ms at 10/s)', { bucket: { tokens: 0, atMs: 10_000 } }, { seal: false, recheckMs: 100 }],
    ['idle, half a token: waits for the other half', { bucket: { tokens: 0.5, atMs: 10_000 } }, { seal: false, recheckMs: 50 }],
    ['idle, no token, age deadline sooner than the token', { bucket: { tokens: 0, atMs: 10_000 }, firstAtMs: 8_030 }, { seal: false, recheckMs: 30 }],
    ['idle, no token, but the batch is full: size does not wait for the cap', { bucket: { tokens: 0, atMs: 10_000 }, rows: 10_000 }, { seal: true, trigger: 'size' }],
    ['idle, the bucket refilled since: sealed', { bucket: { tokens: 0, atMs: 9_900 } }, { seal: true, trigger: 'idle' }],
  ])('%s', (_what, input, expected) => {
    expect(decideFlush(policy, at(input))).toMatchObject(expected);
  });

  test('insertsPerS 0: no idle seals, only size and age (the writer of before)', () => {
    const off = { ...policy, insertsPerS: 0 };
    expect(decideFlush(off, at({ firstAtMs: 9_000 }))).toMatchObject({ seal: false, recheckMs: 1_000 });
    expect(decideFlush(off, at({ firstAtMs: 8_000 }))).toMatchObject({ seal: true, trigger: 'age' });
    expect(decideFlush(off, at({ rows: 10_000 }))).toMatchObject({ seal: true, trigger: 'size' });
  });

  test('the cap: a writer sealing whenever it may makes at most insertsPerS idle seals a second, once the burst is spent', () => {
    let bucket = fullBucket(policy, 0);
    const seals: number[] = [];
    for (let t = 0; t < 5_000; t += 1) { // a row every ms, each insert instant
      const d = decideFlush(policy, { nowMs: t, rows: 1, firstAtMs: t, busy: false, bucket });
      bucket = d.bucket;
      if (d.seal) seals.push(t);
    }
    expect(seals.filter((t) => t < 1_000).length).toBeLessThanOrEqual(2 * policy.insertsPerS);
    for (let s = 1; s < 5; s++) expect(seals.filter((t) => t >= s * 1_000 && t < (s + 1) * 1_000).length).toBe(policy.insertsPerS);
  });

  test('a size or age seal spends a token, so the idle seal after it waits', () => {
    const d = decideFlush(policy, at({ rows: 10_000, bucket: { tokens: 1, atMs: 10_000 } }));
    expect(d.bucket.tokens).toBe(0);
    expect(decideFlush(policy, at({ bucket: d.bucket }))).toMatchObject({ seal: false, recheckMs: 100 });
  });

  test('a burst: after a quiet spell `burst` lone events in a row are each sealed at once, then the cap holds', () => {
    const bursty: FlushPolicy = { ...policy, insertsPerS: 2, burst: 20 };
    let bucket = fullBucket(bursty, 0);
    const seals: number[] = [];
    for (let t = 0; t < 5_000; t += 50) { // one event every 50 ms, each answered before the next
      const d = decideFlush(bursty, { nowMs: t, rows: 1, firstAtMs: t, busy: false, bucket });
      bucket = d.bucket;
      if (d.seal) seals.push(t);
    }
    expect(seals.slice(0, 20)).toEqual(Array.from({ length: 20 }, (_, i) => i * 50));
    // From then on, 2 a second: the 20 tokens are spent, plus what 5 s refill.
    expect(seals.length).toBeLessThanOrEqual(20 + 2 * 5);
    expect(decideFlush(bursty, at({ rows: 0, bucket: { tokens: 0, atMs: 0 } })).bucket.tokens).toBe(20);
  });

  test('the bucket never holds more than one second of tokens', () => {
    expect(decideFlush(policy, at({ rows: 0, bucket: { tokens: 3, atMs: 0 } })).bucket.tokens).toBe(10);
  });
});
