/** A counting semaphore, first come first served: caps requests in flight across all partitions. */
export interface Limiter {
  acquire(signal: AbortSignal): Promise<void>;
  release(): void;
  inUse(): number;
}

export function createLimiter(max: number): Limiter {
  let used = 0;
  const waiters: { resolve: () => void; reject: (reason: unknown) => void; signal: AbortSignal; onAbort: () => void }[] = [];
  return {
    acquire: (signal) => {
      if (signal.aborted) return Promise.reject(signal.reason);
      if (used < max) { used += 1; return Promise.resolve(); }
      return new Promise<void>((resolve, reject) => {
        const waiter = {
          resolve, reject, signal,
          onAbort: () => {
            const i = waiters.indexOf(waiter);
            if (i >= 0) waiters.splice(i, 1);
            reject(signal.reason);
          },
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
        waiters.push(waiter);
      });
    },
    release: () => {
      const next = waiters.shift();
      if (next) {
        next.signal.removeEventListener('abort', next.onAbort);
        next.resolve();
      } else {
        used -= 1;
      }
    },
    inUse: () => used,
  };
}
