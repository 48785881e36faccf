import { once } from 'node:events';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Request, Response } from 'express';
import type { Config } from '../core/config.js';
import { EnvelopeError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import { createHttpApp } from '../adapters/http-server.js';
import { FUNNEL_STEPS, EVENT_TYPES } from '../schemas/events.js';
import { QUERIES, ceilMinute, chTime, floorMinute, question, type QueryName, type QueryParams } from './queries.js';
import { createQueryCache } from './cache.js';
import { mountDashboard } from './dashboard.js';
import { parseTimestamp, toIso } from '../core/timestamp.js';

/**
 * The analytics function: a JSON API over the materialized views and a live dashboard at `/`.
 * Every answer is `{ range: {from, to}, data }`; `from`/`to` (RFC 3339) default to the last 24 h,
 * taken in whole minutes: from the start of the minute 24 h ago to the end of the minute a minute
 * from now, so every request in one minute asks the same question.
 *
 * Many dashboards ask the same questions, so they share the answers (./cache.ts): identical
 * queries in flight run once, and an answer is reused for ANALYTICS_CACHE_MS (default 1 s) from
 * the start of its query, on every endpoint (freshness and watermark included), so any figure may
 * be up to that much (plus its query's own time) behind; errors are never reused. For
 * ANALYTICS_STALE_MS more (0 by default; 4 s under `npm start`) an expired answer is still served at once while one query
 * refreshes it, so dashboards do not wait behind a busy ClickHouse; there an answer is refreshed as late as
 * its 2 s age bound allows (./cache.ts), not every ANALYTICS_CACHE_MS (bench: the embedded engine runs
 * parameterized queries one at a time, and a sessionizer query can take a second at 10,000 events/s). The per-minute
 * queries (event types, tiers, products) treat any `from`/`to` in the same minute as one
 * question, which gives the same answer (./queries.ts, MINUTE_QUERIES). Counted in
 * speed_layer_analytics_cache_total{result="hit|stale|shared|miss"}; a miss is one ClickHouse query.
 */
export function createAnalytics(
  config: Pick<Config, 'CLICKHOUSE_DATABASE' | 'ANALYTICS_CACHE_MS'> & Partial<Pick<Config, 'ANALYTICS_STALE_MS'>>,
  deps: { ch: ClickHouseClient; metrics: Metrics; log: Logger; now?: () => number },
) {
  const { ch, metrics, log, now = Date.now } = deps;
  const answers = createQueryCache<Record<string, unknown>[]>({
    ttlMs: config.ANALYTICS_CACHE_MS, staleMs: config.ANALYTICS_STALE_MS ?? 0, now, onLookup: (result) => metrics.analyticsCache.inc({ result }),
  });

  async function run(endpoint: string, name: QueryName, params: QueryParams) {
    const q = question(name, params);
    return answers.get(q.key, async () => {
      const end = metrics.queryDuration.startTimer({ endpoint });
      try {
        const r = await ch.query({ query: QUERIES[name].replaceAll('{db}', config.CLICKHOUSE_DATABASE), query_params: q.params, format: 'JSONEachRow' });
        return await r.json<Record<string, unknown>>();
      } finally {
        end();
      }
    });
  }

  // Ready whether or not ClickHouse answers: the page then says so and shows its last figures,
  // rather than every replica leaving the rotation and the dashboard not loading at all.
  const app = createHttpApp({ metrics, log, ready: () => true });

  function route(path: string, handler: (q: Query, req: Request) => Promise<unknown>) {
    app.get(path, async (req: Request, res: Response) => {
      try {
        const q = parseQuery(req, now());
        res.json({ range: { from: q.from, to: q.to }, data: await handler(q, req) });
      } catch (err) {
        fail(res, path, err);
      }
    });
  }

  function fail(res: Response, path: string, err: unknown) {
    if (err instanceof EnvelopeError) return void res.status(err.status).json(err.toJSON());
    metrics.queryFailures.inc({ endpoint: path });
    log.error({ path, err: (err as Error).message }, 'query failed');
    res.status(503).json({ code: 'query_failed', detail: (err as Error).message });
  }

  // Events by type: per-type counts in any order (the ordered funnel is /api/funnel).
  route('/api/event-types', async (q) => eventTypes(await run('event-types', 'eventTypes', { ...q.range, tier: q.tier })));
  route('/api/event-types/by-tier', async (q) => byTier(await run('event-types-by-tier', 'eventTypesByTier', q.range), eventTypes));
  // The ordered funnel, from sessions started in the range; the time to convert reuses its rows.
  route('/api/funnel', async (q) => orderedFunnel((await run('funnel', 'funnel', { ...q.range, tier: q.tier }))[0]));
  route('/api/funnel/by-tier', async (q) => byTier(await run('funnel-by-tier', 'funnelByTier', q.range), ([r]) => orderedFunnel(r)));
  route('/api/funnel/time-to-convert', async (q) => {
    const [[all], tiers] = await Promise.all([run('funnel', 'funnel', { ...q.range, tier: q.tier }), run('funnel-by-tier', 'funnelByTier', q.range)]);
    return { ...timeToConvert(all), by_tier: byTier(tiers, ([r]) => timeToConvert(r)) };
  });
  route('/api/tiers', async (q) => (await run('tiers', 'tiers', q.range)).map((r) => ({
    tier: r.tier, events: num(r.events), users: num(r.users), purchases: num(r.purchases), orders: num(r.orders),
    revenue: r.revenue, avg_order_value: r.avg_order_value,
  })));
  route('/api/products', async (q) => (await run('products', 'products', { ...q.range, sort: q.sort, limit: q.limit })).map((r) => ({
    product_id: r.product_id, category: r.category, views: num(r.views), add_to_carts: num(r.add_to_carts), purchases: num(r.purchases),
    units: num(r.units), revenue: r.revenue, view_to_purchase_rate: num(r.view_to_purchase_rate),
  })));
  route('/api/sessions/summary', async (q) => {
    const [r = {}] = await run('sessions-summary', 'sessionsSummary', q.range);
    return { sessions: num(r.sessions), open: num(r.open), closed: num(r.closed), converted: num(r.converted), avg_duration_s: num(r.avg_duration_s), avg_events: num(r.avg_events), revenue: r.revenue };
  });
  route('/api/sessions/recent', async (q) => (await run('sessions-recent', 'recentSessions', { ...q.range, limit: q.limit })).map(numbers));
  route('/api/freshness', async (q) => {
    const [[f = {}], dl, [w]] = await Promise.all([run('freshness', 'freshness', q.range), run('dead-letters', 'deadLetterCounts', q.range), run('freshness', 'sessionizerState', {})]);
    const rejected = dl.reduce((s, r) => s + num(r.count), 0);
    // "Complete up to" is the sessionizer's watermark (event time: older events are all in);
    // "sessions complete until" its cursor (stored_at: every event stored before it is in its session).
    return {
      complete_up_to: w?.watermark ?? null, sessions_complete_until: w?.cursor ?? null, sessionizer_updated_at: w?.updated_at ?? null,
      latest_event: f.latest_event ?? null, last_stored: f.last_stored ?? null, events: num(f.events), late: num(f.late), rejected,
    };
  });
  route('/api/dead-letters', async (q) => ({
    counts: (await run('dead-letters', 'deadLetterCounts', q.range)).map(numbers),
    samples: await run('dead-letters', 'deadLetterSamples', { ...q.range, reason: q.reason, limit: q.limit }),
  }));
  // Stored events with a field or value the schema does not know (docs/data-quality.md).
  route('/api/warnings', async (q, req) => ({
    counts: (await run('warnings', 'warningCounts', q.range)).map(numbers),
    samples: await run('warnings', 'warningSamples', { ...q.range, kind: typeof req.query.kind === 'string' ? req.query.kind.slice(0, 64) : '', limit: q.limit }),
  }));
  // The raw payloads of rejected events, one per line, to correct and resubmit with
  // `npm run send -- --file` (docs/data-quality.md). Streamed: a range may hold many.
  app.get('/api/dead-letters/export', async (req: Request, res: Response) => {
    const path = '/api/dead-letters/export';
    let end: (() => void) | undefined;
    try {
      const q = parseQuery(req, now());
      end = metrics.queryDuration.startTimer({ endpoint: 'dead-letters-export' });
      const rows = await ch.query({
        query: QUERIES.deadLetterExport.replaceAll('{db}', config.CLICKHOUSE_DATABASE),
        query_params: { ...q.range, reason: q.reason }, format: 'JSONEachRow',
      });
      // attachment() would set the type from the .jsonl extension; the type comes after it.
      res.attachment(`dead-letters-${q.reason.replace(/[^a-z0-9_-]/gi, '') || 'all'}.jsonl`).type('application/x-ndjson');
      for await (const chunk of rows.stream<{ payload: string }>()) {
        for (const row of chunk) {
          if (!res.write(`${oneLine(row.json().payload)}\n`)) await once(res, 'drain');
        }
      }
      res.end();
    } catch (err) {
      if (!res.headersSent) fail(res, path, err);
      else {
        metrics.queryFailures.inc({ endpoint: path });
        log.error({ path, err: (err as Error).message }, 'export failed mid-stream');
        res.destroy(err as Error);
      }
    } finally {
      end?.();
    }
  });
  route('/api/users/recent', async () => run('users-recent', 'recentUsers', {}));
  route('/api/users/:id/journey', async (q, req) => {
    const user = String(req.params.id);
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(user)) throw new EnvelopeError('invalid_parameter', 'id', 'user id must be a UUID');
    const [events, sessions] = await Promise.all([
      run('journey', 'journeyEvents', { ...q.range, user }),
      run('journey', 'journeySessions', { ...q.range, user }),
    ]);
    return { user_id: user, events: events.map(numbers), sessions: sessions.map(numbers) };
  });
  mountDashboard(app);

  return { app };
}

