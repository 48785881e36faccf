import { loadConfig } from '../core/config.js';
import { composeSpeedLayer } from '../core/compose.js';
import { createLogger } from '../core/log.js';
import { serve } from '../adapters/http-server.js';
import { createSessionizerApp } from './app.js';

// The sessionizer on its own (`npm run sessionizer`): one instance (it is the sessions' only writer).
const config = loadConfig(process.env, {}, { PORT: 8082 });
const layer = await composeSpeedLayer(config, { functions: ['sessionizer'], log: createLogger('sessionizer', config.LOG_LEVEL) });
layer.start();
await serve(createSessionizerApp({ sessionizer: layer.sessionizer!, metrics: layer.metrics, log: layer.log }), config.PORT, layer.log, () => layer.close());
