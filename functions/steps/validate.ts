import { toCents } from '../core/money.js';
import { ok, quote, reject, type Result } from '../core/result.js';
import { parseTimestamp } from '../core/timestamp.js';
import { DESCRIPTIVE_FIELDS, EVENT_SCHEMAS, Transaction as TransactionSchema, type Transaction, type UserEvent } from '../schemas/events.js';
import { errorField, eventValidators, isEventType, transactionValidator } from '../schemas/validators.js';
import type { ValidateFunction } from 'ajv';

export type RecordKind = 'event' | 'transaction';

/**
 * A data-quality warning: the event is stored, but something in it is not in the schema
 * (docs/data-quality.md, "Schema evolution"). `field` is a dotted path without array indexes;
 * `value` a short quoted sample of what was sent, for the dashboard.
 */
export type WarningKind = 'unknown_field' | 'unlisted_value' | 'unknown_schema';
export type Warning = { kind: WarningKind; field: string; value: string };
export type ValidRecord = ({ kind: 'event'; event: UserEvent } | { kind: 'transaction'; transaction: Transaction }) & { warnings?: Warning[] };

/** How fields the schema does not know are taken: stored with a warning (the default), or dead-lettered. */
export type UnknownFields = 'warn' | 'reject';
export type Policy = { unknownFields: UnknownFields; /** The CloudEvent `dataschema` attribute, if any. */ dataschema?: string | undefined };
const DEFAULT_POLICY: Policy = { unknownFields: 'warn' };

/** Keys that would reach an object's prototype if merged: refused whatever the policy. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

const keysOf = (schema: { properties: Record<string, unknown> }) => new Set(Object.keys(schema.properties));
const EVENT_KEYS = Object.fromEntries(Object.entries(EVENT_SCHEMAS).map(([t, s]) => [t, keysOf(s)])) as Record<string, Set<string>>;
const TRANSACTION_KEYS = keysOf(TransactionSchema);
const ITEM_KEYS = keysOf(TransactionSchema.properties.items.items);

/** Validates one parsed payload against its schema, then the rules a schema cannot express. */
export function validateRecord(kind: RecordKind, data: unknown, nowMs: number, maxFutureSkewMs: number, policy: Policy = DEFAULT_POLICY): Result<ValidRecord> {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    return reject('schema_violation', 'payload must be a JSON object');
  }
  const warnings: Warning[] = [];
  const schemaWarning = checkDataschema(policy.dataschema);
  if (schemaWarning) warnings.push(schemaWarning);
  if (kind === 'event') {
    const type = (data as { event_type?: unknown }).event_type;
    if (!isEventType(type)) return reject('unknown_type', `unknown event_type ${quote(type)}`, 'event_type');
    const known = knownFields(data as Record<string, unknown>, EVENT_KEYS[type]!, '', policy, warnings);
    if (!known.ok) return known;
    const time = readTimestamp(known.value);
    if (!time.ok) return time;
    const checked = runSchema(eventValidators[type], time.value.data);
    if (!checked.ok) return checked;
    const range = checkRange(time.value, nowMs, maxFutureSkewMs);
    if (range) return range;
    descriptive('event', checked.value, warnings);
    return ok(withWarnings({ kind, event: checked.value }, warnings));
  }
  const known = knownFields(data as Record<string, unknown>, TRANSACTION_KEYS, '', policy, warnings);
  if (!known.ok) return known;
  const items = knownItems(known.value, policy, warnings);
  if (!items.ok) return items;
  const time = readTimestamp(items.value);
  if (!time.ok) return time;
  const checked = runSchema(transactionValidator, time.value.data);
  if (!checked.ok) return checked;
  const tx = checked.value;
  const itemsCents = tx.items.reduce((s, i) => s + i.quantity * toCents(i.unit_price), 0);
  if (itemsCents !== toCents(tx.subtotal)) {
    return reject('amount_mismatch', `items add up to ${itemsCents / 100}, subtotal is ${tx.subtotal}`, 'subtotal');
  }
  if (toCents(tx.subtotal) - toCents(tx.discount) + toCents(tx.tax) !== toCents(tx.total_amount)) {
    return reject('amount_mismatch', `subtotal - discount + tax != total_amount (${tx.total_amount})`, 'total_amount');
  }
  const range = checkRange(time.value, nowMs, maxFutureSkewMs);
  if (range) return range;
  descriptive('transaction', tx, warnings);
  return ok(withWarnings({ kind, transaction: tx }, warnings));
}

const withWarnings = (rec: ValidRecord, warnings: Warning[]): ValidRecord => (warnings.length ? { ...rec, warnings } : rec);

