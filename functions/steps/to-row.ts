import type { Reject } from '../core/result.js';
import type { Transaction, UserEvent } from '../schemas/events.js';
import type { IncomingEvent } from '../cloudevents/index.js';
import type { ValidRecord } from './validate.js';

/** Where rows meet ClickHouse: the only place that knows the columns of sql/. */
export const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

/**
 * The ISO form of a receipt time; the last one is kept, since every event of a request (and many
 * requests in one millisecond) share it.
 */
let lastMs = NaN;
let lastIso = '';
export function isoTime(ms: number): string {
  if (ms !== lastMs) { lastMs = ms; lastIso = new Date(ms).toISOString(); }
  return lastIso;
}

export function eventRow(e: UserEvent, tier: string, receivedAtMs: number) {
  const x = e as Partial<Record<string, unknown>>;
  return {
    event_id: e.event_id, event_type: e.event_type, user_id: e.user_id, user_tier: tier,
    timestamp: e.timestamp, page_url: e.page_url ?? '', product_id: (x.product_id as string) ?? '',
    category: (x.category as string) ?? '', price: (x.price as string) ?? '0', quantity: (x.quantity as number) ?? 0,
    search_query: (x.search_query as string) ?? '', order_id: (x.order_id as string) ?? ZERO_UUID,
    device_type: e.device_type ?? '', referrer: e.referrer ?? '',
    received_at: isoTime(receivedAtMs),
  };
}
export type EventRow = ReturnType<typeof eventRow>;

export function transactionRow(t: Transaction, tier: string, receivedAtMs: number) {
  return {
    transaction_id: t.transaction_id, order_id: t.order_id, user_id: t.user_id, user_tier: tier, timestamp: t.timestamp,
    items: t.items.map((i) => ({ product_id: i.product_id, quantity: i.quantity, unit_price: i.unit_price })),
    subtotal: t.subtotal, discount: t.discount, tax: t.tax, total_amount: t.total_amount,
    currency: t.currency, payment_method: t.payment_method, status: t.status,
    received_at: isoTime(receivedAtMs),
  };
}

export function deadLetterRow(e: IncomingEvent, r: Reject, receivedAtMs: number, data?: unknown) {
  const claimed = (data as { event_type?: unknown } | undefined)?.event_type;
  const type = typeof claimed === 'string' ? claimed : e.kind ?? '';
  return {
    received_at: isoTime(receivedAtMs), reason: r.reason, detail: r.detail, field: r.field ?? '',
    event_type: type.slice(0, 64), ce_id: e.attrs.id, ce_source: e.attrs.source, ce_type: e.attrs.type,
    ce_subject: e.attrs.subject ?? '', payload: e.raw,
  };
}

/** One row of data_quality_warnings per warning of a stored record (sql/014_data_quality_warnings.sql). */
export function warningRows(e: IncomingEvent, rec: ValidRecord, receivedAtMs: number) {
  const received_at = new Date(receivedAtMs).toISOString();
  const [record_id, event_type] = rec.kind === 'event' ? [rec.event.event_id, rec.event.event_type] : [rec.transaction.transaction_id, 'transaction'];
  return (rec.warnings ?? []).map((w) => ({
    received_at, kind: w.kind, field: w.field, value: w.value, event_type, record_id: record_id.toLowerCase(),
    ce_id: wellFormed(e.attrs.id), ce_source: wellFormed(e.attrs.source), dataschema: wellFormed(e.attrs.dataschema ?? ''),
  }));
}

// CloudEvent attributes are the sender's text and may hold a lone surrogate, which ClickHouse refuses
// in a JSON insert (failing the whole batch); the event's own fields cannot (the schemas refuse them).
const wellFormed = (s: string) => s.slice(0, 512).replace(/[\ud800-\udfff]/gu, '\ufffd');
export type WarningRow = ReturnType<typeof warningRows>[number];
