import express, { type Express } from 'express';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Config } from '../core/config.js';
import { BackpressureError, EnvelopeError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import { createBatchWriter } from '../adapters/batch-writer.js';
import { createHttpApp } from '../adapters/http-server.js';
import type { TierCache } from '../adapters/tier-cache.js';
import { createDeadLetterTopic } from '../adapters/dead-letter-topic.js';
import { decodeRequest } from '../steps/decode.js';
import { createDedupe } from '../steps/dedupe.js';
import { createPipeline, type Outcome } from './pipeline.js';

/**
 * The ingest function: `POST /` takes CloudEvents (binary, structured, batch, KafkaSource's shape)
 * and answers once each event is stored or dead-lettered. 200 with the outcome of every event;
 * 400 `{code, field, detail}` when the request is not a CloudEvent; 503 + Retry-After when
 * ClickHouse is down or the buffer is full, so the sender (KafkaSource) backs off and retries.
 */
export function createIngest(config: Config, deps: { ch: ClickHouseClient; tiers: TierCache; metrics: Metrics; log: Logger }) {
  const { metrics, log } = deps;
  const writer = createBatchWriter(
    {
      database: config.CLICKHOUSE_DATABASE, maxRows: config.BATCH_MAX_ROWS, maxAgeMs: config.BATCH_MAX_AGE_MS,
      bufferMaxRows: config.BUFFER_MAX_ROWS, maxRetries: config.INSERT_MAX_RETRIES,
      stored: (batch, now) => {
        for (const row of batch.tables.get('user_events_realtime') ?? []) metrics.freshness.observe(Math.max(0, now - Date.parse(row.timestamp as string)) / 1000);
      },
    },
    { ch: deps.ch, metrics, log },
  );
  const deadLetterTopic = config.KAFKA_BROKERS ? createDeadLetterTopic(config.KAFKA_BROKERS, log) : undefined;
  const process = createPipeline(config, { writer, tiers: deps.tiers, dedupe: createDedupe(config.DEDUPE_WINDOW), metrics, log, ...(deadLetterTopic ? { deadLetterTopic } : {}) });

  const app: Express = createHttpApp({ metrics, log, ready: () => writer.healthy });
  app.post('/', express.raw({ type: () => true, limit: '32mb' }), async (req, res) => {
    try {
      const incoming = decodeRequest(req.headers, req.body instanceof Buffer ? req.body : Buffer.alloc(0));
      const outcomes = await process(incoming);
      res.status(200).json(summarize(outcomes));
    } catch (err) {
      if (err instanceof EnvelopeError) {
        res.status(err.status).json(err.toJSON());
      } else if (err instanceof BackpressureError) {
        metrics.backpressure.inc();
        res.status(503).set('Retry-After', String(err.retryAfterS)).json({ code: 'unavailable', detail: err.detail });
      } else {
        log.error({ err: (err as Error).message, stack: (err as Error).stack }, 'ingest failed');
        res.status(500).json({ code: 'internal', detail: (err as Error).message });
      }
    }
  });

  return {
    app,
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

function summarize(outcomes: Outcome[]) {
  const count = (s: Outcome['status']) => outcomes.filter((o) => o.status === s).length;
  return {
    stored: count('stored'),
    duplicates: count('duplicate'),
    dead_lettered: count('dead_lettered'),
    rejected: outcomes.filter((o) => o.status === 'dead_lettered'),
  };
}
export type Ingest = ReturnType<typeof createIngest>;
