// `npm test`'s first step (the pretest script; .ci/run too): finds promtool, Chromium and python3,
// installs what is missing with apt-get when running as root, otherwise stops with what is
// missing and how to install it. The decisions are in ./plan.ts.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { findBinary, planTools, startedByInstall, TEST_TOOLS, type Tool } from './plan.js';

const PATH = process.env.PATH ?? '';
// The browser tests launch CHROMIUM_PATH when it is set (test/browser/chromium.ts).
const binOf = (t: Tool) => (t.bin === 'chromium' && process.env.CHROMIUM_PATH) || t.bin;
const missingTools = () => TEST_TOOLS.filter((t) => !findBinary(binOf(t), PATH, existsSync));

/** Pids of running processes named `name`, from /proc (no pgrep on minimal images). */
function pidsNamed(name: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === name) pids.push(Number(entry));
    } catch { /* the process ended meanwhile */ }
  }
  return pids;
}

const plan = planTools(missingTools(), {
  isRoot: process.getuid?.() === 0,
  hasAptGet: findBinary('apt-get', PATH, existsSync) !== undefined,
});
if (plan.action === 'fail') {
  console.error(plan.message);
  process.exit(1);
}
if (plan.action === 'install') {
  console.log(`npm test: installing ${plan.packages.join(', ')} with apt-get`);
  const before = pidsNamed('prometheus');
  for (const [cmd, ...args] of plan.commands) {
    const r = spawnSync(cmd!, args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (r.status !== 0) {
      console.error(`${[cmd, ...args].join(' ')} failed (exit ${r.status ?? r.signal}); install ${plan.packages.join(' ')} by hand, then rerun npm test.`);
      process.exit(1);
    }
  }
  for (const pid of startedByInstall(before, pidsNamed('prometheus'))) {
    try { process.kill(pid, 'SIGTERM'); } catch { /* already gone */ }
  }
  const still = missingTools();
  if (still.length) {
    console.error(`still missing after the install: ${still.map((t) => t.bin).join(', ')}`);
    process.exit(1);
  }
}
