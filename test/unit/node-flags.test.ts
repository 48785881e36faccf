// The ingest's V8 flags (functions/core/node-flags.ts) reach every way it is started.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { NODE_FLAGS } from '../../functions/core/node-flags.js';

const scripts = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts;

describe('node flags', () => {
  test.each(['start', 'ingest', 'dispatcher'])('npm run %s passes them', (name) => {
    for (const flag of NODE_FLAGS) expect(scripts[name]).toContain(` ${flag} `);
  });

  test('the image passes them', () => {
    const cmd = readFileSync('Dockerfile', 'utf8').split('\n').find((l) => l.startsWith('CMD '))!;
    for (const flag of NODE_FLAGS) expect(cmd).toContain(`"${flag}"`);
  });
});
