// What npm test does about promtool, Chromium and python3 (scripts/test-tools/plan.ts): nothing
// when present, apt-get as root, otherwise a message naming what is missing and how to install it.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { findBinary, installCommands, planTools, startedByInstall, TEST_TOOLS } from '../../scripts/test-tools/plan.js';

const [promtool, chromium] = TEST_TOOLS;

describe('planTools', () => {
  test('nothing missing: nothing to do, root or not', () => {
    expect(planTools([], { isRoot: true, hasAptGet: true })).toEqual({ action: 'none' });
    expect(planTools([], { isRoot: false, hasAptGet: false })).toEqual({ action: 'none' });
  });

  test('as root with apt-get: installs the Debian packages of what is missing', () => {
    const plan = planTools([promtool!, chromium!], { isRoot: true, hasAptGet: true });
    expect(plan).toEqual({ action: 'install', packages: ['prometheus', 'chromium'], commands: installCommands(['prometheus', 'chromium']) });
  });

  test('not root: fails naming each missing tool, its package and the command', () => {
    const plan = planTools([promtool!], { isRoot: false, hasAptGet: true });
    expect(plan.action).toBe('fail');
    const message = plan.action === 'fail' ? plan.message : '';
    expect(message).toContain('promtool (Debian package prometheus)');
    expect(message).toContain('sudo apt-get install -y --no-install-recommends prometheus');
    expect(message).not.toContain('chromium');
  });

  test('no apt-get: fails naming the packages, without an apt-get command', () => {
    const plan = planTools([chromium!], { isRoot: true, hasAptGet: false });
    expect(plan.action).toBe('fail');
    const message = plan.action === 'fail' ? plan.message : '';
    expect(message).toContain('chromium (Debian package chromium)');
    expect(message).not.toContain('apt-get');
  });
});

describe('installCommands', () => {
  test('update, then a non-interactive install without recommended extras', () => {
    expect(installCommands(['prometheus'])).toEqual([
      ['apt-get', 'update', '-qq'],
      ['apt-get', 'install', '-y', '-qq', '--no-install-recommends', 'prometheus'],
    ]);
  });
});

describe('findBinary', () => {
  const files = new Set(['/usr/local/bin/promtool', '/usr/bin/promtool', '/opt/chromium']);
  const exists = (f: string) => files.has(f);
  test.each([
    ['promtool', '/usr/local/bin:/usr/bin', '/usr/local/bin/promtool'],
    ['promtool', '/usr/bin', '/usr/bin/promtool'],
    ['promtool', '/bin', undefined],
    ['promtool', '', undefined],
    ['/opt/chromium', '', '/opt/chromium'],
    ['/usr/bin/chromium', '/usr/bin', undefined],
  ])('%s on PATH %j', (bin, path, found) => {
    expect(findBinary(bin, path, exists)).toBe(found);
  });
});

describe('startedByInstall', () => {
  test('only servers that were not running before the install are stopped', () => {
    expect(startedByInstall([10, 20], [10, 20, 31])).toEqual([31]);
    expect(startedByInstall([10], [10])).toEqual([]);
    expect(startedByInstall([], [])).toEqual([]);
  });
});

describe('wiring', () => {
  test('npm test runs the check first, and .ci/run uses the same one', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.pretest).toBe('tsx scripts/test-tools/main.ts');
    expect(readFileSync('.ci/run', 'utf8')).toContain('scripts/test-tools/main.ts');
  });
});
