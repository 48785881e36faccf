import { afterEach, describe, expect, test } from 'vitest';
import { fromCents } from '../../functions/core/money.js';
import type { UserEvent } from '../../functions/schemas/events.js';
import { createRandom } from '../../generator/random.js';
import { referenceSessions } from '../../generator/reference-sessions.js';
import { startStack, waitFor, type Stack } from '../helpers/stack.js';
import { arrivals, deliver, LATENESS, randomLog, type Replica } from '../helpers/session-log.js';

/**
 * Sessions must come out exactly as the offline reference says, whatever the routing: one ingest
 * replica or three receiving requests in random order, one of them crashing mid-stream; events
 * shuffled within the allowed lateness, a few far beyond it, and some delivered twice.
 */
let stack: Stack | undefined;
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

async function expectReferenceSessions(s: Stack, events: UserEvent[]) {
  await waitFor(async () => {
    const [r] = await s.query<{ open: string; closed: string }>('SELECT countIf(is_closed = 0) AS open, countIf(is_closed = 1) AS closed FROM {db}.user_sessions_realtime FINAL');
    return r && Number(r.open) === 0 && Number(r.closed) > 0 ? r : undefined;
  }, 'every session closed', 60_000);
  await s.sessionsCaughtUp();
  const rows = await s.query<Record<string, string>>(
    `SELECT toString(session_id) AS session_id, toString(user_id) AS user_id, toUnixTimestamp64Milli(start_time) AS start_ms,
            toUnixTimestamp64Milli(end_time) AS end_ms, event_count, revenue, entry_page, exit_page, closed_by, event_type_counts
     FROM {db}.user_sessions_realtime FINAL ORDER BY session_id`);
  const expected = referenceSessions(events).sort((a, b) => (a.session_id < b.session_id ? -1 : 1));
  expect(rows.map((r) => ({ ...r, event_count: Number(r.event_count), event_type_counts: Object.fromEntries(Object.entries(r.event_type_counts as unknown as Record<string, number>).map(([k, v]) => [k, Number(v)])) }))).toEqual(
    expected.map((x) => ({
      session_id: x.session_id, user_id: x.user_id, start_ms: String(x.start_ms), end_ms: String(x.end_ms), event_count: x.event_count,
      revenue: fromCents(x.revenue_cents), entry_page: x.entry_page, exit_page: x.exit_page, closed_by: x.closed_by, event_type_counts: x.type_counts,
    })),
  );
  const [c] = await s.query<{ bad: string; n: string }>(
    'SELECT (SELECT count() FROM (SELECT event_id FROM {db}.user_events_realtime GROUP BY event_id HAVING sum(sign) != 1)) AS bad, (SELECT sum(sign) FROM {db}.user_events_realtime) AS n');
  expect(Number(c!.bad)).toBe(0);
  expect(Number(c!.n)).toBe(events.length);
  return { sessions: rows.length };
}

const settings = { BATCH_MAX_AGE_MS: 100, IDLE_TIMEOUT_MS: 2_000, ALLOWED_LATENESS_MS: LATENESS, SESSIONIZER_INTERVAL_MS: 300 };

describe('sessions equal the reference whatever the routing', () => {
  test.each([
    ['one replica', 1, false, 101, 10_000],
    // 120 users in chunks of 7: every run recomputes its users in many separate queries.
    ['three replicas in random order, the sessionizer working in chunks of 7 users', 3, false, 202, 7],
    ['three replicas, one crashing mid-stream and restarted', 3, true, 303, 10_000],
    // As `npm start` and the bench run it: its own event loop, connections and heap.
    ['one replica, the sessionizer in a thread of its own', 1, false, 404, 10_000, true],
  ])('%s', async (_what, count, crash, seed, chunkUsers, thread = false) => {
    const rnd = createRandom(seed);
    const events = randomLog(rnd, 120, Date.now() - 2 * 24 * 3600_000);
    const list = arrivals(rnd, events);
    stack = await startStack({ ...settings, SESSIONIZER_CHUNK_USERS: chunkUsers }, { sessionizerThread: thread });
    const s = stack;
    const replicas: Replica[] = [{ url: s.ingestUrl }];
    for (let i = 1; i < count; i++) replicas.push(await s.startReplica());
    let crashed = false;
    await deliver(rnd, list, () => replicas, async (sent) => {
      if (crash && !crashed && sent >= list.length / 2) {
        crashed = true;
        const victim = replicas.splice(1, 1)[0]!;
        victim.kill!();
        replicas.push(await s.startReplica());
      }
    });
    const { sessions } = await expectReferenceSessions(s, events);
    expect(sessions).toBeGreaterThan(120);
    const [late] = await s.query<{ n: string }>('SELECT count() AS n FROM {db}.late_events');
    // The events sent far beyond the allowed lateness were seen as late, and their sessions corrected.
    expect(Number(late!.n)).toBeGreaterThan(0);
  }, 180_000);
});
