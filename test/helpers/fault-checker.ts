import { basename } from 'node:path';
import { expect } from 'vitest';

/**
 * The fault harness's checker: what a producer sent (each event with its user and a per-user
 * sequence number) against what ClickHouse holds. Pure, so it is tested on its own
 * (test/unit/fault-checker.test.ts) and then used by every fault scenario.
 *
 * - missing: sent, but no net copy stored;
 * - duplicated: more than one net copy (copies still counted twice in the figures);
 * - unexpected: stored, never sent;
 * - outOfOrder: per user, events stored before an event with a lower sequence number was (allowed:
 *   the sessionizer orders by event time; reported to show what a fault did to arrival order).
 */
export type Sent = { event_id: string; user_id: string; seq: number };
export type StoredRow = { event_id: string; sign: number; stored_at: string };
export type FaultReport = { sent: number; stored: number; missing: string[]; duplicated: string[]; unexpected: string[]; outOfOrder: number };

export function checkDelivery(sent: readonly Sent[], stored: readonly StoredRow[]): FaultReport {
  const net = new Map<string, number>();
  const firstStored = new Map<string, string>();
  for (const r of stored) {
    const id = r.event_id.toLowerCase();
    net.set(id, (net.get(id) ?? 0) + r.sign);
    if (r.sign > 0 && (!firstStored.has(id) || r.stored_at < firstStored.get(id)!)) firstStored.set(id, r.stored_at);
  }
  const sentIds = new Set(sent.map((s) => s.event_id.toLowerCase()));
  const missing = sent.filter((s) => (net.get(s.event_id.toLowerCase()) ?? 0) < 1).map((s) => s.event_id);
  const duplicated = sent.filter((s) => (net.get(s.event_id.toLowerCase()) ?? 0) > 1).map((s) => s.event_id);
  const unexpected = [...net].filter(([id, n]) => n > 0 && !sentIds.has(id)).map(([id]) => id);

  // Per user, in sequence order: an event whose first copy was stored before the latest
  // first-stored time of a lower sequence number arrived out of order.
  let outOfOrder = 0;
  const byUser = new Map<string, Sent[]>();
  for (const s of sent) byUser.set(s.user_id, [...(byUser.get(s.user_id) ?? []), s]);
  for (const list of byUser.values()) {
    let latest = '';
    for (const s of list.sort((a, b) => a.seq - b.seq)) {
      const at = firstStored.get(s.event_id.toLowerCase());
      if (at === undefined) continue;
      if (at < latest) outOfOrder++;
      else latest = at;
    }
  }
  return { sent: sent.length, stored: [...net.values()].filter((n) => n > 0).length, missing, duplicated, unexpected, outOfOrder };
}

/** The rows the checker needs, from a stack's ClickHouse. */
export const STORED_ROWS_SQL = "SELECT toString(event_id) AS event_id, sign, toString(stored_at) AS stored_at FROM {db}.user_events_realtime";

/**
 * One line per scenario for the test log, so a run shows what each fault did (how many events
 * arrived out of order) next to the counts that must be 0.
 */
export function formatReport(r: FaultReport, scenario = basename(expect.getState().testPath ?? '?', '.test.ts')): string {
  return `fault report (${scenario}): sent ${r.sent}, stored ${r.stored} net, missing ${r.missing.length}, duplicated ${r.duplicated.length}, unexpected ${r.unexpected.length}, out of order ${r.outOfOrder}`;
}
