/**
 * Remembers the ids of recent events (per replica, bounded, oldest forgotten first) so a redelivery
 * to the same replica is dropped before it can count twice. Ids of a batch that failed to store are
 * forgotten again, so the sender's retry is not mistaken for a duplicate.
 */
export function createDedupe(capacity: number) {
  const seen = new Set<string>();
  return {
    /** True if the id was new (and is now remembered). */
    admit(id: string): boolean {
      if (capacity === 0) return true;
      if (seen.has(id)) return false;
      seen.add(id);
      // A Set iterates in insertion order, so its first entry is the oldest.
      if (seen.size > capacity) seen.delete(seen.values().next().value as string);
      return true;
    },
    forget(ids: Iterable<string>) {
      for (const id of ids) seen.delete(id);
    },
    get size() {
      return seen.size;
    },
  };
}
export type Dedupe = ReturnType<typeof createDedupe>;
