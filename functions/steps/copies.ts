/**
 * Which stored copy of a duplicated event (or transaction) counts, and which cancelling rows make
 * the stored sums say exactly that. The rule: **the first stored copy wins**, everywhere. Copies
 * are ordered by `stored_at`, ties by `copy_key` (a hash of the row without `sign` and
 * `stored_at`, computed by ClickHouse), so every run and every sessionizer picks the same one.
 *
 * Every other copy is cancelled with its own contents (a row equal to it with sign = -1), so each
 * table and view fed by the stored rows sums to the winner's values alone. Cancels already stored
 * are matched against the copies by content (multiset subtraction), so a rerun, or a run after a
 * crash between two writes, never cancels a copy twice and never cancels the winner.
 */
export type StoredCopy = Record<string, unknown> & { sign: number | string; stored_at: string; copy_key: string };

export type Resolution<R> = {
  /** The first stored copy (without sign, stored_at and copy_key): its values are what counts. */
  winner: R;
  /** Rows to insert (sign = -1), one per uncancelled copy beyond the winner; often none. */
  cancels: R[];
  /** True only when cancels written before this rule cancelled the first stored copy's content (the winner is then the first one left). */
  firstCancelled: boolean;
  /** Names what was seen (every row's sign, content and stored_at): a rerun that sees the same rows gets the same string. */
  seen: string;
};

const strip = (row: StoredCopy): Record<string, unknown> => {
  const { sign: _s, stored_at: _t, copy_key: _k, ...rest } = row;
  return rest;
};

/** The first stored copy first: by stored_at, then by copy_key (a UInt64, as ClickHouse orders it). */
export function byFirstStored(a: StoredCopy, b: StoredCopy): number {
  if (a.stored_at !== b.stored_at) return a.stored_at < b.stored_at ? -1 : 1;
  const ka = BigInt(a.copy_key), kb = BigInt(b.copy_key);
  return ka === kb ? 0 : ka < kb ? -1 : 1;
}

/** Every stored row (both signs) of one event or transaction id; undefined if no positive copy is stored. */
export function resolveCopies<R extends Record<string, unknown> = Record<string, unknown>>(rows: readonly StoredCopy[]): Resolution<R> | undefined {
  const positives = rows.filter((r) => Number(r.sign) > 0).sort(byFirstStored);
  const first = positives[0];
  if (!first) return undefined;
  // Net copies per content: the positives minus the cancels already stored with that content.
  const net = new Map<string, { row: StoredCopy; n: number }>();
  for (const r of positives) {
    const e = net.get(r.copy_key);
    if (e) e.n++;
    else net.set(r.copy_key, { row: r, n: 1 });
  }
  for (const r of rows) {
    if (Number(r.sign) >= 0) continue;
    const e = net.get(r.copy_key);
    if (e) e.n += Number(r.sign);
  }
  // The first stored copy whose content is not cancelled already. That is the first stored copy
  // itself, unless cancels written before this rule (an arbitrary copy's) cancelled its content:
  // then the next one keeps the count at one, since a cancel cannot bring a copy back.
  const winner = positives.find((r) => net.get(r.copy_key)!.n > 0);
  const cancels: R[] = [];
  if (winner) {
    for (const [key, { row, n }] of net) for (let i = key === winner.copy_key ? 1 : 0; i < n; i++) cancels.push({ ...strip(row), sign: -1 } as unknown as R);
  }
  const seen = rows.map((r) => `${Number(r.sign)}:${r.copy_key}:${r.stored_at}`).sort().join(';');
  return { winner: strip(winner ?? first) as R, cancels, firstCancelled: winner?.copy_key !== first.copy_key, seen };
}