type Query = { from: string; to: string; range: { from: string; to: string }; tier: string; sort: string; limit: number; reason: string };

function parseQuery(req: Request, now: number): Query {
  const s = (k: string) => (typeof req.query[k] === 'string' ? (req.query[k] as string) : undefined);
  const time = (k: string, dflt: number) => {
    const v = s(k);
    if (v === undefined) return new Date(dflt).toISOString();
    // The same rule as event times (core/timestamp.ts): Date.parse would take a time without a zone as local time.
    const t = parseTimestamp(v);
    if (!t.ok) throw new EnvelopeError('invalid_parameter', k, `${k} must be an RFC 3339 time, got ${JSON.stringify(v.slice(0, 64))}`);
    return toIso(t.ms);
  };
  // Whole minutes (see createAnalytics), so that the default is one question for a whole minute.
  const to = time('to', ceilMinute(now + 60_000));
  const from = time('from', floorMinute(now - 24 * 3600_000));
  if (from >= to) throw new EnvelopeError('invalid_parameter', 'from', 'from must be before to');
  const limit = Number(s('limit') ?? 20);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new EnvelopeError('invalid_parameter', 'limit', 'limit must be an integer from 1 to 1000');
  const sort = s('sort') ?? 'revenue';
  if (!['revenue', 'views', 'purchases'].includes(sort)) throw new EnvelopeError('invalid_parameter', 'sort', 'sort must be revenue, views or purchases');
  // ClickHouse wants 'YYYY-MM-DD hh:mm:ss.sss' for a DateTime64 parameter.
  return { from, to, range: { from: chTime(Date.parse(from)), to: chTime(Date.parse(to)) }, tier: s('tier') ?? '', sort, limit, reason: s('reason') ?? '' };
}

