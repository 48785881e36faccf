import { loadConfig } from '../core/config.js';
import { baseRuntime, openClickHouse, openTiers } from '../core/runtime.js';
import { serve } from '../adapters/http-server.js';
import { createIngest } from './app.js';

// The ingest function on its own (`npm run ingest`): one replica, honouring PORT and the config.
const config = loadConfig();
const { log, metrics } = baseRuntime('ingest', config);
const ch = await openClickHouse(config, log);
const { pool, tiers } = await openTiers(config, metrics, log);
const ingest = createIngest(config, { ch, tiers, metrics, log });
await serve(ingest.handler, config.PORT, log, async () => {
  await ingest.close();
  tiers.close();
  await pool.end();
  await ch.close();
});
