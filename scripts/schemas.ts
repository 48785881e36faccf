// npm run schemas: writes the event schemas as JSON Schema files to functions/schemas/json/
// (functions/schemas/publish.ts), so producers and the CloudEvent `dataschema` can name them.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { publishedSchemas } from '../functions/schemas/publish.js';

const OUT = fileURLToPath(new URL('../functions/schemas/json/', import.meta.url));
for (const [path, text] of Object.entries(publishedSchemas())) {
  mkdirSync(dirname(join(OUT, path)), { recursive: true });
  writeFileSync(join(OUT, path), text);
  console.log(`wrote functions/schemas/json/${path}`);
}
