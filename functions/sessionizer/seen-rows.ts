/**
 * The rows the last runs read, by key (event id and stored_at), so the overlap's second read of a
 * row is skipped; and the inbox blocks they came in, as (block number, stored_at ms) pairs, so the
 * next read leaves those out inside ClickHouse. Grouped by the run's upper bound, so forgetting what
 * the overlap can no longer reach is dropping whole groups.
 */
export type Block = [block: number, storedMs: number];

export function createSeenRows(groups: { untilMs: number; keys: string[]; blocks?: Block[] }[] = []) {
  let list = groups.map((g) => ({ untilMs: g.untilMs, keys: new Set(g.keys), blocks: g.blocks ?? [] }));
  return {
    has: (key: string) => list.some((g) => g.keys.has(key)),
    add(keys: string[], untilMs: number, blocks: Block[] = []) {
      if (keys.length || blocks.length) list.push({ untilMs, keys: new Set(keys), blocks });
    },
    /** Every block read whole by the runs remembered. */
    blocks: (): Block[] => list.flatMap((g) => g.blocks),
    /** Rows stored before `ms` are not read again. */
    forgetBefore(ms: number) {
      list = list.filter((g) => g.untilMs >= ms);
    },
    toJSON: () => list.map((g) => ({ untilMs: g.untilMs, keys: [...g.keys], blocks: g.blocks })),
  };
}
export type SeenRows = ReturnType<typeof createSeenRows>;
