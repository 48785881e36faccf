// The README stays a short front page (issue 16): the newcomer's two commands, links that resolve,
// the kcat line npm start -- --kafka prints, and the reference in docs/.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { kcatLine } from '../../scripts/start/kafka.js';
import { DEFAULT_KAFKA_PORT } from '../../local/kafka/versions.js';

const readme = readFileSync('README.md', 'utf8');

describe('README.md', () => {
  test('under 200 lines, with the two commands of the quick start', () => {
    expect(readme.split('\n').length).toBeLessThan(200);
    expect(readme).toContain('npm install && npm start');
    expect(readme).toMatch(/^npm test\b/m);
  });

  test('every relative link resolves', () => {
    const links = [...readme.matchAll(/\]\(([^)#]+)(#[^)]*)?\)/g)].map((m) => m[1]!).filter((l) => !/^https?:/.test(l));
    expect(links.length).toBeGreaterThan(5);
    expect(links.filter((l) => !existsSync(l))).toEqual([]);
  });

  test('the kcat line is the one npm start -- --kafka prints for the local broker', () => {
    expect(readme).toContain(kcatLine(`127.0.0.1:${DEFAULT_KAFKA_PORT}`));
  });

  test('the ingest contract keeps its "Bad input" section, linked from here', () => {
    expect(readFileSync('docs/ingest-contract.md', 'utf8')).toMatch(/^## Bad input$/m);
    expect(readme).toContain('docs/ingest-contract.md');
  });
});
