/**
 * The sessionizer's memory is its open sessions. Between runs each user's open sessions are one
 * compact string (encodeOpen, ~250 characters for a visit of ten events) in a map, with one
 * due-index entry: 563 B a user (bench/sessionizer-memory.ts over 200,000 users; the same sessions
 * as objects measured 982 B). A run decodes only the users it touches, ~20,000 at the design rate
 * (~20 MB for a moment, inside the runtime's headroom).
 *
 * At the design rate, 10,000 events/s of ~10-event visits ~20 s apart, 1,000 visits start a second:
 * ~2,000,000 users have an open session (each for its ~200 s plus the 30-minute timeout): ~1.05 GiB,
 * twice that while a rollout runs two replicas. Still more than the pool holds beside ingest, so the
 * budget is what the pool admits: ~2,230 events/s of such visits.
 */
export const SESSIONIZER_STATE = {
  bytesPerOpenUser: 563,
  eventsPerVisit: 10,
  visitSeconds: 10 * 20,
  timeoutSeconds: 30 * 60,
  /** What the pool admits (see above): the sessionizer's resident session-state budget. */
  openSessionsMiB: 240,
} as const;

const visitsPerSecond = (eventsPerSecond: number) => eventsPerSecond / SESSIONIZER_STATE.eventsPerVisit;

/** Open sessions (one user each) at `eventsPerSecond` of such visits: visits started per second x how long each stays open. */
export const openSessionsAt = (eventsPerSecond: number) =>
  Math.round(visitsPerSecond(eventsPerSecond) * (SESSIONIZER_STATE.visitSeconds + SESSIONIZER_STATE.timeoutSeconds));

/** The sessionizer's session state in bytes at `eventsPerSecond`. */
export const sessionStateBytesAt = (eventsPerSecond: number) => openSessionsAt(eventsPerSecond) * SESSIONIZER_STATE.bytesPerOpenUser;
