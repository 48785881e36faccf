// The one polling helper of tests and bench (local/wait-for.ts): both call forms, undefined and
// false mean "not yet", errors are retried and named on timeout, waitUntil answers instead of throwing.
import { describe, expect, test } from 'vitest';
import { waitFor, waitUntil } from '../../local/wait-for.js';

const after = (n: number, value: unknown) => { let calls = 0; return () => (++calls >= n ? value : undefined); };

describe('waitFor', () => {
  test('returns the first value that is not undefined or false', async () => {
    let calls = 0;
    expect(await waitFor(() => (++calls < 3 ? false : { calls }), 'three calls', 5_000, 1)).toEqual({ calls: 3 });
    expect(await waitFor(after(2, 0), { timeoutMs: 5_000, intervalMs: 1 })).toBe(0);
  });

  test('retries a check that throws, and names it and the last error on timeout', async () => {
    await expect(waitFor(() => { throw new Error('not yet up'); }, 'the server', 20, 1)).rejects.toThrow(/waiting for the server: not yet up/);
    await expect(waitFor(() => false, { timeoutMs: 20, intervalMs: 1, message: () => 'a lazy message' })).rejects.toThrow(/a lazy message/);
  });
});

describe('waitUntil', () => {
  test('true when the check comes true, false when the time passes first', async () => {
    expect(await waitUntil(after(2, true), 5_000, 1)).toBe(true);
    expect(await waitUntil(() => false, 20, 1)).toBe(false);
  });
});
