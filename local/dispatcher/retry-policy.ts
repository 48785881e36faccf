import type { BackoffPolicy } from './config.js';

/**
 * Knative's data-plane contract: these answers mean "try again later"; any other non-2xx is a
 * final no, which goes to the dead-letter sink without retries.
 */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 404 || status === 409 || status === 429;
}

export function isSuccessStatus(status: number): boolean {
  return status >= 200 && status < 300;
}

/**
 * Wait before retry number `retry` (1-based). Linear: delay × n. Exponential: delay × 2^(n-1),
 * so both start at the configured delay (PT0.2S: 0.2 s, 0.4 s, 0.8 s ...).
 */
export function backoffMs(policy: BackoffPolicy, delayMs: number, retry: number): number {
  const n = Math.max(1, retry);
  return policy === 'linear' ? delayMs * n : delayMs * 2 ** (n - 1);
}

/** Retry-After (seconds or an HTTP date) in ms, when the sink sent one. */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Between rounds of a blocked record: grows from 1 s to at most 30 s while the sink stays down. */
export const BLOCKED_ROUND_MAX_DELAY_MS = 30_000;
export function blockedRoundDelayMs(round: number): number {
  return Math.min(BLOCKED_ROUND_MAX_DELAY_MS, 1000 * 2 ** Math.max(0, round - 1));
}
