import { CloudEvent } from 'cloudevents';
import { EVENT_CE_TYPE } from '../../functions/cloudevents/index.js';
import { encode, type HttpMessage } from '../../generator/cloudevents.js';
import { eventAt, idOf } from '../unit/builders.js';
import { checkDelivery, formatReport, STORED_ROWS_SQL, type FaultReport, type Sent, type StoredRow } from './fault-checker.js';
import { waitFor, type Stack } from './stack.js';

/**
 * The producer of the fault scenarios: `events` user events (ids idOf(0..events-1), one a second
 * from `startMs`, spread over `users` users) in batch requests of `perRequest`, with the producer's
 * log the harness checks against: each event with its user and per-user sequence number.
 */
export function faultEvents(opts: { events: number; perRequest: number; users: number; userBase: number; source: string; startMs: number; firstId?: number }) {
  const userOf = (n: number) => idOf(opts.userBase + (n % opts.users));
  const first = opts.firstId ?? 0;
  const sent: Sent[] = Array.from({ length: opts.events }, (_, n) => ({ event_id: idOf(first + n), user_id: userOf(n), seq: Math.floor(n / opts.users) }));
  const requests: HttpMessage[] = [];
  for (let start = 0; start < opts.events; start += opts.perRequest) {
    requests.push(encode('batch', sent.slice(start, start + opts.perRequest).map((s, i) => {
      const n = start + i;
      return new CloudEvent({ id: `ce-${first + n}`, source: opts.source, type: EVENT_CE_TYPE, datacontenttype: 'application/json', data: eventAt(opts.startMs + n * 1_000, { id: first + n, user: s.user_id }) }, false);
    })));
  }
  return { requests, sent };
}

/**
 * `senders` concurrent senders that each take the next request and retry it until it is answered
 * 200, as KafkaSource does; every answer's status is kept, and the Retry-After of each 503.
 */
export function startSenders(url: string, requests: readonly HttpMessage[], opts: { senders: number; retryMs: number; pauseMs?: number }) {
  const statuses: number[] = [];
  const retryAfter: (string | null)[] = [];
  let next = 0;
  const sender = async () => {
    while (next < requests.length) {
      const msg = requests[next++]!;
      for (;;) {
        const res = await fetch(url, { method: 'POST', headers: msg.headers, body: msg.body }).catch(() => undefined);
        await res?.arrayBuffer();
        statuses.push(res?.status ?? 0);
        if (res?.status === 200) break;
        if (res?.status === 503) retryAfter.push(res.headers.get('retry-after'));
        await new Promise((r) => setTimeout(r, opts.retryMs));
      }
      if (opts.pauseMs) await new Promise((r) => setTimeout(r, opts.pauseMs));
    }
  };
  const done = Promise.all(Array.from({ length: opts.senders }, sender)).then(() => undefined);
  return { statuses, retryAfter, done, get started() { return next; } };
}

/** The greatest value `read` returned, sampled every 20 ms until `stop()`. */
export function sampleMax(read: () => number) {
  let max = 0;
  const timer = setInterval(() => { max = Math.max(max, read()); }, 20);
  return { stop() { clearInterval(timer); return max; } };
}

/** Waits until ClickHouse holds every sent event exactly once, net of cancelling rows; the checker's report, also logged. */
export async function deliveredOnce(stack: Stack, sent: readonly Sent[]): Promise<FaultReport> {
  let last: FaultReport | undefined;
  try {
    return await waitFor(async () => {
      last = checkDelivery(sent, await stack.query<StoredRow>(STORED_ROWS_SQL));
      return last.missing.length + last.duplicated.length + last.unexpected.length === 0 ? last : undefined;
    }, 'every event stored once net (no missing, duplicated or unexpected event)', 60_000, 500);
  } finally {
    if (last) console.log(formatReport(last));
  }
}
