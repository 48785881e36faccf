import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import { resolveCopies, type StoredCopy } from '../steps/copies.js';
import type { SessionRow } from '../steps/sessionize.js';
import { SESSIONIZER_QUERIES as Q } from './queries.js';

/** The sessionizer's ClickHouse edge: parameterized reads, inserts with tokens, the copy cancels. */
export type Row = Record<string, unknown>;
/** Queries are named, never passed as text: every statement is a constant of ./queries.ts. */
export type QueryName = keyof typeof Q;
/** The tables the sessionizer writes. */
export type SessionTable = 'user_sessions_realtime' | 'sessionizer_state' | 'sessionizer_open' | 'late_events' | 'user_events_realtime' | 'transactions_realtime';

/** A DateTime64 as ClickHouse answers it ('YYYY-MM-DD hh:mm:ss.sss', UTC), in ms. */
export const chMs = (t: string) => Date.parse(`${t.replace(' ', 'T')}Z`);
export const ch64 = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

export function createSessionStore(db: string, deps: { ch: ClickHouseClient; metrics: Metrics; log: Logger }) {
  const { ch, metrics, log } = deps;
  const query = async <T = Row>(name: QueryName, params: Record<string, unknown>) =>
    (await ch.query({ query: Q[name].replaceAll('{db}', db), query_params: params, format: 'JSONEachRow' })).json<T>();
  /** Rows as arrays with plain numbers: the inbox's tens of thousands of rows a run parse faster so. */
  const queryCompact = async <T extends unknown[]>(name: QueryName, params: Record<string, unknown>) =>
    (await ch.query({ query: Q[name].replaceAll('{db}', db), query_params: params, format: 'JSONCompactEachRow', clickhouse_settings: { output_format_json_quote_64bit_integers: 0, output_format_json_quote_decimals: 0 } })).json<T>();
  /** Calls `each` for every row, streamed: a snapshot of millions of open sessions never sits in memory as one string. */
  async function queryEach<T extends unknown[]>(name: QueryName, params: Record<string, unknown>, each: (row: T) => void) {
    const rs = await ch.query({ query: Q[name].replaceAll('{db}', db), query_params: params, format: 'JSONCompactEachRow' });
    for await (const rows of rs.stream()) for (const row of rows) each(row.json<T>());
  }
  const insert = (table: SessionTable, values: Row[], token?: string) =>
    values.length === 0 ? Promise.resolve() : ch.insert({ table: `${db}.${table}`, values, format: 'JSONEachRow', ...(token ? { clickhouse_settings: { insert_deduplication_token: token } } : {}) }).then(() => undefined);
  /**
   * Session rows as TabSeparated text: ClickHouse parses it several times cheaper than JSONEachRow
   * (19,000 rows: ~0.9 s of engine CPU as JSON, ~0.15 s as text), and the rows are about one per event.
   */
  const insertSessions = (rows: readonly SessionRow[], token: string) =>
    rows.length === 0 ? Promise.resolve() : ch.insert({
      table: `${db}.user_sessions_realtime`, columns: [...SESSION_COLUMNS], format: 'TabSeparated', values: Readable.from([sessionsTsv(rows)], { objectMode: false }),
      clickhouse_settings: { insert_deduplication_token: token },
    }).then(() => undefined);
  /** Snapshot rows as TabSeparated text, like the sessions: a snapshot is a million JSON strings, which JSONEachRow would escape twice. */
  const insertOpen = (generation: number, rows: readonly (readonly [user: string, state: string])[], token: string) =>
    rows.length === 0 ? Promise.resolve() : ch.insert({
      table: `${db}.sessionizer_open`, columns: ['generation', 'user_id', 'state'], format: 'TabSeparated',
      values: Readable.from([openTsv(generation, rows)], { objectMode: false }), clickhouse_settings: { insert_deduplication_token: token },
    }).then(() => undefined);
  const command = (name: QueryName, params: Record<string, unknown>) => ch.command({ query: Q[name].replaceAll('{db}', db), query_params: params }).then(() => undefined);

  /**
   * Cancels every uncancelled copy beyond the first stored of each id (functions/steps/copies.ts),
   * in one insert. Its token names every row the decision was made on, so a rerun (or a second
   * sessionizer) that sees the same copies and cancels re-sends the same token and cannot cancel
   * twice; one that sees the cancels already stored has nothing left to cancel.
   */
  async function cancelCopies(table: SessionTable, kind: string, rows: StoredCopy[], keyOf: (row: StoredCopy) => string, wanted: (key: string) => boolean = () => true) {
    const byKey = new Map<string, StoredCopy[]>();
    for (const row of rows) {
      const key = keyOf(row);
      if (wanted(key)) byKey.set(key, [...(byKey.get(key) ?? []), row]);
    }
    const winners = new Map<string, Row>();
    const cancels: Row[] = [];
    const seen: string[] = [];
    for (const [key, copies] of byKey) {
      const r = resolveCopies(copies);
      if (!r) continue;
      winners.set(key, r.winner);
      if (r.firstCancelled) log.warn({ table, key }, 'the first stored copy was cancelled before the first-stored rule; the first one left counts');
      if (!r.cancels.length) continue;
      cancels.push(...r.cancels);
      seen.push(`${key}=${r.seen}`);
    }
    if (cancels.length) {
      await insert(table, cancels, `${kind}:${createHash('sha256').update(seen.sort().join(',')).digest('hex')}`);
      metrics.duplicatesDropped.inc(cancels.length);
      log.info({ table, ids: seen.length, cancelled: cancels.length }, 'cancelled duplicate copies (the first stored copy counts)');
    }
    return { winners, cancelled: cancels.length };
  }

  return { query, queryCompact, queryEach, insert, insertSessions, insertOpen, command, cancelCopies };
}
export type SessionStore = ReturnType<typeof createSessionStore>;

