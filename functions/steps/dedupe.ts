/**
 * Remembers the ids of recent events (per replica, bounded, oldest forgotten first) so a redelivery
 * to the same replica is dropped before it can count twice. Each id keeps a token of its first
 * copy (the pipeline keeps the promise of the original's storage there), so a duplicate can be
 * answered only once its original is stored. Ids of a batch that failed to store are forgotten
 * again, so the sender's retry is not mistaken for a duplicate.
 *
 * Age is kept in a ring of slots rather than in the Map's insertion order: evicting the oldest
 * through `map.keys().next()` walks every deleted entry V8 has not compacted yet, which made each
 * admit O(evictions) once the window was full (at 10,000 events/s the ingest collapsed ~2 minutes in).
 */
export function createDedupe<T>(capacity: number) {
  // id -> its slot; the slot's token beside it in `tokens`. No object per id: a million remembered
  // ids are a million entries of the ingest's heap, which every major GC marks.
  const seen = new Map<string, number>();
  const ring: (string | undefined)[] = new Array(capacity);
  const tokens: (T | undefined)[] = new Array(capacity);
  let next = 0;
  return {
    /** undefined if the id is new (it is now remembered with `token`); else the first copy's token. */
    admit(id: string, token: T): T | undefined {
      if (capacity === 0) return undefined;
      const first = seen.get(id);
      if (first !== undefined) return tokens[first];
      const oldest = ring[next];
      // The slot's id may have been forgotten (and even admitted again, in a newer slot) since.
      if (oldest !== undefined && seen.get(oldest) === next) seen.delete(oldest);
      ring[next] = id;
      tokens[next] = token;
      seen.set(id, next);
      next = (next + 1) % capacity;
      return undefined;
    },
    forget(ids: Iterable<string>) {
      for (const id of ids) seen.delete(id);
    },
    get size() {
      return seen.size;
    },
  };
}
export type Dedupe<T> = ReturnType<typeof createDedupe<T>>;
