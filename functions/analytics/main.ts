import { loadConfig } from '../core/config.js';
import { baseRuntime, openClickHouse } from '../core/runtime.js';
import { serve } from '../adapters/http-server.js';
import { createAnalytics } from './app.js';

// The analytics function on its own (`npm run analytics`).
const config = loadConfig(process.env, {}, { PORT: 8081 });
const { log, metrics } = baseRuntime('analytics', config);
const ch = await openClickHouse(config, log);
const { app } = createAnalytics(config, { ch, metrics, log });
await serve(app, config.PORT, log, () => ch.close());