/** ClickHouse returns times as 'YYYY-MM-DD hh:mm:ss.sss' and counts as strings; rows we write use ISO and numbers. */
export function normalize(r: SessionRow): SessionRow {
  const iso = (t: string) => (t.includes('T') ? t : `${t.replace(' ', 'T')}Z`);
  const counts: Record<string, number> = {};
  for (const [k, v] of Object.entries(r.event_type_counts ?? {})) counts[k] = Number(v);
  return {
    ...r, start_time: new Date(iso(r.start_time)).toISOString(), end_time: new Date(iso(r.end_time)).toISOString(),
    duration_ms: Number(r.duration_ms), event_count: Number(r.event_count), event_type_counts: counts, page_views: Number(r.page_views),
    purchases: Number(r.purchases), converted: Number(r.converted), is_closed: Number(r.is_closed), is_deleted: Number(r.is_deleted), version: Number(r.version),
    funnel_step: Number(r.funnel_step ?? 0), funnel_ms: Number(r.funnel_ms ?? 0),
  };
}

const SESSION_COLUMNS = ['session_id', 'user_id', 'user_tier', 'start_time', 'end_time', 'duration_ms', 'event_count', 'event_type_counts', 'page_views', 'purchases',
  'revenue', 'converted', 'entry_page', 'exit_page', 'is_closed', 'closed_by', 'is_deleted', 'version', 'funnel_step', 'funnel_ms'] as const;
const SPECIAL = /[\t\n\\]/;
const ESCAPES: Record<string, string> = { '\t': '\\t', '\n': '\\n', '\\': '\\\\' };
/** A TabSeparated field: tab, newline and backslash escaped (page URLs are the sender's text). */
export const tsvText = (s: string) => (SPECIAL.test(s) ? s.replace(/[\t\n\\]/g, (c) => ESCAPES[c]!) : s);
/** A Map(String, UInt32) as ClickHouse reads it in text formats; the keys are event types (no quotes to escape). */
const tsvCounts = (m: Record<string, number>) => {
  let out = '{';
  for (const k in m) out += `${out.length > 1 ? ',' : ''}'${k}':${m[k]}`;
  return `${out}}`;
};

const openTsv = (generation: number, rows: readonly (readonly [string, string])[]) => {
  let out = '';
  for (const [user, state] of rows) out += `${generation}\t${user}\t${tsvText(state)}\n`;
  return out;
};

/** The rows in SESSION_COLUMNS order, one line each. */
export function sessionsTsv(rows: readonly SessionRow[]): string {
  let out = '';
  for (const r of rows) {
    out += `${r.session_id}\t${r.user_id}\t${tsvText(r.user_tier)}\t${r.start_time}\t${r.end_time}\t${r.duration_ms}\t${r.event_count}\t${tsvCounts(r.event_type_counts)}\t`
      + `${r.page_views}\t${r.purchases}\t${r.revenue}\t${r.converted}\t${tsvText(r.entry_page)}\t${tsvText(r.exit_page)}\t${r.is_closed}\t${tsvText(r.closed_by)}\t`
      + `${r.is_deleted}\t${r.version}\t${r.funnel_step ?? 0}\t${r.funnel_ms ?? 0}\n`;
  }
  return out;
}
