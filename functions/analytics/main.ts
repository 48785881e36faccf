import { loadConfig } from '../core/config.js';
import { composeSpeedLayer } from '../core/compose.js';
import { createLogger } from '../core/log.js';
import { serve } from '../adapters/http-server.js';

// The analytics function on its own (`npm run analytics`).
const config = loadConfig(process.env, {}, { PORT: 8081 });
const layer = await composeSpeedLayer(config, { functions: ['analytics'], log: createLogger('analytics', config.LOG_LEVEL) });
await serve(layer.analytics!.app, config.PORT, layer.log, () => layer.close());
