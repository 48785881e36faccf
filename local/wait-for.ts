/**
 * The one polling helper of the tests and the bench: polls `check` until it returns something
 * other than undefined or false, instead of sleeping for a guessed time. Throws after the timeout
 * with what was awaited (and the last error `check` threw); `waitUntil` answers false instead.
 *
 * Two call forms, both used across test/: `waitFor(check, 'what', timeoutMs?, intervalMs?)` and
 * `waitFor(check, { timeoutMs, intervalMs, message })`.
 */
export interface WaitOptions {
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
  readonly message?: string | (() => string);
}

type Check<T> = () => T | undefined | false | Promise<T | undefined | false>;

const DEFAULTS = { timeoutMs: 30_000, intervalMs: 200 };

export async function waitFor<T>(check: Check<T>, what: string | WaitOptions = {}, timeoutMs?: number, intervalMs?: number): Promise<T> {
  const o: WaitOptions = typeof what === 'string' ? { message: what, timeoutMs, intervalMs } : what;
  const timeout = o.timeoutMs ?? DEFAULTS.timeoutMs;
  const interval = o.intervalMs ?? DEFAULTS.intervalMs;
  const deadline = Date.now() + timeout;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const message = typeof o.message === 'function' ? o.message() : o.message ?? 'condition not met';
      throw new Error(`timed out after ${timeout} ms waiting for ${message}` +
        (lastError ? `: ${lastError instanceof Error ? lastError.message : String(lastError)}` : ''));
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}

/** As waitFor, but answers whether `check` came true within the time (for callers that report rather than fail). */
export function waitUntil(check: Check<unknown>, timeoutMs: number, intervalMs = 250): Promise<boolean> {
  return waitFor(check, { timeoutMs, intervalMs }).then(() => true, () => false);
}
