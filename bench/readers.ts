import type { UserEvent } from '../functions/schemas/events.js';
import type { GeneratedRecord } from '../generator/simulate.js';
import type { HttpClient } from './http-client.js';
import { createRecorder, createSeries } from './stats.js';

/**
 * What reads while the bench writes: dashboard users, and the freshness markers.
 *
 * Dashboard users: each user's page refreshes every 3 s, its 7 API calls at once, as the
 * dashboard does (`setInterval(refresh, 3000)`: open loop, a slow answer does not delay the next
 * refresh). Users start spread over the first interval.
 *
 * Freshness markers: once a second the bench sends a `product_view` of a product that exists only
 * for that marker (`BENCH-M<n>`), through the same path as the load, and polls the product
 * materialized view until the product shows: freshness = first poll that sees it − intended send
 * time. Polls run every `pollMs` (one at a time), so freshness is over-stated by up to that much.
 */
export const DASHBOARD_PATHS = [
  '/api/event-types', '/api/funnel', '/api/tiers', '/api/products?limit=10',
  '/api/sessions/summary', '/api/freshness', '/api/dead-letters?limit=5',
] as const;
export const REFRESH_MS = 3_000;
export const MARKER_PREFIX = 'BENCH-M';

export function createDashboardUsers(client: HttpClient, analytics: string, users: number, inWindow: (ms: number) => boolean) {
  const latency = createRecorder();
  const byPath = new Map<string, ReturnType<typeof createRecorder>>(DASHBOARD_PATHS.map((p) => [p, createRecorder()]));
  const p99Series = new Map<number, number[]>();
  let failures = 0;
  let requests = 0;
  const failureReasons: Record<string, number> = {};
  const fail = (why: string) => { failures++; failureReasons[why] = (failureReasons[why] ?? 0) + 1; };
  const timers: NodeJS.Timeout[] = [];
  let stopped = false;
  const refresh = (t0: number) => {
    for (const path of DASHBOARD_PATHS) {
      const started = Date.now();
      requests++;
      client.get(new URL(path, analytics), 30_000).then((a) => {
        if (a.status !== 200) fail(`HTTP ${a.status}`);
        const ms = Date.now() - started;
        if (inWindow(started)) { latency.add(ms); byPath.get(path)!.add(ms); }
        const s = Math.floor((started - t0) / 1000);
        (p99Series.get(s) ?? p99Series.set(s, []).get(s)!).push(ms);
      }, (err: NodeJS.ErrnoException) => fail(err.code ?? err.message.replace(/\d+/g, 'N')));
    }
  };
  return {
    start(t0: number) {
      for (let u = 0; u < users; u++) {
        timers.push(setTimeout(() => {
          if (stopped) return;
          refresh(t0);
          timers.push(setInterval(() => refresh(t0), REFRESH_MS));
        }, Math.floor((u * REFRESH_MS) / Math.max(1, users))));
      }
    },
    stop() { stopped = true; for (const t of timers) clearTimeout(t); },
    latency, byPath,
    get failures() { return failures; },
    failureReasons,
    get requests() { return requests; },
    /** Query latency per second of the run: [second, p99 ms]. */
    p99PerSecond(): [number, number][] {
      return [...p99Series.entries()].sort((a, b) => a[0] - b[0]).map(([s, v]) => {
        const sorted = v.sort((a, b) => a - b);
        return [s, sorted[Math.min(sorted.length - 1, Math.ceil(0.99 * sorted.length) - 1)]!];
      });
    },
  };
}

export function createMarkers(markerUser: string) {
  const sentAt = new Map<string, number>();
  const seenAt = new Map<string, number>();
  const freshness = createSeries();
  let n = 0;
  return {
    /** A marker event stamped `nowMs`: a product_view of its own product. */
    make(nowMs: number, uuid: () => string): GeneratedRecord {
      const product_id = `${MARKER_PREFIX}${String(n++).padStart(6, '0')}`;
      const event: UserEvent = {
        event_id: uuid(), user_id: markerUser, timestamp: new Date(nowMs).toISOString(), event_type: 'product_view',
        page_url: `/product/${product_id}`, product_id, category: 'bench-marker', price: '1.00', device_type: 'desktop',
      };
      sentAt.set(product_id, nowMs);
      return { kind: 'event', id: event.event_id, event };
    },
    /** Records the products a poll saw (at `atMs`, when its answer arrived). */
    seen(productIds: Iterable<string>, atMs: number, t0: number) {
      for (const id of productIds) {
        if (!id.startsWith(MARKER_PREFIX) || seenAt.has(id)) continue;
        const sent = sentAt.get(id);
        if (sent === undefined) continue;
        seenAt.set(id, atMs);
        freshness.set(sent, t0, atMs - sent);
      }
    },
    /** Freshness (ms) of the markers sent inside a window; and how many of those were never seen. */
    results(inWindow: (ms: number) => boolean) {
      const values: number[] = [];
      let missing = 0;
      for (const [id, sent] of sentAt) {
        if (!inWindow(sent)) continue;
        const seen = seenAt.get(id);
        if (seen === undefined) missing++;
        else values.push(seen - sent);
      }
      return { values, missing };
    },
    get sent() { return sentAt.size; },
    get seenCount() { return seenAt.size; },
    /** The latest marker's freshness so far, or how long the oldest unseen one has waited. */
    lag(nowMs: number) {
      let oldestUnseen: number | undefined;
      for (const [id, sent] of sentAt) if (!seenAt.has(id) && (oldestUnseen === undefined || sent < oldestUnseen)) oldestUnseen = sent;
      return oldestUnseen === undefined ? 0 : nowMs - oldestUnseen;
    },
    allSeen: () => seenAt.size === sentAt.size,
    freshness,
  };
}
export type Markers = ReturnType<typeof createMarkers>;

/** Polls `fetchProductIds` every `pollMs`, one poll at a time, until stopped. */
export function startMarkerPoller(markers: Markers, fetchProductIds: () => Promise<string[]>, t0: number, pollMs = 200) {
  let stopped = false;
  let errors = 0;
  const loop = async () => {
    while (!stopped) {
      const started = Date.now();
      try {
        const ids = await fetchProductIds();
        markers.seen(ids, Date.now(), t0);
      } catch {
        errors++;
      }
      await new Promise((r) => setTimeout(r, Math.max(0, pollMs - (Date.now() - started))));
    }
  };
  const done = loop();
  return { stop: async () => { stopped = true; await done; }, get errors() { return errors; } };
}
