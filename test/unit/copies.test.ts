// The first-stored-copy rule on its own (functions/steps/copies.ts); against ClickHouse in
// test/integration/duplicate-copies.test.ts.
import { describe, expect, test } from 'vitest';
import { resolveCopies, type StoredCopy } from '../../functions/steps/copies.js';

const copy = (price: string, stored_at: string, copy_key: string, sign = 1): StoredCopy => ({ event_id: 'e', price, sign, stored_at, copy_key });
const A = copy('10.00', '2024-05-01 10:00:00.001', '900');
const B = copy('20.00', '2024-05-01 10:00:00.002', '100');
const C = copy('30.00', '2024-05-01 10:00:00.003', '500');
const cancel = (c: StoredCopy) => ({ ...c, sign: -1, stored_at: '2024-05-01 10:00:05.000' });
const prices = (rows: Record<string, unknown>[] | undefined) => (rows ?? []).map((r) => `${String(r.price)}:${String(r.sign)}`).sort();

describe('the first stored copy wins', () => {
  test('the earliest stored_at wins, whatever the order read; every other copy is cancelled with its own contents', () => {
    for (const rows of [[A, B, C], [C, B, A], [B, A, C]]) {
      const r = resolveCopies(rows)!;
      expect(r.winner).toEqual({ event_id: 'e', price: '10.00' });
      expect(prices(r.cancels)).toEqual(['20.00:-1', '30.00:-1']);
      expect(r.cancels.every((c) => !('stored_at' in c) && !('copy_key' in c))).toBe(true);
    }
  });

  test('a tie on stored_at goes to the smaller copy_key, compared as UInt64 (not as text)', () => {
    const x = copy('1.00', A.stored_at, '18446744073709551615');
    const y = copy('2.00', A.stored_at, '9');
    expect(resolveCopies([x, y])!.winner.price).toBe('2.00');
    expect(resolveCopies([y, x])!.winner.price).toBe('2.00');
  });

  test('cancels already stored are matched by content: nothing is cancelled twice, the winner never', () => {
    expect(resolveCopies([A, B, C, cancel(B), cancel(C)])!.cancels).toEqual([]);
    expect(prices(resolveCopies([A, B, C, cancel(B)])!.cancels)).toEqual(['30.00:-1']);
    // A copy arriving later than the cancels: only it.
    const C2 = { ...C, stored_at: '2024-05-01 10:00:09.000' };
    expect(prices(resolveCopies([A, B, C, cancel(B), cancel(C), C2])!.cancels)).toEqual(['30.00:-1']);
  });

  test('identical copies: all but one of the first content are cancelled', () => {
    const A2 = { ...A, stored_at: '2024-05-01 10:00:00.009' };
    const r = resolveCopies([A2, A, B])!;
    expect(prices(r.cancels)).toEqual(['10.00:-1', '20.00:-1']);
    expect(resolveCopies([A2, A, B, cancel(A), cancel(B)])!.cancels).toEqual([]);
  });

  test('a first copy cancelled by a cancel written before this rule: the first one left counts, once', () => {
    const r = resolveCopies([A, B, C, cancel(A)])!;
    expect(r.firstCancelled).toBe(true);
    expect(r.winner.price).toBe('20.00');
    expect(prices(r.cancels)).toEqual(['30.00:-1']);
    expect(resolveCopies([A, B, cancel(A)])!.cancels).toEqual([]);
    expect(resolveCopies([A, B, C])!.firstCancelled).toBe(false);
  });

  test('what was seen names the rows, in any order; no positive copy gives nothing', () => {
    expect(resolveCopies([A, B, cancel(B)])!.seen).toBe(resolveCopies([cancel(B), B, A])!.seen);
    expect(resolveCopies([A, B])!.seen).not.toBe(resolveCopies([A, B, cancel(B)])!.seen);
    expect(resolveCopies([cancel(A)])).toBeUndefined();
  });
});
