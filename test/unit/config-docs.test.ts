// docs/configuration.md must be what the config schema generates: a default or option changed in
// functions/core/config.ts without `npm run docs:config` fails here.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { describeConfig } from '../../functions/core/config.js';
import { CONFIG_DOC_PATH, renderConfigDocs } from '../../scripts/config-docs.js';

describe('docs/configuration.md', () => {
  test('is up to date with the config schema (regenerate: npm run docs:config)', () => {
    expect(readFileSync(CONFIG_DOC_PATH, 'utf8')).toBe(renderConfigDocs());
  });

  test('names every option with its default and a meaning', () => {
    const doc = renderConfigDocs();
    for (const { name, description } of describeConfig()) {
      expect(description, `${name} has no description`).not.toBe('');
      expect(doc).toMatch(new RegExp(`^\\| \`${name}\` \\|`, 'm'));
    }
    expect(doc).toContain('| `DEDUPE_WINDOW` | `1000000` |');
    expect(doc).toContain('| `SESSION_GAP_MS` | `1800000` (30 min) |');
  });
});
