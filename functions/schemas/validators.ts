import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { parseTimestamp } from '../core/timestamp.js';
import { EVENT_SCHEMAS, EVENT_TYPES, Transaction, type EventType, type UserEvent } from './events.js';

// Compiled once per process: compiling is the slow part, validating is ~1 µs per event.
const ajv = new Ajv({ allErrors: false, strict: true });
(addFormats as unknown as (a: Ajv, f: string[]) => void)(ajv, ['uuid']);
// `date-time` is RFC 3339's, read by the same function as every other timestamp reader (ajv-formats'
// own also takes a space for the T, which RFC 3339's grammar does not).
ajv.addFormat('date-time', { type: 'string', validate: (s: string) => parseTimestamp(s).ok });

export const eventValidators = Object.fromEntries(
  EVENT_TYPES.map((t) => [t, ajv.compile(EVENT_SCHEMAS[t])]),
) as { [K in EventType]: ValidateFunction<UserEvent> };

export const transactionValidator: ValidateFunction<Transaction> = ajv.compile(Transaction);

export const isEventType = (t: unknown): t is EventType => typeof t === 'string' && (EVENT_TYPES as readonly string[]).includes(t);

/** The field an ajv error is about, as a dotted path (`items.0.unit_price`). */
export function errorField(e: ErrorObject): string {
  const base = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const extra = e.keyword === 'required' ? (e.params as { missingProperty: string }).missingProperty
    : e.keyword === 'additionalProperties' ? (e.params as { additionalProperty: string }).additionalProperty
    : '';
  return [base, extra].filter(Boolean).join('.');
}
