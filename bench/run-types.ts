import type { Load } from './load.js';
import type { Scrape } from './prom.js';
import type { ProfileSummary } from './profile.js';
import type { createDashboardUsers, createMarkers } from './readers.js';
import type { VerifyResult } from './verify.js';

/** The shapes the bench's phases hand to its summary. */
export type DispatcherStats = { at: number; received: number; delivered: number; deadLettered: number; discarded: number; inFlight: number; inFlightRequests: number; queued: number; retries: number; rebalances: number };

/** What one phase (ours, or the baseline) measured while it ran. */
export type PhaseResult = {
  name: string;
  t0: number; windowStart: number; windowEnd: number; sendEnd: number;
  load: Load;
  markers: ReturnType<typeof createMarkers>;
  users?: ReturnType<typeof createDashboardUsers>;
  /** Per second since t0, average in-flight requests to ingest (sender side) and to analytics (the bench's own). */
  inFlight: number[];
  analyticsInFlight: number[];
  /** speed_layer_in_flight_requests of the ingest function, as scraped every 5 s. */
  gauge: [number, number][];
  maxTickGapMs: number;
  drained: boolean;
  backlogAtStop: number;
  /** CPU seconds the whole machine was busy during the measured window (all processes, ours and others'). */
  machineBusyS?: number;
  /** CPU seconds per thread name during the measured window, for the processes asked (where the time went: JS, libuv, GC, ClickHouse). */
  threads: Record<string, { thread: string; cpu_s: number }[]>;
  dispatcher?: DispatcherStats;
  metrics?: Record<string, number>;
  /** The system under test's /metrics every 5 s (none for the baseline). */
  scrapes: Scrape[];
  /** Ctrl-C ended sending before the window's planned end. */
  stoppedEarly: boolean;
};


export type OursResult = { phase: PhaseResult; verify: VerifyResult; procNames: string[]; profiles: ProfileSummary[]; sutExit: number | null };
export type TheirsResult = { phase: PhaseResult; verify: VerifyResult; settings: Record<string, unknown> };
export type Window = { start: number; end: number; contains: (ms: number) => boolean };
