// What `npm test` needs from the machine beyond node_modules, and what to do when some of it is
// missing: pure decisions, so they are unit-tested (test/unit/test-tools.test.ts); the effects
// are in scripts/test-tools/main.ts.
import { delimiter, join } from 'node:path';

export interface Tool {
  /** The executable looked up on PATH (or at an absolute path). */
  readonly bin: string;
  /** The Debian package that brings it. */
  readonly debianPackage: string;
  readonly neededBy: string;
}

export const TEST_TOOLS: readonly Tool[] = [
  { bin: 'promtool', debianPackage: 'prometheus', neededBy: 'test/monitoring (promtool check/test rules)' },
  { bin: 'chromium', debianPackage: 'chromium', neededBy: 'test/browser (the dashboard in a headless browser)' },
  { bin: 'python3', debianPackage: 'python3', neededBy: 'the real ClickHouse HTTP server of the outage and kill -9 tests (local/clickhouse-server/serve.py)' },
];

export interface Host {
  readonly isRoot: boolean;
  readonly hasAptGet: boolean;
}

export type Plan =
  | { readonly action: 'none' }
  | { readonly action: 'install'; readonly packages: readonly string[]; readonly commands: readonly (readonly string[])[] }
  | { readonly action: 'fail'; readonly message: string };

/** Where `bin` is: itself when absolute, else the first PATH entry holding it; undefined when none. */
export function findBinary(bin: string, path: string, exists: (file: string) => boolean): string | undefined {
  if (bin.startsWith('/')) return exists(bin) ? bin : undefined;
  for (const dir of path.split(delimiter)) {
    if (dir && exists(join(dir, bin))) return join(dir, bin);
  }
  return undefined;
}

/** The commands that install Debian packages without questions or recommended extras. */
export function installCommands(packages: readonly string[]): string[][] {
  return [
    ['apt-get', 'update', '-qq'],
    ['apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...packages],
  ];
}

export function planTools(missing: readonly Tool[], host: Host): Plan {
  if (missing.length === 0) return { action: 'none' };
  const packages = [...new Set(missing.map((t) => t.debianPackage))];
  if (host.isRoot && host.hasAptGet) return { action: 'install', packages, commands: installCommands(packages) };
  const lines = missing.map((t) => `  - ${t.bin} (Debian package ${t.debianPackage}), for ${t.neededBy}`);
  const how = host.hasAptGet
    ? `install it as root: sudo apt-get update && sudo apt-get install -y --no-install-recommends ${packages.join(' ')}`
    : `install ${packages.join(', ')} with this system's package manager (the names above are Debian's)`;
  return { action: 'fail', message: `npm test needs tools this machine lacks:\n${lines.join('\n')}\nTo fix: ${how}; then rerun npm test.` };
}

/**
 * Processes to stop after the install: Debian's prometheus package starts a server through its
 * init scripts on some images, and the tests need only promtool. Only servers that were not
 * running before the install are stopped, so one the machine's owner runs is left alone.
 */
export function startedByInstall(before: readonly number[], after: readonly number[]): number[] {
  const had = new Set(before);
  return after.filter((pid) => !had.has(pid));
}
