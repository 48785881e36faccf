// The generators' min-heap: pops in `less` order whatever the push order, ties as `less` breaks them.
import { expect, test } from 'vitest';
import { createMinHeap } from '../../generator/min-heap.js';
import { createRandom } from '../../generator/random.js';

test('pops every pushed item in order, interleaved pushes and pops included', () => {
  const rnd = createRandom(7);
  const heap = createMinHeap<{ t: number; seq: number }>((a, b) => a.t < b.t || (a.t === b.t && a.seq < b.seq));
  const popped: { t: number; seq: number }[] = [];
  const pushed: { t: number; seq: number }[] = [];
  for (let seq = 0; seq < 2_000; seq++) {
    const item = { t: Math.floor(rnd.next() * 100), seq };
    heap.push(item);
    pushed.push(item);
    if (seq % 3 === 0) popped.push(heap.pop());
  }
  const rest: { t: number; seq: number }[] = [];
  while (heap.size) rest.push(heap.pop());
  expect(heap.peek()).toBeUndefined();
  expect(rest).toEqual([...rest].sort((a, b) => a.t - b.t || a.seq - b.seq));
  expect([...popped, ...rest].length).toBe(pushed.length);
  // Nothing lost, nothing made up.
  expect(new Set([...popped, ...rest])).toEqual(new Set(pushed));
});
