import { toCents } from '../core/money.js';
import { ok, quote, reject, type Result } from '../core/result.js';
import type { Transaction, UserEvent } from '../schemas/events.js';
import { errorField, eventValidators, isEventType, transactionValidator } from '../schemas/validators.js';
import type { ValidateFunction } from 'ajv';

export type RecordKind = 'event' | 'transaction';
export type ValidRecord = { kind: 'event'; event: UserEvent } | { kind: 'transaction'; transaction: Transaction };

/** Validates one parsed payload against its schema, then the rules a schema cannot express. */
export function validateRecord(kind: RecordKind, data: unknown, nowMs: number, maxFutureSkewMs: number): Result<ValidRecord> {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    return reject('schema_violation', 'payload must be a JSON object');
  }
  if (kind === 'event') {
    const type = (data as { event_type?: unknown }).event_type;
    if (!isEventType(type)) return reject('unknown_type', `unknown event_type ${quote(type)}`, 'event_type');
    const checked = runSchema(eventValidators[type], data);
    if (!checked.ok) return checked;
    const future = checkNotFuture(checked.value.timestamp, nowMs, maxFutureSkewMs);
    return future ?? ok({ kind, event: checked.value });
  }
  const checked = runSchema(transactionValidator, data);
  if (!checked.ok) return checked;
  const tx = checked.value;
  const itemsCents = tx.items.reduce((s, i) => s + i.quantity * toCents(i.unit_price), 0);
  if (itemsCents !== toCents(tx.subtotal)) {
    return reject('amount_mismatch', `items add up to ${itemsCents / 100}, subtotal is ${tx.subtotal}`, 'subtotal');
  }
  if (toCents(tx.subtotal) - toCents(tx.discount) + toCents(tx.tax) !== toCents(tx.total_amount)) {
    return reject('amount_mismatch', `subtotal - discount + tax != total_amount (${tx.total_amount})`, 'total_amount');
  }
  return checkNotFuture(tx.timestamp, nowMs, maxFutureSkewMs) ?? ok({ kind, transaction: tx });
}

function runSchema<T>(validate: ValidateFunction<T>, data: unknown): Result<T> {
  if (validate(data)) return ok(data);
  const err = validate.errors?.[0];
  if (!err) return reject('schema_violation', 'invalid');
  // An unexpected field's name is the sender's: a plain short name as is, anything else quoted and cut.
  const path = errorField(err);
  const field = /^[\w.]{1,64}$/.test(path) ? path : quote(path);
  const reason = path === 'timestamp' ? 'invalid_timestamp' : 'schema_violation';
  const detail = err.keyword === 'required' ? `missing required field ${field}`
    : err.keyword === 'additionalProperties' ? `unexpected field ${field}`
    : `${field || '(root)'} ${err.message ?? 'is invalid'}`;
  return reject(reason, detail, field || undefined);
}

/** Earlier event times are refused (invalid_timestamp): before the shop, and ClickHouse's DateTime64 starts at 1900. */
export const EARLIEST_TIMESTAMP_MS = Date.UTC(2000, 0, 1);

function checkNotFuture(timestamp: string, nowMs: number, skewMs: number) {
  const t = Date.parse(timestamp);
  // RFC 3339 allows a leap second (23:59:60) that JavaScript dates cannot hold.
  if (Number.isNaN(t)) return reject('invalid_timestamp', `timestamp ${quote(timestamp)} is not a representable instant`, 'timestamp');
  if (t < EARLIEST_TIMESTAMP_MS) return reject('invalid_timestamp', `timestamp ${quote(timestamp)} is before 2000-01-01T00:00:00.000Z`, 'timestamp');
  return t > nowMs + skewMs ? reject('future_timestamp', `timestamp ${quote(timestamp)} is ahead of the receiver's clock by more than ${skewMs} ms`, 'timestamp') : undefined;
}
