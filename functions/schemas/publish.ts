import { EVENT_SCHEMAS, EVENT_TYPES, SCHEMA_VERSION, Transaction } from './events.js';

/**
 * The schemas as plain JSON Schema (draft-07) files, by path under functions/schemas/json/: one per
 * event type and one for transactions, in a folder per version. Producers validate against these;
 * their `$id` is what a CloudEvent's `dataschema` names. `npm run schemas` writes them, and a test
 * fails when the files are not what this returns.
 */
const RECEIVER_POLICY = 'What this version knows. The speed layer also stores an event with fields not listed here (without them) '
  + 'or with a descriptive value outside its examples (as sent), and counts each as a data-quality warning; see docs/data-quality.md.';

export function publishedSchemas(): Record<string, string> {
  const files: Record<string, string> = {};
  const put = (name: string, schema: object) => {
    // JSON.stringify drops TypeBox's symbol keys: what is left is standard JSON Schema.
    files[`${SCHEMA_VERSION}/${name}.json`] = `${JSON.stringify({ $schema: 'http://json-schema.org/draft-07/schema#', ...schema, description: RECEIVER_POLICY }, null, 2)}\n`;
  };
  for (const t of EVENT_TYPES) put(t, EVENT_SCHEMAS[t]);
  put('transaction', Transaction);
  return files;
}