function eventTypes(rows: Record<string, unknown>[]) {
  return EVENT_TYPES.map((t) => {
    const r = rows.find((x) => x.event_type === t);
    return { event_type: t, events: num(r?.events), users: num(r?.users) };
  });
}

/** Rows carrying a `tier`, answered as { tier: shape(its rows) }, tiers in name order. */
function byTier<T>(rows: Record<string, unknown>[], shape: (rows: Record<string, unknown>[]) => T): Record<string, T> {
  const tiers = [...new Set(rows.map((r) => String(r.tier)))].sort();
  return Object.fromEntries(tiers.map((t) => [t, shape(rows.filter((r) => r.tier === t))]));
}

/** One row of the ordered-funnel query as steps: sessions reaching at least each step, in order. */
function orderedFunnel(row: Record<string, unknown> | undefined) {
  const at = (col: string, i: number) => num((row?.[col] as unknown[] | undefined)?.[i]);
  const first = at('sessions', 0);
  return FUNNEL_STEPS.map((step, i) => ({
    step, sessions: at('sessions', i), users: at('users', i),
    conversion_from_previous: i === 0 ? 1 : ratio(at('sessions', i), at('sessions', i - 1)),
    conversion_from_start: ratio(at('sessions', i), first),
  }));
}

/** Session start to purchase, for the sessions that reached it (null when none did). */
function timeToConvert(row: Record<string, unknown> | undefined) {
  const converted = num(row?.converted);
  const q = (row?.convert_ms as unknown[] | undefined) ?? [];
  return { converted, median_ms: converted ? Math.round(num(q[0])) : null, p90_ms: converted ? Math.round(num(q[1])) : null };
}

/**
 * A payload on one line of the export. JSON has no raw line breaks inside strings, so for any
 * payload that is JSON this changes whitespace only; a broken payload keeps its text, joined.
 */
const oneLine = (payload: string) => payload.replace(/\r\n|\r|\n/g, ' ');
const ratio = (a: number, b: number) => (b === 0 ? 0 : Math.round((a / b) * 10_000) / 10_000);
const num = (v: unknown) => (v === undefined || v === null ? 0 : Number(v));
const NUMERIC = new Set(['duration_ms', 'event_count', 'page_views', 'purchases', 'converted', 'is_closed', 'count', 'quantity']);
const numbers = (r: Record<string, unknown>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, NUMERIC.has(k) ? num(v) : v]));
