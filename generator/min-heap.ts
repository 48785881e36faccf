/** A binary min-heap under `less`: the generators' queue of what is due next, by time. */
export function createMinHeap<T>(less: (a: T, b: T) => boolean) {
  const items: T[] = [];
  const swap = (i: number, j: number) => { const x = items[i]!; items[i] = items[j]!; items[j] = x; };
  return {
    push(item: T) {
      items.push(item);
      for (let i = items.length - 1; i > 0;) {
        const p = (i - 1) >> 1;
        if (!less(items[i]!, items[p]!)) break;
        swap(i, p);
        i = p;
      }
    },
    /** Removes and returns the least item; the heap must not be empty. */
    pop(): T {
      const top = items[0]!;
      const last = items.pop()!;
      if (items.length) {
        items[0] = last;
        for (let i = 0; ;) {
          const l = 2 * i + 1, r = l + 1;
          let m = i;
          if (l < items.length && less(items[l]!, items[m]!)) m = l;
          if (r < items.length && less(items[r]!, items[m]!)) m = r;
          if (m === i) break;
          swap(m, i);
          i = m;
        }
      }
      return top;
    },
    peek(): T | undefined { return items[0]; },
    get size() { return items.length; },
  };
}
