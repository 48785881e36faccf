import { Agent, createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The part Knative's routing plays in front of the ingest replicas, for the Kafka end-to-end tests
 * (test/integration/kafka-e2e*.test.ts): one stable URL (the dispatcher's sink) in front of N
 * ingest replica slots. A slot is either up (a port) or down (a killed pod); requests go only to
 * slots that are up, round robin, and 503 when none is (the dispatcher retries).
 *
 * Worst-case affinity, on purpose: a record that a replica already answered 2xx and that comes
 * again (a redelivery after a dispatcher crash or a rebalance) is sent to a replica *instance*
 * other than the one that stored it, whenever another is up. Knative may route it anywhere, so
 * this is allowed, and it makes every redelivery a second stored copy that the ingest's per-replica
 * de-duplication cannot catch: exactly the case the sessionizer's sign = -1 cancels must handle.
 *
 * It also counts what the tests report: deliveries per record (keyed by ce-source + ce-id, unique
 * per Kafka record), redeliveries after a 2xx, and the ingest's own answers (stored, duplicates,
 * dead_lettered).
 *
 * A poison pill that crashes the process (`crashOn`): a matching request kills the replica it is
 * routed to, every time, as an out-of-memory kill would. The router answers it 502 (what Knative's
 * queue-proxy answers for a container that died mid-request) only once `crash` has brought the
 * replica back, so at most one slot is down at a time because of it.
 */
export interface RouterStats {
  /** Requests received from the dispatcher (every attempt). */
  readonly requests: number;
  /** Records answered 2xx at least once. */
  readonly answeredRecords: number;
  /** Deliveries of a record that had already been answered 2xx (a redelivery, not a retry). */
  readonly redeliveries: number;
  /** Distinct records delivered again after a 2xx. */
  readonly redeliveredRecords: number;
  /** Redeliveries that went to another replica instance than the one that had answered. */
  readonly redeliveredElsewhere: number;
  /** Non-2xx answers (including 502/503 from the router itself while a replica was down). */
  readonly failedAnswers: number;
  /**
   * Requests the replica never answered because it died under them or was not listening (the
   * connection reset or was refused; answered 502, the dispatcher retries them).
   */
  readonly unreachable: number;
  /** Distinct records with at least one such request. */
  readonly unreachableRecords: number;
  /** Sum of the ingest's answer bodies. */
  readonly stored: number;
  readonly duplicates: number;
  readonly deadLettered: number;
  /** Mean time the ingest took to answer a 2xx, in ms (micro-batch age + insert + queueing). */
  readonly meanAnswerMs: number;
}

export interface Router {
  readonly url: string;
  readonly port: number;
  /** Marks a slot up on `port` as a new instance (a fresh pod), or down. */
  setSlot(slot: number, port: number | undefined): void;
  stats(): RouterStats;
  /** Record keys (`ce-source ce-id`) answered 2xx at least once. */
  answered(): ReadonlySet<string>;
  /** Records answered 2xx whose ce-source ends with `#topic`. */
  answeredOf(topic: string): number;
  /** Requests forwarded to the replica now in `slot` and not answered yet (0 when the slot is down). */
  inFlight(slot: number): number;
  /** Requests (every attempt) the router received for one record (`ce-source ce-id`). */
  deliveriesOf(key: string): number;
  /**
   * Requests matching `match` kill the replica they are routed to: `crash(slot)` must kill it and
   * start it again. Such a request never reaches a replica and is answered 502.
   */
  crashOn(match: (headers: IncomingHttpHeaders, body: Buffer) => boolean, crash: (slot: number) => Promise<void>): void;
  /** Each record that crashed a replica (`ce-source ce-id`), with the number of replicas it crashed. */
  crashes(): ReadonlyMap<string, number>;
  close(): Promise<void>;
}

interface RecordState {
  deliveries: number;
  oks: number;
  /** Deliveries that came after a 2xx. */
  redeliveries: number;
  /** The instance that answered the last 2xx. */
  answeredBy: number | undefined;
  /** Requests the replica never answered (it died or was not listening). */
  unreachable: number;
}

interface Slot {
  index: number;
  port: number;
  instance: number;
}

/** The router's 502 body for a replica that died under a request. */
export const REPLICA_UNREACHABLE = 'ingest replica unreachable';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host', 'proxy-connection', 'upgrade']);

function first(headers: IncomingHttpHeaders, name: string): string {
  const v = headers[name];
  return (Array.isArray(v) ? v[0] : v) ?? '';
}

/** How the router names a record: `ce-source ce-id` (unique per Kafka record through KafkaSource). */
export function recordKey(headers: IncomingHttpHeaders): string {
  return `${first(headers, 'ce-source')} ${first(headers, 'ce-id')}`;
}

export async function startRouter(slotCount: number): Promise<Router> {
  const slots: (Slot | undefined)[] = Array.from({ length: slotCount }, () => undefined);
  let nextInstance = 1;
  let turn = 0;
  const records = new Map<string, RecordState>();
  const totals = { requests: 0, redeliveries: 0, redeliveredElsewhere: 0, failedAnswers: 0, unreachable: 0, stored: 0, duplicates: 0, deadLettered: 0 };
  /** Unanswered requests per replica instance. */
  const inFlight = new Map<number, number>();
  const track = (instance: number, delta: number) => {
    const n = (inFlight.get(instance) ?? 0) + delta;
    if (n === 0) inFlight.delete(instance);
    else inFlight.set(instance, n);
  };
  let answerMs = 0;
  let answers = 0;
  const agent = new Agent({ keepAlive: true, maxSockets: 512 });
  let crasher: { match: (headers: IncomingHttpHeaders, body: Buffer) => boolean; crash: (slot: number) => Promise<void> } | undefined;
  const crashes = new Map<string, number>();
  const topicOf = (key: string) => key.slice(key.lastIndexOf('#') + 1, key.indexOf(' '));

  function choose(previous: number | undefined): Slot | undefined {
    const up = slots.filter((s): s is Slot => s !== undefined);
    if (up.length === 0) return undefined;
    if (previous !== undefined) {
      const other = up.filter((s) => s.instance !== previous);
      if (other.length > 0) return other[turn++ % other.length];
    }
    return up[turn++ % up.length];
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', () => undefined);
    req.on('end', () => {
      totals.requests += 1;
      const body = Buffer.concat(chunks);
      const key = recordKey(req.headers);
      const state = records.get(key) ?? { deliveries: 0, oks: 0, redeliveries: 0, answeredBy: undefined, unreachable: 0 };
      records.set(key, state);
      state.deliveries += 1;
      const isRedelivery = state.oks > 0;
      if (isRedelivery) {
        state.redeliveries += 1;
        totals.redeliveries += 1;
      }
      const reply = (status: number, headers: Record<string, string | string[] | undefined>, payload: Buffer): void => {
        if (status < 200 || status > 299) totals.failedAnswers += 1;
        if (res.destroyed || res.writableEnded) return;
        res.writeHead(status, headers);
        res.end(payload);
      };
      const slot = choose(state.answeredBy);
      if (!slot) {
        reply(503, { 'content-type': 'text/plain' }, Buffer.from('no ingest replica is up'));
        return;
      }
      if (isRedelivery && slot.instance !== state.answeredBy) totals.redeliveredElsewhere += 1;
      if (crasher?.match(req.headers, body)) {
        crashes.set(key, (crashes.get(key) ?? 0) + 1);
        const unreachable = () => reply(502, { 'content-type': 'text/plain' }, Buffer.from(`${REPLICA_UNREACHABLE}: the replica crashed`));
        crasher.crash(slot.index).then(unreachable, unreachable);
        return;
      }
      const headers: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(req.headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
      headers['content-length'] = String(body.length);
      const sentAt = Date.now();
      track(slot.instance, 1);
      let settled = false;
      const settle = () => {
        if (settled) return false;
        settled = true;
        track(slot.instance, -1);
        return true;
      };
      const upstream = httpRequest({ host: '127.0.0.1', port: slot.port, method: req.method, path: req.url, headers, agent }, (answer) => {
        const parts: Buffer[] = [];
        answer.on('data', (c: Buffer) => parts.push(c));
        answer.on('error', () => {
          if (settle()) {
            totals.unreachable += 1;
            state.unreachable += 1;
          }
          reply(502, {}, Buffer.from('upstream answer broken'));
        });
        answer.on('end', () => {
          if (!settle()) return;
          const payload = Buffer.concat(parts);
          const status = answer.statusCode ?? 502;
          if (status >= 200 && status < 300) {
            answerMs += Date.now() - sentAt;
            answers += 1;
            state.oks += 1;
            state.answeredBy = slot.instance;
            try {
              const outcome = JSON.parse(payload.toString()) as { stored?: number; duplicates?: number; dead_lettered?: number };
              totals.stored += outcome.stored ?? 0;
              totals.duplicates += outcome.duplicates ?? 0;
              totals.deadLettered += outcome.dead_lettered ?? 0;
            } catch {
              // Not the ingest's JSON: counted as answered all the same.
            }
          }
          const out: Record<string, string | string[] | undefined> = {};
          for (const [name, value] of Object.entries(answer.headers)) if (!HOP_BY_HOP.has(name)) out[name] = value;
          out['content-length'] = String(payload.length);
          reply(status, out, payload);
        });
      });
      // A replica killed mid-request: the connection resets, the dispatcher sees a 502 and retries.
      upstream.on('error', (err) => {
        if (!settle()) return;
        totals.unreachable += 1;
        state.unreachable += 1;
        reply(502, { 'content-type': 'text/plain' }, Buffer.from(`${REPLICA_UNREACHABLE}: ${err.message}`));
      });
      upstream.end(body);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    setSlot(slot, slotPort) {
      slots[slot] = slotPort === undefined ? undefined : { index: slot, port: slotPort, instance: nextInstance++ };
    },
    stats() {
      let answeredRecords = 0;
      let redeliveredRecords = 0;
      let unreachableRecords = 0;
      for (const s of records.values()) {
        if (s.oks > 0) answeredRecords += 1;
        if (s.redeliveries > 0) redeliveredRecords += 1;
        if (s.unreachable > 0) unreachableRecords += 1;
      }
      return { ...totals, answeredRecords, redeliveredRecords, unreachableRecords, meanAnswerMs: answers ? Math.round(answerMs / answers) : 0 };
    },
    answered() {
      return new Set([...records].filter(([, s]) => s.oks > 0).map(([k]) => k));
    },
    answeredOf(topic) {
      let n = 0;
      for (const [k, s] of records) if (s.oks > 0 && topicOf(k) === topic) n += 1;
      return n;
    },
    inFlight(slot) {
      const s = slots[slot];
      return s ? inFlight.get(s.instance) ?? 0 : 0;
    },
    deliveriesOf: (key) => records.get(key)?.deliveries ?? 0,
    crashOn(match, crash) {
      crasher = { match, crash };
    },
    crashes: () => crashes,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      agent.destroy();
      server.close(() => resolve());
    }),
  };
}
