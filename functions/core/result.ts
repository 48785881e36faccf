/**
 * Bad data is a value, never an exception: a step returns `ok(value)` or `reject(reason, detail)`.
 * Reason codes are a closed set so dashboards and alerts can group by them.
 */
export const REJECT_REASONS = [
  'invalid_json', // the payload is not JSON
  'unknown_type', // neither a known event type nor a transaction
  'schema_violation', // a strict field is missing or of the wrong type/format; a forbidden key (__proto__)
  'invalid_timestamp', // not an RFC 3339 date-time (no zone, impossible date), or before 2000-01-01
  'amount_mismatch', // transaction: subtotal - discount + tax != total, or items don't add up
  'future_timestamp', // event time too far ahead of the receiving clock
  'storage_rejected', // valid by schema, but ClickHouse refused the row for good (kept here, not lost)
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export type Ok<T> = { readonly ok: true; readonly value: T };
export type Reject = { readonly ok: false; readonly reason: RejectReason; readonly detail: string; readonly field?: string };
export type Result<T> = Ok<T> | Reject;

export const ok = <T>(value: T): Ok<T> => ({ ok: true, value });
export const reject = (reason: RejectReason, detail: string, field?: string): Reject =>
  field === undefined ? { ok: false, reason, detail } : { ok: false, reason, detail, field };

/**
 * A value for a detail or problem text: JSON-encoded (so never raw input) and cut to `max`
 * characters; arrays and objects are named, not serialized (they may be huge or deeply nested).
 */
export function quote(v: unknown, max = 64): string {
  if (typeof v === 'string') return v.length > max ? `${JSON.stringify(v.slice(0, max))}…` : JSON.stringify(v);
  if (v === null || typeof v === 'number' || typeof v === 'boolean') return String(v);
  return Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : typeof v;
}
