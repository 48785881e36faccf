import express, { type Express, type Request, type Response, type NextFunction } from 'express';
import type { Server } from 'node:http';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';

/**
 * The runtime every function shares (as faas-js-runtime gives Knative functions): liveness,
 * readiness, Prometheus metrics and in-flight accounting. The function mounts its own routes.
 */
export function createHttpApp(deps: { metrics: Metrics; log: Logger; ready: () => boolean | Promise<boolean> }): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use((_req: Request, res: Response, next: NextFunction) => {
    deps.metrics.inFlight.inc();
    res.once('close', () => deps.metrics.inFlight.dec());
    next();
  });
  app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  app.get('/readyz', async (_req, res) => {
    const ok = await Promise.resolve(deps.ready()).catch(() => false);
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not ready' });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  return app;
}

/** Listens, and on SIGTERM/SIGINT stops taking requests, runs `shutdown` (flush) and exits. */
export function serve(app: Express, port: number, log: Logger, shutdown: () => Promise<void>): Promise<Server> {
  return new Promise((resolve) => {
    const server = app.listen(port, '0.0.0.0', () => {
      log.info({ port: (server.address() as { port: number }).port }, 'listening');
      resolve(server);
    });
    server.keepAliveTimeout = 65_000;
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'stopping: finishing in-flight requests and flushing');
      server.close();
      try {
        await shutdown();
      } catch (err) {
        log.error({ err: (err as Error).message }, 'shutdown failed');
      }
      server.closeAllConnections();
      process.exit(0);
    };
    process.once('SIGTERM', () => void stop('SIGTERM'));
    process.once('SIGINT', () => void stop('SIGINT'));
  });
}
