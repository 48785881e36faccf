import type { OpenSession } from '../steps/open-sessions.js';
import type { SessionRules } from '../steps/sessionize.js';

/**
 * Which users have a session the watermark may have closed, without looking at every open session
 * each run: users are filed by the second their earliest session falls due (its logout, its end
 * plus the gap, or its start plus the longest duration), and a run takes the seconds the watermark
 * has fully passed. A user is filed once: filing again moves them, so a visit of ten events is not
 * ten stale entries to decode and look at half an hour later.
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

export function createDueIndex(rules: SessionRules) {
  const buckets = new Map<number, Set<string>>();
  const filedAt = new Map<string, number>();
  let done = -Infinity; // every second up to this one has been handed out
  let low = Infinity; // the earliest second filed since the last take (a user filed again after a failed run may be past `done`)

  const unfile = (user: string) => {
    const second = filedAt.get(user);
    if (second === undefined) return;
    filedAt.delete(user);
    const set = buckets.get(second);
    if (set?.delete(user) && !set.size) buckets.delete(second);
  };
  return {
    /** Files `user` by their earliest open session, moving an earlier filing (no sessions: unfiled). A second already passed is handed out at the next take. */
    file(user: string, sessions: readonly OpenSession[]) {
      if (!sessions.length) return unfile(user);
      const second = Math.floor(userDueMs(sessions, rules) / 1000);
      if (filedAt.get(user) === second) return;
      unfile(user);
      let set = buckets.get(second);
      if (!set) buckets.set(second, (set = new Set()));
      set.add(user);
      filedAt.set(user, second);
      if (second < low) low = second;
    },
    /** The users filed in every second the watermark has fully passed (they are unfiled). */
    take(watermarkMs: number): string[] {
      const last = Math.max(Math.floor(watermarkMs / 1000) - 1, done);
      const from = Math.min(done + 1, low);
      if (last < from) return [];
      const out: string[] = [];
      const hand = (second: number, set: Set<string>) => {
        for (const user of set) { out.push(user); filedAt.delete(user); }
        buckets.delete(second);
      };
      if (from === -Infinity || last - from > buckets.size) {
        for (const [second, set] of buckets) if (second <= last) hand(second, set);
      } else {
        for (let second = from; second <= last; second++) {
          const set = buckets.get(second);
          if (set) hand(second, set);
        }
      }
      done = last;
      low = Infinity;
      return out;
    },
    /** Users filed now. */
    get size() { return filedAt.size; },
  };
}
export type DueIndex = ReturnType<typeof createDueIndex>;
