import express from 'express';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import { createHttpApp } from '../adapters/http-server.js';
import type { Sessionizer } from './sessionizer.js';

/**
 * The sessionizer as a function: it runs on its own timer, and `POST /` (the PingSource's
 * CloudEvent in the cluster, or anyone locally) asks for a run now and answers what it did.
 */
export function createSessionizerApp(deps: { sessionizer: Sessionizer; metrics: Metrics; log: Logger }) {
  const app = createHttpApp({ metrics: deps.metrics, log: deps.log, ready: () => true });
  app.post('/', express.raw({ type: () => true, limit: '1mb' }), async (_req, res) => {
    try {
      res.json(await deps.sessionizer.runOnce());
    } catch (err) {
      deps.log.warn({ err: (err as Error).message }, 'triggered run failed');
      res.status(503).set('Retry-After', '5').json({ code: 'unavailable', detail: (err as Error).message });
    }
  });
  return app;
}
