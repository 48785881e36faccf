// The published JSON Schema files (functions/schemas/json/, written by `npm run schemas`) are the
// schemas the ingest validates with, and plain standard JSON Schema a producer can use.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { describe, expect, test } from 'vitest';
import { publishedSchemas } from '../../functions/schemas/publish.js';
import { KNOWN_DATASCHEMAS } from '../../functions/steps/validate.js';
import { VALID_EVENTS, VALID_TRANSACTION } from './builders.js';

const DIR = fileURLToPath(new URL('../../functions/schemas/json/', import.meta.url));
const onDisk = () => Object.fromEntries(readdirSync(DIR, { recursive: true, withFileTypes: true })
  .filter((f) => f.isFile())
  .map((f) => { const path = `${f.parentPath ?? f.path}/${f.name}`.slice(DIR.length).replace(/^\//, ''); return [path, readFileSync(`${DIR}${path}`, 'utf8')]; }));

describe('published schemas', () => {
  test('the files are up to date (run `npm run schemas` after changing functions/schemas/events.ts)', () => {
    expect(onDisk()).toEqual(publishedSchemas());
  });

  test('one per event type and one for transactions, each $id a known dataschema', () => {
    const files = publishedSchemas();
    expect(Object.keys(files).length).toBe(Object.keys(VALID_EVENTS).length + 1);
    for (const text of Object.values(files)) expect(KNOWN_DATASCHEMAS.has((JSON.parse(text) as { $id: string }).$id)).toBe(true);
  });

  test('a standard validator (ajv + ajv-formats, strict) takes them, and the examples pass', () => {
    const ajv = new Ajv({ strict: true });
    (addFormats as unknown as (a: Ajv) => void)(ajv);
    const files = publishedSchemas();
    for (const [type, data] of Object.entries(VALID_EVENTS)) {
      const validate = ajv.compile(JSON.parse(files[`v1/${type}.json`]!) as object);
      expect(validate(data), JSON.stringify(validate.errors)).toBe(true);
      expect(validate({ ...data, timestamp: '2024-05-01T12:00:00.5+02:00' })).toBe(true);
      expect(validate({ ...data, timestamp: '2024-05-01T12:00:00' })).toBe(false);
    }
    const tx = ajv.compile(JSON.parse(files['v1/transaction.json']!) as object);
    expect(tx(VALID_TRANSACTION)).toBe(true);
    expect(tx({ ...VALID_TRANSACTION, status: 'chargeback' })).toBe(false);
  });
});
