/**
 * When the micro-batcher seals its open batch: group commit (docs/ingest-flush.md).
 *
 * - **size**: the batch holds `maxRows` rows: sealed at once (bounds memory and insert size);
 * - **age**: its oldest row is `maxAgeMs` old: sealed at once (bounds how long a sender waits);
 * - **idle**: no insert is running or queued: sealed at once, so a lone event is stored (and
 *   answered) in milliseconds; while an insert runs, rows gather and are sealed when it ends, so
 *   batches grow with the load by themselves;
 * - **rate cap**: idle seals spend a token from a bucket of `burst` tokens (default `insertsPerS`)
 *   refilled at `insertsPerS` a second. With no token left the batch waits for one (or for size or
 *   age). Each seal is one insert per table, so no table gets more than `insertsPerS` inserts a
 *   second on average (at most `burst` + `insertsPerS` in any one second) from idle seals, plus the
 *   size and age seals (at most load / maxRows + 1000 / maxAgeMs a second): ClickHouse's active
 *   parts and its fixed cost per insert stay bounded, while events sent one at a time after a
 *   quiet spell are each stored at once. `insertsPerS` 0: no idle seals, only size and age (the
 *   writer of before).
 *
 * Pure: the writer passes the clock and its state in, and keeps the bucket this returns.
 */
export type FlushPolicy = { maxRows: number; maxAgeMs: number; insertsPerS: number; burst?: number };

/** Tokens for idle seals, as of `atMs`. */
export type Bucket = { tokens: number; atMs: number };

export type FlushInput = {
  nowMs: number;
  /** Rows in the open batch, and when its first row came. */
  rows: number;
  firstAtMs: number;
  /** An insert is running, or sealed batches wait for one. */
  busy: boolean;
  bucket: Bucket;
};

export type FlushDecision =
  | { seal: true; trigger: 'size' | 'age' | 'idle'; bucket: Bucket }
  /** Ask again in `recheckMs` (undefined: only when rows come or an insert ends). */
  | { seal: false; recheckMs: number | undefined; bucket: Bucket };

/** A full bucket: what a writer starts with. */
const capacity = (policy: FlushPolicy) => (policy.insertsPerS > 0 ? policy.burst ?? policy.insertsPerS : 0);
export const fullBucket = (policy: FlushPolicy, nowMs: number): Bucket => ({ tokens: capacity(policy), atMs: nowMs });

function refill(policy: FlushPolicy, b: Bucket, nowMs: number): Bucket {
  const elapsed = Math.max(0, nowMs - b.atMs);
  return { tokens: Math.min(capacity(policy), b.tokens + (elapsed * policy.insertsPerS) / 1000), atMs: nowMs };
}

export function decideFlush(policy: FlushPolicy, i: FlushInput): FlushDecision {
  const bucket = refill(policy, i.bucket, i.nowMs);
  if (i.rows === 0) return { seal: false, recheckMs: undefined, bucket };
  // A size or age seal spends a token when there is one, so idle seals right after it wait.
  const spend = (): Bucket => ({ tokens: Math.max(0, bucket.tokens - 1), atMs: i.nowMs });
  if (i.rows >= policy.maxRows) return { seal: true, trigger: 'size', bucket: spend() };
  const ageMs = i.nowMs - i.firstAtMs;
  if (ageMs >= policy.maxAgeMs) return { seal: true, trigger: 'age', bucket: spend() };
  const untilAge = policy.maxAgeMs - ageMs;
  if (i.busy || policy.insertsPerS <= 0) return { seal: false, recheckMs: untilAge, bucket };
  if (bucket.tokens >= 1) return { seal: true, trigger: 'idle', bucket: { tokens: bucket.tokens - 1, atMs: i.nowMs } };
  const untilToken = Math.ceil(((1 - bucket.tokens) * 1000) / policy.insertsPerS);
  return { seal: false, recheckMs: Math.min(untilAge, untilToken), bucket };
}
