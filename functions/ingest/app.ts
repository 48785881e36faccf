import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Config } from '../core/config.js';
import { BackpressureError, EnvelopeError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import { createBatchWriter } from '../adapters/batch-writer.js';
import { createHttpApp, prepareJson, readBody, sendJson, sendPrepared, type PreparedAnswer } from '../adapters/http-server.js';
import type { TierCache } from '../adapters/tier-cache.js';
import { createDeadLetterTopic } from '../adapters/dead-letter-topic.js';
import { decodeRequest } from '../cloudevents/index.js';
import { storageRejectedRows } from '../steps/storage-rejected.js';
import { createDedupe } from '../steps/dedupe.js';
import { createPipeline, type Outcome } from './pipeline.js';

/**
 * The ingest function: `POST /` takes CloudEvents (binary, structured, batch, KafkaSource's shape)
 * and answers once each event is stored or dead-lettered. 200 with the outcome of every event;
 * 400 `{code, field, detail}` when the request is not a CloudEvent; 503 + Retry-After when
 * ClickHouse is down or the buffer is full, so the sender (KafkaSource) backs off and retries.
 *
 * `POST /` is served by plain node:http ahead of express: on the per-event paths (one CloudEvent
 * per request, as KafkaSource sends) express's router, body parser and res.json were half of the
 * ingest's CPU. Health, readiness and metrics stay on express.
 */
const MAX_BODY_BYTES = 32 * 1024 * 1024;

export function createIngest(config: Config, deps: { ch: ClickHouseClient; tiers: TierCache; metrics: Metrics; log: Logger }) {
  const { metrics, log } = deps;
  const writer = createBatchWriter(
    {
      database: config.CLICKHOUSE_DATABASE, maxRows: config.BATCH_MAX_ROWS, maxAgeMs: config.BATCH_MAX_AGE_MS,
      bufferMaxRows: config.BUFFER_MAX_ROWS, maxRetries: config.INSERT_MAX_RETRIES,
      ackBudgetMs: config.ACK_BUDGET_MS, insertsPerS: config.BATCH_MAX_INSERTS_PER_S, insertBurst: config.BATCH_INSERT_BURST,
      unstorable: (tables, err, now) => ({ dead_letter_events: storageRejectedRows(tables, err.cause instanceof Error ? err.cause.message : err.message, now) }),
      stored: (batch, now) => {
        for (const row of batch.tables.get('user_events_realtime') ?? []) metrics.freshness.observe(Math.max(0, now - Date.parse(row.timestamp as string)) / 1000);
      },
    },
    { ch: deps.ch, metrics, log },
  );
  const deadLetterTopic = config.KAFKA_BROKERS ? createDeadLetterTopic(config.KAFKA_BROKERS, log) : undefined;
  const process = createPipeline(config, { writer, tiers: deps.tiers, dedupe: createDedupe(config.DEDUPE_WINDOW), metrics, log, ...(deadLetterTopic ? { deadLetterTopic } : {}) });

  const app = createHttpApp({ metrics, log, ready: () => writer.healthy });

  async function receive(req: IncomingMessage, res: ServerResponse) {
    // Counted down when the answer is written, not by a 'close' listener per held request.
    metrics.inFlight.inc();
    try {
      // Refused at the door while the breaker is open: no body read, parsed or validated, so a
      // sender's retries cost an answer, not a second pass through the pipeline (node discards the body).
      const refused = writer.refusal();
      if (refused) throw refused;
      const incoming = decodeRequest(req.headers, await readBody(req, MAX_BODY_BYTES));
      const outcomes = await process(incoming);
      if (res.destroyed) return; // the sender went away: nothing to answer
      const common = outcomes.length === 1 ? COMMON_ANSWERS[outcomes[0]!.status] : undefined;
      if (common) sendPrepared(res, common);
      else sendJson(res, 200, summarize(outcomes));
    } catch (err) {
      if (res.headersSent || res.destroyed) return; // the sender went away: nothing to answer
      if (err instanceof EnvelopeError) {
        sendJson(res, err.status, err.toJSON(), err.status === 413 ? { connection: 'close' } : {});
      } else if (err instanceof BackpressureError) {
        metrics.backpressure.inc();
        sendJson(res, 503, { code: 'unavailable', detail: err.detail }, { 'retry-after': String(err.retryAfterS) });
      } else {
        log.error({ err: (err as Error).message, stack: (err as Error).stack }, 'ingest failed');
        sendJson(res, 500, { code: 'internal', detail: (err as Error).message });
      }
    } finally {
      metrics.inFlight.dec();
    }
  }

  const handler: RequestListener = (req, res) => {
    if (req.method === 'POST' && (req.url === '/' || req.url?.startsWith('/?'))) void receive(req, res);
    else app(req, res);
  };

  return {
    handler,
    writer,
    async close() {
      await writer.close();
      await deadLetterTopic?.close();
    },
    /** A crash, for tests: the buffer is lost and waiting requests fail, as when the pod dies. */
    abort() {
      writer.abort();
    },
  };
}

function summarize(outcomes: readonly Outcome[]) {
  let stored = 0;
  let duplicates = 0;
  const rejected: Outcome[] = [];
  for (const o of outcomes) {
    if (o.status === 'stored') stored++;
    else if (o.status === 'duplicate') duplicates++;
    else rejected.push(o);
  }
  return { stored, duplicates, dead_lettered: rejected.length, rejected };
}

/** The answers of a one-event request that was stored or a duplicate, encoded once (KafkaSource's path). */
const COMMON_ANSWERS: Partial<Record<Outcome['status'], PreparedAnswer>> = {
  stored: prepareJson(summarize([{ id: '', status: 'stored' }])),
  duplicate: prepareJson(summarize([{ id: '', status: 'duplicate' }])),
};
export type Ingest = ReturnType<typeof createIngest>;
