/**
 * Remembers the ids of recent events (per replica, bounded, oldest forgotten first) so a redelivery
 * to the same replica is dropped before it can count twice. Each id keeps a token of its first
 * copy (the pipeline keeps the promise of the original's storage there), so a duplicate can be
 * answered only once its original is stored. Ids of a batch that failed to store are forgotten
 * again, so the sender's retry is not mistaken for a duplicate.
 */
export function createDedupe<T>(capacity: number) {
  const seen = new Map<string, T>();
  return {
    /** undefined if the id is new (it is now remembered with `token`); else the first copy's token. */
    admit(id: string, token: T): T | undefined {
      if (capacity === 0) return undefined;
      const first = seen.get(id);
      if (first !== undefined) return first;
      seen.set(id, token);
      // A Map iterates in insertion order, so its first key is the oldest.
      if (seen.size > capacity) seen.delete(seen.keys().next().value as string);
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
