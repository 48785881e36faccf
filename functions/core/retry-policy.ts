/**
 * A retry policy as data (kafkajs's shape): how long to wait before attempt n + 1, and after how
 * many failed attempts the callers are told to come back later. The work itself is retried for as
 * long as it takes; only the answer to the waiting callers changes.
 */
export type RetryPolicy = {
  /** Failed attempts after which waiting callers get 503 (the work is still retried). */
  readonly attemptsBeforeFailing: number;
  readonly initialMs: number;
  readonly factor: number;
  readonly maxMs: number;
};

export const INSERT_RETRY: Omit<RetryPolicy, 'attemptsBeforeFailing'> = { initialMs: 100, factor: 2, maxMs: 5_000 };

/** The wait after failed attempt `attempt` (0-based). */
export function backoffMs(p: Pick<RetryPolicy, 'initialMs' | 'factor' | 'maxMs'>, attempt: number): number {
  return Math.min(p.maxMs, p.initialMs * p.factor ** attempt);
}
