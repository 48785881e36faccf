/**
 * How many deliveries `npm start -- --kafka` lets its dispatcher keep in flight. KafkaSource's way
 * is one record per request, answered only once the micro-batch holding it is stored: a request
 * waits for its batch to close (up to BATCH_MAX_AGE_MS, half that on average with a steady
 * stream) plus the insert. By Little's law the dispatcher carries (in flight) / (that wait)
 * records a second, so the fixed 256 against a 2 s flush age capped it at ~111 events/s.
 * Sized instead for twice the rate over a whole flush window plus the insert: at the rate exactly
 * the limit would be reached whenever requests wait a whole window, and a backlog (after a pause,
 * or a ClickHouse outage) could never drain.
 */
export const INSERT_ALLOWANCE_MS = 500;
export const HEADROOM = 2;
/** The dispatcher's own default, kept as the floor, and the cap parseDispatcherConfig accepts. */
export const MIN_IN_FLIGHT = 256;
export const MAX_IN_FLIGHT = 10_000;

/** `rate` 0 (no generator: someone else produces, at a rate we do not know) gets the cap. */
export function dispatcherInFlight(rate: number, flushAgeMs: number): number {
  if (rate <= 0) return MAX_IN_FLIGHT;
  const need = Math.ceil((HEADROOM * rate * (flushAgeMs + INSERT_ALLOWANCE_MS)) / 1000);
  return Math.min(MAX_IN_FLIGHT, Math.max(MIN_IN_FLIGHT, need));
}

/** Records a second `inFlight` deliveries carry when each waits `wait` of a flush window plus the insert. */
export function carriedRate(inFlight: number, flushAgeMs: number, wait: 'whole window' | 'average'): number {
  const windowMs = wait === 'average' ? flushAgeMs / 2 : flushAgeMs;
  return (inFlight * 1000) / (windowMs + INSERT_ALLOWANCE_MS);
}
