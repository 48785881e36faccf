import type { OpenSession } from '../steps/open-sessions.js';
import type { SessionRules } from '../steps/sessionize.js';

/**
 * Which users have a session the watermark may have closed, without looking at every open session
 * each run: users are filed by the second their earliest session falls due (its logout, its end
 * plus the gap, or its start plus the longest duration), and a run takes the seconds the watermark
 * has fully passed. An entry may be stale (the user's sessions moved on): the caller checks.
 */
export function dueMs(s: Pick<OpenSession, 'startMs' | 'endMs' | 'endedByLogout'>, rules: SessionRules): number {
  return s.endedByLogout ? s.endMs : Math.min(s.endMs + rules.gapMs, s.startMs + rules.maxDurationMs);
}

/** When the earliest of a user's sessions falls due. */
export function userDueMs(sessions: readonly Pick<OpenSession, 'startMs' | 'endMs' | 'endedByLogout'>[], rules: SessionRules): number {
  let due = Infinity;
  for (const s of sessions) due = Math.min(due, dueMs(s, rules));
  return due;
}

/** Users filed by a time (to the second), handed out once the watermark has fully passed it. */
export function createTimeIndex() {
  const buckets = new Map<number, Set<string>>();
  let done = -Infinity; // every second up to this one has been handed out

  return {
    fileAt(user: string, ms: number) {
      const second = Math.max(Math.floor(ms / 1000), done + 1);
      let set = buckets.get(second);
      if (!set) buckets.set(second, (set = new Set()));
      set.add(user);
    },
    /** The users filed in every second the watermark has fully passed since the last call. */
    take(watermarkMs: number): string[] {
      const last = Math.floor(watermarkMs / 1000) - 1;
      if (last <= done) return [];
      const out: string[] = [];
      if (done === -Infinity || last - done > buckets.size) {
        for (const [second, set] of buckets) if (second <= last) { out.push(...set); buckets.delete(second); }
      } else {
        for (let second = done + 1; second <= last; second++) {
          const set = buckets.get(second);
          if (set) { out.push(...set); buckets.delete(second); }
        }
      }
      done = last;
      return out;
    },
  };
}

export function createDueIndex(rules: SessionRules) {
  const index = createTimeIndex();
  return {
    ...index,
    /** Files `user` by its earliest open session (none: nothing to file). */
    file(user: string, sessions: readonly OpenSession[]) {
      if (sessions.length) index.fileAt(user, userDueMs(sessions, rules));
    },
  };
}
export type DueIndex = ReturnType<typeof createDueIndex>;
export type TimeIndex = ReturnType<typeof createTimeIndex>;
