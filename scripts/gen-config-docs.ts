// Writes docs/configuration.md from the config schema (npm run docs:config).
import { writeFileSync } from 'node:fs';
import { CONFIG_DOC_PATH, renderConfigDocs } from './config-docs.js';

writeFileSync(CONFIG_DOC_PATH, renderConfigDocs());
console.log(`wrote ${CONFIG_DOC_PATH}`);
