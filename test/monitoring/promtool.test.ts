import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The alert rules are proven with Prometheus' own evaluator, not re-implemented here: promtool
// checks the file and runs alerts.test.yml. A missing promtool fails loudly instead of skipping,
// because a skipped test would let broken alerts ship (CI installs it, see .ci/run).

const monitoringDir = fileURLToPath(new URL('../../monitoring/', import.meta.url));
const RULES = 'alerts.yml';
const RULE_TESTS = 'alerts.test.yml';

function promtool(...args: string[]): { status: number | null; output: string } {
  const result = spawnSync('promtool', args, { cwd: monitoringDir, encoding: 'utf8', timeout: 60_000 });
  if (result.error) {
    const missing = (result.error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new Error(
      missing
        ? 'promtool is not installed: run `apt-get install -y prometheus` (Debian) or .ci/run, then rerun the tests'
        : `promtool ${args.join(' ')} could not run: ${result.error.message}`,
    );
  }
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

const alertNames = readFileSync(`${monitoringDir}${RULES}`, 'utf8')
  .split('\n')
  .flatMap((line) => /^\s*- alert:\s*(\S+)/.exec(line)?.[1] ?? []);

describe('alert rules under promtool', () => {
  it('promtool check rules accepts alerts.yml', () => {
    const { status, output } = promtool('check', 'rules', RULES);
    expect(status, output).toBe(0);
    expect(output).toContain('SUCCESS');
    expect(output).toContain(`${alertNames.length} rules found`);
  });

  it('promtool test rules passes alerts.test.yml', () => {
    const { status, output } = promtool('test', 'rules', RULE_TESTS);
    expect(status, output).toBe(0);
    expect(output).toContain('SUCCESS');
    expect(output).not.toContain('FAILED');
  });

  it('every alert has a case where it fires and one where it stays silent', () => {
    // Read the test file's alert_rule_test entries: `alertname: X` followed by `exp_alerts: []`
    // (silent) or a non-empty `exp_alerts:` list (fires).
    const lines = readFileSync(`${monitoringDir}${RULE_TESTS}`, 'utf8').split('\n');
    const fires = new Set<string>();
    const silent = new Set<string>();
    lines.forEach((line, k) => {
      const name = /^\s*alertname:\s*(\S+)/.exec(line)?.[1];
      if (!name) return;
      const next = lines.slice(k + 1).find((l) => l.trim() !== '')?.trim() ?? '';
      if (next === 'exp_alerts: []') silent.add(name);
      else if (next === 'exp_alerts:') fires.add(name);
    });
    expect(alertNames.length).toBeGreaterThanOrEqual(9);
    for (const name of alertNames) {
      expect(fires, `${name} has no firing case`).toContain(name);
      expect(silent, `${name} has no silent case`).toContain(name);
    }
    // And no test for an alert that no longer exists.
    expect([...fires, ...silent].filter((n) => !alertNames.includes(n))).toEqual([]);
  });

  it('every alert carries a severity, a summary, a description and a runbook section', () => {
    const rules = readFileSync(`${monitoringDir}${RULES}`, 'utf8');
    const readme = readFileSync(`${monitoringDir}README.md`, 'utf8');
    const blocks = rules.split(/^\s*- alert:\s*/m).slice(1);
    expect(blocks).toHaveLength(alertNames.length);
    for (const block of blocks) {
      const name = block.split('\n')[0]!.trim();
      expect(block, name).toMatch(/severity: (critical|warning)/);
      expect(block, name).toMatch(/summary: /);
      expect(block, name).toMatch(/description: /);
      expect(block, name).toContain(`runbook: monitoring/README.md#${name.toLowerCase()}`);
      expect(readme, `README.md has no runbook heading for ${name}`).toMatch(new RegExp(`^### ${name}$`, 'm'));
    }
  });
});
