import type { Cancellation, CancelHook } from './cancel.js';

/** A counting semaphore, first come first served: caps requests in flight across all partitions. */
export interface Limiter {
  acquire(cancellation: Cancellation): Promise<void>;
  release(): void;
  inUse(): number;
}

interface Waiter {
  readonly resolve: () => void;
  readonly cancellation: Cancellation;
  readonly onCancel: CancelHook;
  /** False once cancelled: release() skips it (removing it from the middle of the queue would be O(n)). */
  waiting: boolean;
}

export function createLimiter(max: number): Limiter {
  let used = 0;
  const waiters: Waiter[] = [];
  return {
    acquire: (cancellation) => {
      if (cancellation.reason !== undefined) return Promise.reject(cancellation.reason);
      if (used < max) { used += 1; return Promise.resolve(); }
      return new Promise<void>((resolve, reject) => {
        const waiter: Waiter = {
          resolve, cancellation, waiting: true,
          onCancel: (reason) => {
            waiter.waiting = false;
            reject(reason);
          },
        };
        cancellation.add(waiter.onCancel);
        waiters.push(waiter);
      });
    },
    release: () => {
      for (let next = waiters.shift(); next !== undefined; next = waiters.shift()) {
        if (!next.waiting) continue;
        // The slot passes straight to the next waiter: `used` stays the same.
        next.waiting = false;
        next.cancellation.remove(next.onCancel);
        next.resolve();
        return;
      }
      used -= 1;
    },
    inUse: () => used,
  };
}
