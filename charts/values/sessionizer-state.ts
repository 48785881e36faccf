import { CODE_DEFAULTS } from './code-defaults.js';

/**
 * The sessionizer's memory is its open sessions, in two forms. A user active in the last
 * SESSIONIZER_EVICT_IDLE_MS (5 min of event time, behind the watermark's minute of lateness) has
 * their open sessions as objects, ~1.5 KB of heap each (bench/sessionizer-memory.ts, 1,455-1,478 B);
 * a user idle longer keeps them as one compact string (encodeOpen, ~300 characters for a visit of
 * ten events) until they come back or the session closes: ~520 B with its map and due-index entries
 * (measured over 200,000 users; the same sessions as objects measured 805 B there).
 *
 * At the design rate, 10,000 events/s of ~10-event visits ~20 s apart, 1,000 visits start a second:
 * ~2,000,000 sessions are open (each for its ~200 s plus the 30-minute timeout), of which ~560,000
 * are objects (~800 MiB) and ~1,500,000 encoded (~745 MiB): ~1.5 GiB instead of ~2.8, twice that
 * while a rollout runs two replicas. Still more than the pool holds beside ingest, so the budget
 * is what the pool admits: ~1,550 events/s of such visits (~840 with every session an object).
 */
export const SESSIONIZER_STATE = {
  bytesPerOpenSession: 1_500,
  bytesPerEvictedUser: 520,
  eventsPerVisit: 10,
  visitSeconds: 10 * 20,
  timeoutSeconds: 30 * 60,
  evictIdleSeconds: CODE_DEFAULTS.SESSIONIZER_EVICT_IDLE_MS / 1000,
  latenessSeconds: CODE_DEFAULTS.ALLOWED_LATENESS_MS / 1000,
  /** What the pool admits (see above): the sessionizer's resident session-state budget. */
  openSessionsMiB: 240,
} as const;

const visitsPerSecond = (eventsPerSecond: number) => eventsPerSecond / SESSIONIZER_STATE.eventsPerVisit;

/** Open sessions at `eventsPerSecond` of such visits: visits started per second x how long each stays open. */
export const openSessionsAt = (eventsPerSecond: number) =>
  Math.round(visitsPerSecond(eventsPerSecond) * (SESSIONIZER_STATE.visitSeconds + SESSIONIZER_STATE.timeoutSeconds));

/** Of those, the ones kept as objects: under way, or idle less than the eviction time (plus the lateness the watermark trails by). */
export const inMemorySessionsAt = (eventsPerSecond: number) =>
  Math.round(visitsPerSecond(eventsPerSecond) * (SESSIONIZER_STATE.visitSeconds + SESSIONIZER_STATE.evictIdleSeconds + SESSIONIZER_STATE.latenessSeconds));

/** The sessionizer's session state in bytes at `eventsPerSecond`: sessions as objects, and idle users' encoded until their session closes. */
export const sessionStateBytesAt = (eventsPerSecond: number) =>
  inMemorySessionsAt(eventsPerSecond) * SESSIONIZER_STATE.bytesPerOpenSession
  + Math.round(visitsPerSecond(eventsPerSecond) * (SESSIONIZER_STATE.timeoutSeconds - SESSIONIZER_STATE.evictIdleSeconds)) * SESSIONIZER_STATE.bytesPerEvictedUser;
