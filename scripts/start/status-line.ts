// npm start's status line, from figures already read: pure, so a ClickHouse outage (no funnel,
// a failed probe) is a value to print, not an exception (test/unit/start-status.test.ts).

export interface Figures {
  readonly at: number;
  readonly received: number;
  readonly stored: number;
  readonly rejected: number;
}

export interface Batches {
  readonly count: number;
  readonly rowsSum: number;
  readonly secondsSum: number;
}

export type ClickHouseState = { readonly up: true } | { readonly up: false; readonly sinceMs: number; readonly why: string };

export interface FunnelStep {
  readonly step: string;
  readonly users: number;
}

/** The state after a probe; `sinceMs` stays that of the first failed probe of an outage. */
export function nextClickHouseState(prev: ClickHouseState, probe: { readonly ok: boolean; readonly why?: string }, nowMs: number): ClickHouseState {
  if (probe.ok) return { up: true };
  return { up: false, sinceMs: prev.up ? nowMs : prev.sinceMs, why: probe.why ?? 'no answer' };
}

/** The funnel from an /api/funnel answer, or undefined for anything else (a 503's error body, say). */
export function funnelOf(body: unknown): FunnelStep[] | undefined {
  const data = (body as { data?: unknown } | null | undefined)?.data;
  if (!Array.isArray(data)) return undefined;
  return data.filter((s): s is FunnelStep => typeof s?.step === 'string' && typeof s?.users === 'number');
}

const hhmmss = (ms: number) => new Date(ms).toISOString().slice(11, 19);

export function formatStatus(s: {
  readonly prev: Figures;
  readonly cur: Figures;
  readonly batches: Batches;
  readonly openSessions: number;
  readonly funnel: readonly FunnelStep[] | undefined;
  readonly clickhouse: ClickHouseState;
}): string {
  const dt = Math.max((s.cur.at - s.prev.at) / 1000, 1e-3);
  const { count, rowsSum, secondsSum } = s.batches;
  const ch = s.clickhouse.up
    ? ''
    : ` · ClickHouse DOWN for ${Math.round((s.cur.at - s.clickhouse.sinceMs) / 1000)} s (${s.clickhouse.why}): ingest answers 503, nothing is lost`;
  return `[${hhmmss(s.cur.at)}] in ${((s.cur.received - s.prev.received) / dt).toFixed(0)}/s · stored ${((s.cur.stored - s.prev.stored) / dt).toFixed(0)}/s` +
    ` · rejected ${s.cur.rejected - s.prev.rejected}` +
    ` · batches ${count} (avg ${count ? Math.round(rowsSum / count) : 0} rows, ${count ? Math.round((1000 * secondsSum) / count) : 0} ms)` +
    ` · open sessions ${s.openSessions}` +
    (s.funnel ? ` · funnel 1h: ${s.funnel.map((f) => `${f.step} ${f.users}`).join(' → ')}` : '') + ch;
}
