/**
 * The sessionizer keeps every open session in memory (durable in ClickHouse), ~1.5 KB of heap
 * each (measured: bench/sessionizer-memory.ts, 1,455-1,478 B). At the design rate, 10,000
 * events/s of ~10-event visits with ~20 s between events, 1,000 visits start a second and each
 * stays open its ~200 s plus the 30-minute timeout: ~2,000,000 open sessions, ~2.8 GiB, and twice
 * that while a rollout runs two replicas. The pool cannot hold that beside ingest, so the budget
 * is what the pool admits: ~168,000 open sessions, i.e. ~840 events/s of such visits. Past that
 * the sessionizer needs a compact state for idle sessions, or idle sessions kept only in
 * ClickHouse, not more memory (docs/deploy.md).
 */
export const SESSIONIZER_STATE = {
  bytesPerOpenSession: 1_500,
  eventsPerVisit: 10,
  visitSeconds: 10 * 20,
  timeoutSeconds: 30 * 60,
  /** What the pool admits (see above): the sessionizer's resident open-session budget. */
  openSessionsMiB: 240,
} as const;

/** Open sessions at `eventsPerSecond` of such visits: visits started per second x how long each stays open. */
export const openSessionsAt = (eventsPerSecond: number) =>
  Math.round((eventsPerSecond / SESSIONIZER_STATE.eventsPerVisit) * (SESSIONIZER_STATE.visitSeconds + SESSIONIZER_STATE.timeoutSeconds));
