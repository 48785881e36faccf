/**
 * The rows the last runs read, by key (event id and stored_at), so the overlap's second read of a
 * row is skipped. Grouped by the run's upper bound, so forgetting what the overlap can no longer
 * reach is dropping whole groups.
 */
export function createSeenRows(groups: { untilMs: number; keys: string[] }[] = []) {
  let list = groups.map((g) => ({ untilMs: g.untilMs, keys: new Set(g.keys) }));
  return {
    has: (key: string) => list.some((g) => g.keys.has(key)),
    add(keys: string[], untilMs: number) {
      if (keys.length) list.push({ untilMs, keys: new Set(keys) });
    },
    /** Rows stored before `ms` are not read again. */
    forgetBefore(ms: number) {
      list = list.filter((g) => g.untilMs >= ms);
    },
    toJSON: () => list.map((g) => ({ untilMs: g.untilMs, keys: [...g.keys] })),
  };
}
export type SeenRows = ReturnType<typeof createSeenRows>;
