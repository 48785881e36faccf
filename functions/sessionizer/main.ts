import { loadConfig } from '../core/config.js';
import { baseRuntime, openClickHouse } from '../core/runtime.js';
import { serve } from '../adapters/http-server.js';
import { createSessionizerApp } from './app.js';
import { createSessionizer } from './sessionizer.js';

// The sessionizer on its own (`npm run sessionizer`): one instance (it is the sessions' only writer).
const config = loadConfig(process.env, {}, { PORT: 8082 });
const { log, metrics } = baseRuntime('sessionizer', config);
const ch = await openClickHouse(config, log);
const sessionizer = createSessionizer(config, { ch, metrics, log });
sessionizer.start(config.SESSIONIZER_INTERVAL_MS);
await serve(createSessionizerApp({ sessionizer, metrics, log }), config.PORT, log, async () => {
  await sessionizer.stop();
  await ch.close();
});
