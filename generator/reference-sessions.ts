import { timestampMs } from '../functions/core/timestamp.js';
import { sessionId } from '../functions/core/ids.js';
import { toCents } from '../functions/core/money.js';
import { EVENT_TYPES, FUNNEL_STEPS, type EventType, type UserEvent } from '../functions/schemas/events.js';

/**
 * The reference sessionizer: deliberately short and offline, over the whole log at once. A user's
 * events in event-time order (ties by event id) form one session until a gap of more than `gapMs`
 * or a logout, and a session lasts less than `maxDurationMs` (an event that far from its start
 * begins the next one). The ordered funnel: the longest prefix of FUNNEL_STEPS found in order in
 * the session's events, and when its last step happened. The streaming sessionizer must agree.
 */
export type RefSession = {
  session_id: string; user_id: string; start_ms: number; end_ms: number; event_count: number;
  type_counts: Record<EventType, number>; page_views: number; purchases: number; revenue_cents: number;
  converted: boolean; entry_page: string; exit_page: string; closed_by: 'logout' | 'timeout' | 'max_duration';
  funnel_step: number; funnel_ms: number;
};

export function referenceSessions(events: readonly UserEvent[], gapMs = 30 * 60_000, maxDurationMs = 24 * 3600_000): RefSession[] {
  const byUser = new Map<string, UserEvent[]>();
  for (const e of events) byUser.set(e.user_id, [...(byUser.get(e.user_id) ?? []), e]);
  const sessions: RefSession[] = [];
  for (const [user, list] of byUser) {
    list.sort((a, b) => timestampMs(a.timestamp) - timestampMs(b.timestamp) || (a.event_id < b.event_id ? -1 : 1));
    let cur: UserEvent[] = [];
    const close = () => { if (cur.length) sessions.push(summarize(user, cur, gapMs, maxDurationMs)); cur = []; };
    for (const e of list) {
      const prev = cur[cur.length - 1];
      const t = timestampMs(e.timestamp);
      if (prev && (t - timestampMs(prev.timestamp) > gapMs || t - timestampMs(cur[0]!.timestamp) >= maxDurationMs)) close();
      cur.push(e);
      if (e.event_type === 'logout') close();
    }
    close();
  }
  return sessions;
}

function summarize(user: string, evs: UserEvent[], gapMs: number, maxDurationMs: number): RefSession {
  const count = (t: EventType) => evs.filter((e) => e.event_type === t).length;
  const type_counts = Object.fromEntries(EVENT_TYPES.map((t) => [t, count(t)])) as Record<EventType, number>;
  const revenue_cents = evs.reduce((s, e) => s + (e.event_type === 'purchase' ? toCents(e.price) * e.quantity : 0), 0);
  const start = timestampMs(evs[0]!.timestamp);
  const last = evs[evs.length - 1]!;
  let step = 0, at = start;
  for (const e of evs) if (step < FUNNEL_STEPS.length && e.event_type === FUNNEL_STEPS[step]) { step++; at = timestampMs(e.timestamp); }
  const end = timestampMs(last.timestamp);
  return {
    session_id: sessionId(user, start), user_id: user, start_ms: start, end_ms: timestampMs(last.timestamp),
    event_count: evs.length, type_counts, page_views: count('page_view'), purchases: count('purchase'), revenue_cents,
    converted: count('purchase') > 0, entry_page: evs[0]!.page_url ?? '', exit_page: last.page_url ?? '',
    // Whichever bound a streaming sessionizer sees pass first: the gap after the last event, or the longest duration.
    closed_by: last.event_type === 'logout' ? 'logout' : start + maxDurationMs <= end + gapMs ? 'max_duration' : 'timeout',
    funnel_step: step, funnel_ms: step ? at - start : 0,
  };
}
