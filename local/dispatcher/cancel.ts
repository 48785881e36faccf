/**
 * How a partition lane cancels everything it has in flight (requests, backoff sleeps, waits for
 * a limiter slot) when it is aborted: on a rebalance or when the drain timeout runs out.
 *
 * Not an AbortSignal on purpose. Node's EventTarget keeps a signal's listeners in a list and
 * walks it on every addEventListener to refuse duplicates, so with thousands of requests in
 * flight on one lane's signal, each add cost O(in flight): 20 % of the dispatcher's CPU at
 * 250 records/s (bench/RESULTS.md, "Profile at the break"). Here a Set makes add and remove O(1).
 */
export type CancelHook = (reason: Error) => void;

export class Cancellation {
  private cancelReason: Error | undefined;
  private readonly hooks = new Set<CancelHook>();

  get cancelled(): boolean {
    return this.cancelReason !== undefined;
  }

  /** Why it was cancelled; undefined until then. */
  get reason(): Error | undefined {
    return this.cancelReason;
  }

  /** `hook` runs once when cancel() is called (on the next microtask if that already happened). */
  add(hook: CancelHook): void {
    const reason = this.cancelReason;
    if (reason !== undefined) queueMicrotask(() => hook(reason));
    else this.hooks.add(hook);
  }

  remove(hook: CancelHook): void {
    this.hooks.delete(hook);
  }

  cancel(reason: Error): void {
    if (this.cancelReason !== undefined) return;
    this.cancelReason = reason;
    const hooks = [...this.hooks];
    this.hooks.clear();
    for (const hook of hooks) hook(reason);
  }

  /** Hooks still registered (for tests: everything that finished must have removed its own). */
  pending(): number {
    return this.hooks.size;
  }
}

/** Resolves after `ms`; rejects with the reason as soon as `cancellation` is cancelled. */
export function sleep(ms: number, cancellation?: Cancellation): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!cancellation) {
      setTimeout(resolve, ms);
      return;
    }
    if (cancellation.reason !== undefined) {
      reject(cancellation.reason);
      return;
    }
    const onCancel: CancelHook = (reason) => {
      clearTimeout(timer);
      reject(reason);
    };
    const timer = setTimeout(() => {
      cancellation.remove(onCancel);
      resolve();
    }, ms);
    cancellation.add(onCancel);
  });
}