/**
 * The object with only the fields its schema knows: the others become warnings (or a reject under
 * `unknownFields: 'reject'`). A copy is made only when something is dropped; its keys are the
 * schema's own, so nothing from the sender is ever merged into it.
 */
function knownFields(data: Record<string, unknown>, keys: ReadonlySet<string>, prefix: string, policy: Policy, warnings: Warning[]): Result<Record<string, unknown>> {
  let unknown: string[] | undefined;
  for (const k of Object.keys(data)) {
    if (keys.has(k)) continue;
    const field = `${prefix}${k}`;
    const name = /^[\w.]{1,64}$/.test(field) ? field : quote(field);
    if (FORBIDDEN_KEYS.has(k)) return reject('schema_violation', `forbidden field ${name}`, name);
    if (policy.unknownFields === 'reject') return reject('schema_violation', `unexpected field ${name}`, name);
    (unknown ??= []).push(k);
    warnings.push({ kind: 'unknown_field', field: name, value: quote(data[k]) });
  }
  if (!unknown) return ok(data);
  const copy: Record<string, unknown> = {};
  for (const k of keys) if (Object.hasOwn(data, k)) copy[k] = data[k];
  return ok(copy);
}

/** A transaction's items, each with only its known fields (`items.coupon` warnings, once per name). */
function knownItems(tx: Record<string, unknown>, policy: Policy, warnings: Warning[]): Result<Record<string, unknown>> {
  const items = tx.items;
  if (!Array.isArray(items)) return ok(tx); // the schema refuses it
  let copied: unknown[] | undefined;
  const seen = new Set(warnings.map((w) => w.field));
  for (const [i, item] of items.entries()) {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) continue;
    const found: Warning[] = [];
    const r = knownFields(item as Record<string, unknown>, ITEM_KEYS, 'items.', policy, found);
    if (!r.ok) return { ...r, detail: r.detail.replace('items.', `items.${i}.`), ...(r.field ? { field: r.field.replace('items.', `items.${i}.`) } : {}) };
    for (const w of found) if (!seen.has(w.field)) { seen.add(w.field); warnings.push(w); }
    if (r.value !== item) (copied ??= [...items])[i] = r.value;
  }
  return ok(copied ? { ...tx, items: copied } : tx);
}

type Timed = { data: Record<string, unknown>; ms: number; raw: unknown };

/** Reads `timestamp` by the one rule (core/timestamp.ts) and holds it as UTC milliseconds. */
function readTimestamp(data: Record<string, unknown>): Result<Timed> {
  if (!Object.hasOwn(data, 'timestamp')) return ok({ data, ms: Number.NaN, raw: undefined }); // the schema says it is missing
  const raw = data.timestamp;
  const t = parseTimestamp(raw);
  if (!t.ok) return reject('invalid_timestamp', `timestamp ${quote(raw)} ${t.why}`, 'timestamp');
  return ok({ data: t.iso === raw ? data : { ...data, timestamp: t.iso }, ms: t.ms, raw });
}

/** After the schema and the amounts: an event time before the shop or ahead of the receiving clock. */
function checkRange({ ms, raw }: Timed, nowMs: number, skewMs: number) {
  if (ms < EARLIEST_TIMESTAMP_MS) return reject('invalid_timestamp', `timestamp ${quote(raw)} is before 2000-01-01T00:00:00.000Z`, 'timestamp');
  if (ms > nowMs + skewMs) return reject('future_timestamp', `timestamp ${quote(raw)} is ahead of the receiver's clock by more than ${skewMs} ms`, 'timestamp');
  return undefined;
}

/** Descriptive values outside their known set: stored as sent, one warning each. */
function descriptive(kind: RecordKind, rec: object, warnings: Warning[]) {
  for (const [field, known] of Object.entries(DESCRIPTIVE_FIELDS[kind]) as [string, readonly string[]][]) {
    const v = (rec as Record<string, unknown>)[field];
    if (typeof v === 'string' && !known.includes(v)) warnings.push({ kind: 'unlisted_value', field, value: quote(v) });
  }
}

/** The schema version a CloudEvent `dataschema` names; another version is read as this one, with a warning. */
export const KNOWN_DATASCHEMAS: ReadonlySet<string> = new Set([
  ...Object.values(EVENT_SCHEMAS).map((s) => s.$id as string),
  TransactionSchema.$id as string,
]);
function checkDataschema(dataschema: string | undefined): Warning | undefined {
  if (dataschema === undefined || dataschema === '' || KNOWN_DATASCHEMAS.has(dataschema)) return undefined;
  return { kind: 'unknown_schema', field: 'dataschema', value: quote(dataschema, 120) };
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
