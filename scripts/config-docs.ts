// docs/configuration.md is generated from the config schema (functions/core/config.ts), so the
// documented defaults cannot drift from the code's. Regenerate: npm run docs:config.
import { describeConfig } from '../functions/core/config.js';

export const CONFIG_DOC_PATH = 'docs/configuration.md';

/** A millisecond default also in words, as people think of it (30 min, 60 s). */
function humanMs(name: string, v: unknown): string {
  if (!name.endsWith('_MS') || typeof v !== 'number' || v < 1000) return '';
  if (v % 60_000 === 0) return ` (${v / 60_000} min)`;
  if (v % 1000 === 0) return ` (${v / 1000} s)`;
  return '';
}

function cell(v: unknown): string {
  return v === '' ? '(empty)' : `\`${String(v)}\``;
}

export function renderConfigDocs(options = describeConfig()): string {
  const rows = options.map(({ name, default: d, description }) =>
    `| \`${name}\` | ${cell(d)}${humanMs(name, d)} | ${description.replaceAll('|', '\\|')} |`);
  return [
    '# Configuration',
    '',
    '<!-- Generated from functions/core/config.ts by `npm run docs:config`; test/unit/config-docs.test.ts fails when it is stale. -->',
    '',
    'Read once from the environment, validated, at start (`functions/core/config.ts`, the only reader of',
    '`process.env`); a bad value stops the process naming it. `npm start` runs with `ANALYTICS_STALE_MS=4000`;',
    'the cluster\'s values, and why each differs from a default, are in `charts/` (see [deploy.md](deploy.md)).',
    '',
    '| variable | default | meaning |',
    '|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
