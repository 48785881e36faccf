import type { deadLetterRow } from './to-row.js';

type DeadLetterRow = ReturnType<typeof deadLetterRow>;

/**
 * Rows ClickHouse refused for good (a parse or type error: a bug, not an outage) as dead-letter
 * rows with reason `storage_rejected` and the server's message, so the stream goes on. Pure.
 */
export function storageRejectedRows(tables: ReadonlyMap<string, readonly Record<string, unknown>[]>, message: string, nowMs: number): DeadLetterRow[] {
  const receivedAt = new Date(nowMs).toISOString();
  const rows: DeadLetterRow[] = [];
  for (const [table, list] of tables) {
    for (const r of list) {
      rows.push({
        received_at: receivedAt, reason: 'storage_rejected', detail: message.slice(0, 2_000), field: table,
        event_type: String(r.event_type ?? table), ce_id: String(r.event_id ?? r.transaction_id ?? r.session_id ?? r.ce_id ?? ''),
        ce_source: 'speed-layer/ingest', ce_type: '', ce_subject: '', payload: JSON.stringify(r),
      });
    }
  }
  return rows;
}
