import { describe, expect, test } from 'vitest';
import { createDueIndex, createTimeIndex, dueMs } from '../../functions/sessionizer/due-index.js';
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
    // Filed for a second already handed out: handed out at the next take.
    due.file('c', [session(T0, T0, true)]);
    expect(due.take(T0 + 10_000)).toEqual([]);
    expect(due.take(T0 + 11_000)).toEqual(['c']);
  });

  test('a user is filed by the earliest of its sessions; a watermark jump hands out every second passed', () => {
    const due = createDueIndex(RULES);
    due.file('u', [session(T0, T0 + 1_000), session(T0 + 40 * 60_000, T0 + 40 * 60_000, true)]);
    due.file('v', [session(T0 + 3600_000, T0 + 3600_000)]);
    expect(due.take(T0 + 40 * 60_000 + 2_000).sort()).toEqual(['u']);
    expect(due.take(T0 + 10 * 3600_000)).toEqual(['v']);
  });
});

describe('the time index behind it files users by a time of the caller', () => {
  test('fileAt hands a user out once the watermark has passed that second; a past second goes to the next take', () => {
    const idle = createTimeIndex();
    idle.fileAt('a', T0 + 1_500);
    expect(idle.take(T0 + 1_999)).toEqual([]);
    expect(idle.take(T0 + 2_000)).toEqual(['a']);
    idle.fileAt('b', T0);
    expect(idle.take(T0 + 2_500)).toEqual([]);
    expect(idle.take(T0 + 3_000)).toEqual(['b']);
  });
});
