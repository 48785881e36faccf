// createDedupe: a bounded memory of recent event ids, oldest forgotten first.
import { describe, expect, test } from 'vitest';
import { createDedupe } from '../../functions/steps/dedupe.js';

/** Runs `ops` in order: `+x` admits x (recording the answer), `-x` forgets x. */
function run(capacity: number, ops: string[]) {
  const d = createDedupe(capacity);
  const answers: boolean[] = [];
  for (const op of ops) {
    if (op.startsWith('-')) d.forget([op.slice(1)]);
    else answers.push(d.admit(op.slice(1)));
  }
  return { answers, size: d.size };
}

describe('dedupe', () => {
  test.each([
    ['new ids are admitted', 3, ['+a', '+b', '+c'], [true, true, true], 3],
    ['a repeat is a duplicate', 3, ['+a', '+a', '+b', '+a'], [true, false, true, false], 2],
    ['at capacity the oldest is forgotten first', 2, ['+a', '+b', '+c', '+a'], [true, true, true, true], 2],
    ['the newer ones are still remembered after an eviction', 2, ['+a', '+b', '+c', '+b', '+c'], [true, true, true, false, false], 2],
    ['a duplicate does not refresh its age', 2, ['+a', '+b', '+a', '+c', '+a'], [true, true, false, true, true], 2],
    ['forget lets a retry in again', 3, ['+a', '-a', '+a'], [true, true], 1],
    ['forgetting an unknown id is harmless', 3, ['+a', '-zz', '+a'], [true, false], 1],
    ['capacity 1 remembers only the last id', 1, ['+a', '+a', '+b', '+a'], [true, false, true, true], 1],
    ['capacity 0 remembers nothing', 0, ['+a', '+a', '+a'], [true, true, true], 0],
  ])('%s', (_what, capacity, ops, answers, size) => {
    expect(run(capacity, ops)).toEqual({ answers, size });
  });

  test('forget takes any iterable of ids', () => {
    const d = createDedupe(10);
    for (const id of ['a', 'b', 'c']) d.admit(id);
    d.forget(new Set(['a', 'c']));
    expect([d.admit('a'), d.admit('b'), d.admit('c')]).toEqual([true, false, true]);
  });

  test('the size never grows past the capacity', () => {
    const d = createDedupe(100);
    for (let i = 0; i < 1_000; i++) d.admit(`id-${i}`);
    expect(d.size).toBe(100);
    expect(d.admit('id-999')).toBe(false);
    expect(d.admit('id-900')).toBe(false);
    expect(d.admit('id-899')).toBe(true);
  });
});
