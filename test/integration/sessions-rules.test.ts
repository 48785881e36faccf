import { afterEach, describe, expect, test } from 'vitest';
import { createRandom } from '../../generator/random.js';
import { referenceSessions } from '../../generator/reference-sessions.js';
import { arrivals, deliver, GAP, LATENESS, MIN, randomLog, type Replica } from '../helpers/session-log.js';
import { startStack, waitFor, type Stack } from '../helpers/stack.js';

/**
 * The longest session duration and the ordered funnel through the real stack, against the offline
 * reference: events shuffled within the lateness, some far beyond it, some delivered twice, over
 * two ingest replicas. Every session's trigger (timeout, logout, max_duration), furthest funnel
 * step and time to reach it must be the reference's, and so must the ordered funnel's counts.
 */
const MAX_DURATION = 90 * MIN;
let stack: Stack | undefined;
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

describe('max session duration and the ordered funnel equal the reference', () => {
  test('late events and copies included, two replicas', async () => {
    const rnd = createRandom(404);
    const events = randomLog(rnd, 120, Date.now() - 2 * 24 * 3600_000);
    stack = await startStack({ BATCH_MAX_AGE_MS: 100, IDLE_TIMEOUT_MS: 2_000, ALLOWED_LATENESS_MS: LATENESS, SESSIONIZER_INTERVAL_MS: 300, SESSION_MAX_DURATION_MS: MAX_DURATION });
    const s = stack;
    const replicas: Replica[] = [{ url: s.ingestUrl }, await s.startReplica()];
    await deliver(rnd, arrivals(rnd, events), () => replicas);
    await waitFor(async () => {
      const [r] = await s.query<{ open: string; closed: string }>('SELECT countIf(is_closed = 0) AS open, countIf(is_closed = 1) AS closed FROM {db}.user_sessions_realtime FINAL');
      return r && Number(r.open) === 0 && Number(r.closed) > 0 ? r : undefined;
    }, 'every session closed', 60_000);
    await s.sessionsCaughtUp();

    const expected = referenceSessions(events, GAP, MAX_DURATION).sort((a, b) => (a.session_id < b.session_id ? -1 : 1));
    const rows = await s.query<{ session_id: string; start_ms: string; end_ms: string; event_count: number; closed_by: string; funnel_step: number; funnel_ms: string }>(
      `SELECT toString(session_id) AS session_id, toUnixTimestamp64Milli(start_time) AS start_ms, toUnixTimestamp64Milli(end_time) AS end_ms, event_count, closed_by, funnel_step, funnel_ms
       FROM {db}.user_sessions_realtime FINAL ORDER BY session_id`);
    expect(rows.map((r) => ({ ...r, event_count: Number(r.event_count), funnel_step: Number(r.funnel_step), funnel_ms: Number(r.funnel_ms) }))).toEqual(expected.map((x) => ({
      session_id: x.session_id, start_ms: String(x.start_ms), end_ms: String(x.end_ms), event_count: x.event_count, closed_by: x.closed_by, funnel_step: x.funnel_step, funnel_ms: x.funnel_ms,
    })));
    // The log exercises every rule: sessions cut by the longest duration, and deep funnel steps.
    expect(expected.filter((x) => x.closed_by === 'max_duration').length).toBeGreaterThan(5);
    expect(expected.some((x) => x.funnel_step >= 2)).toBe(true);

    // The ordered funnel the API reads (session_funnel): sessions reaching each step, each at most the one before.
    const funnel = await s.query<{ step: number; n: string }>(
      'SELECT arrayJoin([1, 2, 3, 4, 5]) AS step, countIf(funnel_step >= step) AS n FROM {db}.session_funnel FINAL GROUP BY step ORDER BY step');
    const want = [1, 2, 3, 4, 5].map((k) => expected.filter((x) => x.funnel_step >= k).length);
    expect(funnel.map((r) => Number(r.n))).toEqual(want);
    for (let k = 1; k < want.length; k++) expect(want[k]!).toBeLessThanOrEqual(want[k - 1]!);
    const [late] = await s.query<{ n: string }>('SELECT count() AS n FROM {db}.late_events');
    expect(Number(late!.n)).toBeGreaterThan(0);
  }, 180_000);
});
