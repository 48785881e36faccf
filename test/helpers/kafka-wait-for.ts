/**
 * Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`
 * with `message` (and the last value seen), instead of sleeping for a guessed time.
 */
export async function waitFor<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  options: { readonly timeoutMs?: number; readonly intervalMs?: number; readonly message?: string | (() => string) } = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const intervalMs = options.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const message = typeof options.message === 'function' ? options.message() : options.message ?? 'condition not met';
      throw new Error(`waitFor timed out after ${timeoutMs} ms: ${message}` +
        (lastError ? ` (last error: ${lastError instanceof Error ? lastError.message : String(lastError)})` : ''));
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
