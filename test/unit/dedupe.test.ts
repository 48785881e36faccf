// createDedupe: a bounded memory of recent event ids, oldest forgotten first, each with its first copy's token.
import { describe, expect, test } from 'vitest';
import { createDedupe } from '../../functions/steps/dedupe.js';

/** Runs `ops` in order: `+x` admits x (recording the answer), `-x` forgets x. */
function run(capacity: number, ops: string[]) {
  const d = createDedupe<string>(capacity);
  const answers: boolean[] = [];
  for (const op of ops) {
    if (op.startsWith('-')) d.forget([op.slice(1)]);
    else answers.push(d.admit(op.slice(1), op) === undefined);
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
    const d = createDedupe<number>(10);
    for (const id of ['a', 'b', 'c']) d.admit(id, 1);
    d.forget(new Set(['a', 'c']));
    expect([d.admit('a', 2), d.admit('b', 2), d.admit('c', 2)]).toEqual([undefined, 1, undefined]);
  });

  test('a duplicate gets the token of the first copy, not its own', () => {
    const d = createDedupe<string>(10);
    expect(d.admit('a', 'first')).toBeUndefined();
    expect(d.admit('a', 'second')).toBe('first');
    expect(d.admit('a', 'third')).toBe('first');
  });

  test('an id forgotten and admitted again is remembered for a whole window from then', () => {
    const d = createDedupe<number>(3);
    d.admit('a', 1); // slot 0
    d.forget(['a']);
    d.admit('a', 2); // slot 1
    d.admit('b', 3); // slot 2
    d.admit('c', 4); // slot 0 again: its old id 'a' now lives in slot 1, so 'a' stays
    expect(d.admit('a', 9)).toBe(2);
    d.admit('e', 5); // slot 1: now 'a' goes
    expect(d.admit('a', 9)).toBeUndefined();
  });

  test('stays cheap once full: a million admits through a window of 1,000', () => {
    const d = createDedupe<number>(1_000);
    for (let i = 0; i < 1_000_000; i++) d.admit(`id-${i}`, i);
    expect(d.size).toBe(1_000);
    expect(d.admit('id-999000', -1)).toBe(999_000);
    expect(d.admit('id-998999', -1)).toBeUndefined();
  });

  test('the size never grows past the capacity', () => {
    const d = createDedupe<number>(100);
    for (let i = 0; i < 1_000; i++) d.admit(`id-${i}`, i);
    expect(d.size).toBe(100);
    expect(d.admit('id-999', -1)).toBe(999);
    expect(d.admit('id-900', -1)).toBe(900);
    expect(d.admit('id-899', -1)).toBeUndefined();
  });
});
