import { loadConfig } from '../core/config.js';
import { composeSpeedLayer } from '../core/compose.js';
import { createLogger } from '../core/log.js';
import { serve } from '../adapters/http-server.js';

// The ingest function on its own (`npm run ingest`): one replica, honouring PORT and the config.
const config = loadConfig();
const layer = await composeSpeedLayer(config, { functions: ['ingest'], log: createLogger('ingest', config.LOG_LEVEL) });
await serve(layer.ingest!.handler, config.PORT, layer.log, () => layer.close());
