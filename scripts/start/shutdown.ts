/**
 * npm start's Ctrl-C / SIGTERM: flush and close step by step, but never longer than the deadline.
 * A ClickHouse that is down or hangs would keep the flush (and so the process) waiting for ever;
 * past the deadline the process exits anyway, naming the step it was stuck in (what was still
 * buffered was never acknowledged, so the senders retry it). A second signal exits at once.
 */
export const STOP_DEADLINE_MS = 8_000;

export interface StopStep {
  readonly name: string;
  run(): Promise<unknown> | unknown;
}

export function createShutdown(deps: {
  readonly steps: readonly StopStep[];
  readonly deadlineMs?: number;
  readonly exit: (code: number) => void;
  readonly print: (line: string) => void;
}) {
  let current: string | undefined;
  let started = false;
  let done = false;
  const finish = (code: number) => {
    if (done) return;
    done = true;
    deps.exit(code);
  };
  return {
    get stopping() { return started; },
    async onSignal(signal: string): Promise<void> {
      if (started) {
        deps.print(`${signal} again: exiting now${current ? ` (was: ${current})` : ''}`);
        finish(130);
        return;
      }
      started = true;
      const deadlineMs = deps.deadlineMs ?? STOP_DEADLINE_MS;
      const timer = setTimeout(() => {
        deps.print(`not stopped within ${deadlineMs / 1000} s (stuck: ${current ?? 'nothing'}); exiting, unflushed events were not acknowledged`);
        finish(1);
      }, deadlineMs);
      for (const step of deps.steps) {
        if (done) return;
        current = step.name;
        try {
          await step.run();
        } catch (err) {
          deps.print(`stopping: ${step.name} failed: ${(err as Error).message}`);
        }
      }
      current = undefined;
      clearTimeout(timer);
      finish(0);
    },
  };
}
