import { describe, expect, test } from 'vitest';
import { createDueIndex, dueMs } from '../../functions/sessionizer/due-index.js';
import { openSession, type SessionRules } from '../../functions/steps/sessionize.js';

const RULES: SessionRules = { gapMs: 30 * 60_000, maxDurationMs: 24 * 3600_000 };
const T0 = Date.parse('2024-05-01T10:00:00.000Z');
const session = (startMs: number, endMs: number, endedByLogout = false) => ({ ...openSession({ event_id: 'e', user_id: 'u', user_tier: 'Gold', event_type: 'page_view', timestampMs: startMs, page_url: '/', price: '0', quantity: 0 }), endMs, endedByLogout, ids: [] });

describe('the due index hands out users whose earliest session the watermark has passed', () => {
  test('due: logout at its end, else the gap or the longest duration, whichever comes first', () => {
    expect(dueMs(session(T0, T0 + 60_000, true), RULES)).toBe(T0 + 60_000);
    expect(dueMs(session(T0, T0 + 60_000), RULES)).toBe(T0 + 60_000 + RULES.gapMs);
    expect(dueMs(session(T0, T0 + 23.9 * 3600_000), RULES)).toBe(T0 + RULES.maxDurationMs);
  });

  test('a second is handed out once the watermark has fully passed it, and only once', () => {
    const due = createDueIndex(RULES);
    due.file('a', [session(T0, T0, true)]);
    due.file('b', [session(T0 + 5_000, T0 + 5_000, true)]);
    expect(due.take(T0 + 500)).toEqual([]); // second T0 not fully passed
    expect(due.take(T0 + 1_000)).toEqual(['a']);
    expect(due.take(T0 + 1_000)).toEqual([]);
    expect(due.take(T0 + 10_000)).toEqual(['b']);
    // Filed for a second already handed out (a run that failed files its users again): handed out at the next take.
    due.file('c', [session(T0, T0, true)]);
    expect(due.take(T0 + 10_000)).toEqual(['c']);
    expect(due.take(T0 + 10_000)).toEqual([]);
  });

  test('a user is filed by the earliest of its sessions; a watermark jump hands out every second passed', () => {
    const due = createDueIndex(RULES);
    due.file('u', [session(T0, T0 + 1_000), session(T0 + 40 * 60_000, T0 + 40 * 60_000, true)]);
    due.file('v', [session(T0 + 3600_000, T0 + 3600_000)]);
    expect(due.take(T0 + 40 * 60_000 + 2_000).sort()).toEqual(['u']);
    expect(due.take(T0 + 10 * 3600_000)).toEqual(['v']);
  });
});

describe('a user is filed once', () => {
  test('filing again moves the user: only the newest due second hands them out', () => {
    const due = createDueIndex(RULES);
    due.file('u', [session(T0, T0, true)]);
    due.file('u', [session(T0, T0 + 5_000, true)]); // a later event moved the session's end
    expect(due.size).toBe(1);
    expect(due.take(T0 + 1_000)).toEqual([]);
    expect(due.take(T0 + 6_000)).toEqual(['u']);
    expect(due.size).toBe(0);
  });

  test('filing with no sessions unfiles; a user handed out can be filed again', () => {
    const due = createDueIndex(RULES);
    due.file('u', [session(T0, T0, true)]);
    due.file('u', []);
    expect(due.take(T0 + 10_000)).toEqual([]);
    due.file('u', [session(T0, T0 + 20_000, true)]);
    expect(due.take(T0 + 21_000)).toEqual(['u']);
    expect(due.take(T0 + 30_000)).toEqual([]);
  });
});
